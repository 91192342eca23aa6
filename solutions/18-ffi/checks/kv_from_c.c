/* A C program that uses the exercise's crate as a static library: the C
 * key-value store (kv.c, bundled into the library by build.rs) and the
 * function written in Rust, ex18_utf8_valid_prefix. Built and run by
 * checks/c-program.sh. */
#include <stdio.h>

#include "kv.h"

/* Exported by the Rust crate with #[unsafe(no_mangle)]. */
size_t ex18_utf8_valid_prefix(const unsigned char *data, size_t len);

int main(void) {
    kv_t *kv = kv_new(4);
    if (kv == NULL) {
        return 1;
    }
    kv_put(kv, "greeting", "hello");
    kv_put(kv, "latin1", "caf\xe9");
    kv_put(kv, "crab", "\xf0\x9f\xa6\x80");

    const char *keys[] = {"greeting", "latin1", "crab"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char buf[64];
        size_t len = 0;
        if (kv_get(kv, keys[i], buf, sizeof buf, &len) != KV_OK) {
            return 1;
        }
        size_t valid = ex18_utf8_valid_prefix((const unsigned char *)buf, len);
        if (valid == len) {
            printf("%s: %zu bytes, valid UTF-8\n", keys[i], len);
        } else {
            printf("%s: %zu bytes, valid UTF-8 up to byte %zu\n", keys[i], len, valid);
        }
    }
    kv_free(kv);
    return 0;
}
