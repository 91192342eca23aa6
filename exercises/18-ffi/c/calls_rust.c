/* C code that calls a function written in Rust: ex18_utf8_valid_prefix,
 * which exercise 18 exports from src/lib.rs with #[unsafe(no_mangle)].
 * The linker joins the two by the symbol's name. Given code: you do not
 * edit it. */
#include <stddef.h>

/* Implemented in Rust: the length of the longest prefix of data[0..len]
 * that is valid UTF-8. data may be NULL when len is 0. */
size_t ex18_utf8_valid_prefix(const unsigned char *data, size_t len);

struct sample {
    const char *bytes;
    size_t len;
};

static const struct sample samples[] = {
    {"hello", 5},                 /* ASCII: all 5 bytes */
    {"h\xc3\xa9llo", 6},          /* e-acute is 2 bytes: all 6 */
    {"ab\xff" "cd", 5},           /* 0xff is never UTF-8: 2 */
    {"ab\xe2\x82", 4},            /* a 3-byte sequence cut short: 2 */
    {NULL, 0},                    /* no data at all: 0 */
    {"\xf0\x9f\xa6\x80!", 5},     /* a 4-byte emoji and '!': 5 */
};

/* Asks Rust about every sample, from C, and writes the answers to
 * out[0..n]. Returns how many samples there are (writes at most n). */
size_t kv_demo_ask_rust(size_t *out, size_t n) {
    size_t count = sizeof samples / sizeof samples[0];
    for (size_t i = 0; i < count && i < n; i++) {
        out[i] = ex18_utf8_valid_prefix((const unsigned char *)samples[i].bytes, samples[i].len);
    }
    return count;
}
