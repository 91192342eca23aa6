/* kv: the C library of exercise 18 (see kv.h). Given code: you do not edit it.
 * A fixed array of entries searched linearly: small and easy to read. */
#include "kv.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    char *value;
};

struct kv {
    size_t capacity;
    size_t len;
    struct entry *entries;
};

/* Per thread, so that tests running in parallel do not see each other. */
static _Thread_local long live;

kv_t *kv_new(size_t capacity) {
    if (capacity == 0 || capacity > KV_MAX_CAPACITY) {
        return NULL;
    }
    kv_t *kv = malloc(sizeof *kv);
    if (kv == NULL) {
        return NULL;
    }
    kv->entries = calloc(capacity, sizeof *kv->entries);
    if (kv->entries == NULL) {
        free(kv);
        return NULL;
    }
    kv->capacity = capacity;
    kv->len = 0;
    live++;
    return kv;
}

void kv_free(kv_t *kv) {
    if (kv == NULL) {
        return;
    }
    for (size_t i = 0; i < kv->len; i++) {
        free(kv->entries[i].key);
        free(kv->entries[i].value);
    }
    free(kv->entries);
    free(kv);
    live--;
}

static struct entry *find(const kv_t *kv, const char *key) {
    for (size_t i = 0; i < kv->len; i++) {
        if (strcmp(kv->entries[i].key, key) == 0) {
            return &kv->entries[i];
        }
    }
    return NULL;
}

static char *copy(const char *s, size_t len) {
    char *c = malloc(len + 1);
    if (c != NULL) {
        memcpy(c, s, len + 1);
    }
    return c;
}

int kv_put(kv_t *kv, const char *key, const char *value) {
    if (kv == NULL || key == NULL || value == NULL) {
        return KV_EINVAL;
    }
    size_t key_len = strlen(key);
    size_t value_len = strlen(value);
    if (key_len > KV_MAX_KEY || value_len > KV_MAX_VALUE) {
        return KV_ETOOLONG;
    }
    struct entry *e = find(kv, key);
    if (e == NULL && kv->len == kv->capacity) {
        return KV_EFULL;
    }
    char *v = copy(value, value_len);
    if (v == NULL) {
        return KV_ENOMEM;
    }
    if (e != NULL) {
        free(e->value);
        e->value = v;
        return KV_OK;
    }
    char *k = copy(key, key_len);
    if (k == NULL) {
        free(v);
        return KV_ENOMEM;
    }
    kv->entries[kv->len].key = k;
    kv->entries[kv->len].value = v;
    kv->len++;
    return KV_OK;
}

int kv_get(const kv_t *kv, const char *key, char *buf, size_t buf_len, size_t *value_len) {
    if (kv == NULL || key == NULL || value_len == NULL || (buf == NULL && buf_len > 0)) {
        return KV_EINVAL;
    }
    const struct entry *e = find(kv, key);
    if (e == NULL) {
        return KV_ENOTFOUND;
    }
    size_t len = strlen(e->value);
    *value_len = len;
    if (buf_len < len + 1) {
        return KV_ERANGE;
    }
    memcpy(buf, e->value, len + 1);
    return KV_OK;
}

int kv_get_copy(const kv_t *kv, const char *key, char **out) {
    if (out == NULL) {
        return KV_EINVAL;
    }
    *out = NULL;
    if (kv == NULL || key == NULL) {
        return KV_EINVAL;
    }
    const struct entry *e = find(kv, key);
    if (e == NULL) {
        return KV_ENOTFOUND;
    }
    *out = copy(e->value, strlen(e->value));
    if (*out == NULL) {
        return KV_ENOMEM;
    }
    live++;
    return KV_OK;
}

void kv_string_free(char *s) {
    if (s == NULL) {
        return;
    }
    free(s);
    live--;
}

int kv_remove(kv_t *kv, const char *key) {
    if (kv == NULL || key == NULL) {
        return KV_EINVAL;
    }
    struct entry *e = find(kv, key);
    if (e == NULL) {
        return KV_ENOTFOUND;
    }
    free(e->key);
    free(e->value);
    /* Move the last entry into the hole. */
    *e = kv->entries[kv->len - 1];
    kv->len--;
    return KV_OK;
}

size_t kv_len(const kv_t *kv) {
    return kv == NULL ? 0 : kv->len;
}

int kv_for_each(const kv_t *kv, kv_visit_fn visit, void *user_data) {
    if (kv == NULL || visit == NULL) {
        return KV_EINVAL;
    }
    for (size_t i = 0; i < kv->len; i++) {
        int stop = visit(kv->entries[i].key, kv->entries[i].value, user_data);
        if (stop != 0) {
            return stop;
        }
    }
    return KV_OK;
}

long kv_live_count(void) {
    return live;
}
