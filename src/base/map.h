/* kn_map: a string-keyed hash map that iterates in insertion order.
 *
 * Keys are copied and owned by the map. Values are opaque pointers: the map
 * frees them with the free function given to kn_map_init (when not NULL)
 * whenever it drops one (replace, delete, free); otherwise the caller owns
 * them. Hashing is SipHash keyed with a per-process random seed, so hostile
 * keys (Dockerfile ARG names, labels, layer paths) cannot force collisions.
 * Iteration follows insertion order, so output built from a map does not
 * depend on the seed. Out of memory aborts (base/mem.h). Not thread-safe. */
#ifndef KN_BASE_MAP_H
#define KN_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*kn_map_free_fn)(void *value);

struct kn_map_entry;

typedef struct kn_map {
    struct kn_map_entry *entries; /* insertion order; deleted ones have key NULL */
    size_t n_entries;             /* used slots of entries, deleted ones included */
    size_t cap;                   /* capacity of entries */
    size_t *index;                /* 2 * cap slots: entry number + 1, or 0 when empty */
    size_t len;                   /* live entries */
    kn_map_free_fn free_fn;
} kn_map;

#define KN_MAP_INIT(free_fn)                                                                       \
    {                                                                                              \
        NULL, 0, 0, NULL, 0, (free_fn)                                                             \
    }

/* Start an empty map; free_fn (may be NULL) frees values the map drops. It is
 * never called with NULL. */
void kn_map_init(kn_map *m, kn_map_free_fn free_fn);

/* The value stored under key (borrowed), or NULL when absent. A stored NULL
 * also reads as NULL: use kn_map_has to tell the two apart. */
void *kn_map_get(const kn_map *m, const char *key);
/* Same, for the len bytes at key (need not be NUL-terminated). */
void *kn_map_getn(const kn_map *m, const char *key, size_t len);
bool kn_map_has(const kn_map *m, const char *key);
bool kn_map_hasn(const kn_map *m, const char *key, size_t len);

/* Store value under a copy of key. An existing entry keeps its place in the
 * iteration order; its old value is freed with free_fn unless it is `value`. */
void kn_map_set(kn_map *m, const char *key, void *value);
/* Same, for the len bytes at key, which must not contain a NUL byte. */
void kn_map_setn(kn_map *m, const char *key, size_t len, void *value);

/* Remove key, freeing its value with free_fn. False when it was absent. */
bool kn_map_del(kn_map *m, const char *key);
/* Remove key and hand its value to the caller (NULL when absent). */
void *kn_map_take(kn_map *m, const char *key);

/* Number of entries. */
size_t kn_map_len(const kn_map *m);

/* Iterate in insertion order:
 *     size_t pos = 0; const char *key; void *value;
 *     while (kn_map_next(&m, &pos, &key, &value)) ...
 * key and value may be NULL when not wanted. Deleting entries (the current
 * one included) during the loop is allowed; adding keys is not. */
bool kn_map_next(const kn_map *m, size_t *pos, const char **key, void **value);

/* Free every key and value (through free_fn) and the tables. The map is left
 * empty and reusable, with the same free_fn. */
void kn_map_free(kn_map *m);

#define kn_automap __attribute__((cleanup(kn_map_free)))

#endif
