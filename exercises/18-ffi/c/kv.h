/*
 * kv: a tiny in-memory key-value store, the C library that exercise 18
 * wraps. Given code: you do not edit it.
 *
 * Keys and values are NUL-terminated byte strings. The store copies what
 * kv_put is given, and owns its copies until the key is replaced or removed
 * or the store is freed.
 *
 * Ownership:
 * - a store made by kv_new is freed with kv_free, exactly once;
 * - a string returned by kv_get_copy belongs to the caller, who frees it
 *   with kv_string_free (not free(), and not any other allocator);
 * - pointers passed to a visit function are valid only during that call.
 *
 * Threads: a store has no thread affinity: it may be created, used and
 * freed on different threads. It is not synchronised: a function that takes
 * `kv_t *` (it may modify the store) must not run at the same time as any
 * other call on the same store. Functions that take `const kv_t *` only read
 * the store and may run at the same time as each other.
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>

/* Return codes: KV_OK, or one of the negative errors. */
#define KV_OK 0
#define KV_ENOTFOUND (-1) /* no such key */
#define KV_EFULL (-2)     /* the store holds `capacity` keys already */
#define KV_ETOOLONG (-3)  /* key over KV_MAX_KEY or value over KV_MAX_VALUE bytes */
#define KV_ENOMEM (-4)    /* malloc failed */
#define KV_ERANGE (-5)    /* kv_get: the caller's buffer is too small */
#define KV_EINVAL (-6)    /* a NULL pointer where none is allowed */

#define KV_MAX_KEY 255        /* bytes, without the NUL */
#define KV_MAX_VALUE 65536    /* bytes, without the NUL */
#define KV_MAX_CAPACITY 65536 /* keys */

typedef struct kv kv_t;

/* Called once per entry by kv_for_each. Return 0 to go on, anything else to
 * stop: kv_for_each then returns that value. */
typedef int (*kv_visit_fn)(const char *key, const char *value, void *user_data);

/* A new, empty store for up to `capacity` keys. NULL if capacity is 0 or
 * over KV_MAX_CAPACITY, or if memory runs out. */
kv_t *kv_new(size_t capacity);

/* Frees the store and everything in it. kv_free(NULL) does nothing. */
void kv_free(kv_t *kv);

/* Sets `key` to `value` (both copied), replacing an existing value.
 * KV_OK, KV_EFULL (new key, store full), KV_ETOOLONG, KV_ENOMEM, KV_EINVAL. */
int kv_put(kv_t *kv, const char *key, const char *value);

/* Copies the value of `key` and its NUL into `buf` (`buf_len` bytes), and
 * stores the value's length (without the NUL) in *value_len.
 * KV_OK; KV_ENOTFOUND; KV_ERANGE if buf_len < value length + 1: nothing is
 * copied, but *value_len is set, so the caller can retry with a bigger
 * buffer (buf may be NULL when buf_len is 0); KV_EINVAL. */
int kv_get(const kv_t *kv, const char *key, char *buf, size_t buf_len, size_t *value_len);

/* Sets *out to a new copy of the value of `key`, which the caller frees
 * with kv_string_free. KV_OK, KV_ENOTFOUND, KV_ENOMEM, KV_EINVAL; on an
 * error *out is set to NULL. */
int kv_get_copy(const kv_t *kv, const char *key, char **out);

/* Frees a string returned by kv_get_copy. kv_string_free(NULL) does nothing. */
void kv_string_free(char *s);

/* Removes `key`. KV_OK, KV_ENOTFOUND, KV_EINVAL. */
int kv_remove(kv_t *kv, const char *key);

/* The number of keys in the store. */
size_t kv_len(const kv_t *kv);

/* Calls visit(key, value, user_data) for every entry, in no particular
 * order, until visit returns non-zero. Returns KV_OK after visiting every
 * entry, visit's non-zero value if it stopped early, or KV_EINVAL. */
int kv_for_each(const kv_t *kv, kv_visit_fn visit, void *user_data);

/* For tests: stores and kv_get_copy strings that the calling thread has
 * created, minus those it has freed. */
long kv_live_count(void);

#endif
