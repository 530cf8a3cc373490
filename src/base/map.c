#include "base/map.h"

#include "base/mem.h"

#include <endian.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Entries live in a dense array in insertion order (deleted ones keep their
 * slot, with key NULL, until the next rebuild); an open-addressing index of
 * twice the array's capacity, probed linearly, maps hashes to entries. The
 * index is at most half full, so probes stay short and always end. */
struct kn_map_entry {
    char *key; /* NULL once deleted */
    size_t key_len;
    size_t hash;
    void *value;
};

#define NOT_FOUND SIZE_MAX

/* ---- hashing: SipHash-1-3 (as Python and Rust use for their dicts) ---- */

static uint64_t seed[2];
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void init_seed(void)
{
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return;
    /* No entropy yet (early boot) or no getrandom: still vary per process. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[0] = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    seed[1] = (uint64_t)(uintptr_t)&ts ^ ((uint64_t)(uintptr_t)&seed << 17);
}

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

static uint64_t siphash13(const uint64_t k[2], const unsigned char *p, size_t len)
{
    uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
    size_t n_words = len / 8;
    for (size_t i = 0; i < n_words; i++, p += 8) {
        uint64_t m;
        memcpy(&m, p, 8);
        m = le64toh(m);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)p[i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static size_t hash_key(const char *key, size_t len)
{
    pthread_once(&seed_once, init_seed);
    return (size_t)siphash13(seed, (const unsigned char *)key, len);
}

/* ---- table ---- */

static size_t index_mask(const kn_map *m)
{
    return 2 * m->cap - 1;
}

/* The index slot that refers to key's entry, or NOT_FOUND. */
static size_t find_slot(const kn_map *m, const char *key, size_t len, size_t hash)
{
    if (!m->index)
        return NOT_FOUND;
    size_t mask = index_mask(m);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        size_t n = m->index[i];
        if (n == 0)
            return NOT_FOUND;
        const struct kn_map_entry *e = &m->entries[n - 1];
        if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0)
            return i;
    }
}

static void index_insert(kn_map *m, size_t entry)
{
    size_t mask = index_mask(m);
    size_t i = m->entries[entry].hash & mask;
    while (m->index[i])
        i = (i + 1) & mask;
    m->index[i] = entry + 1;
}

/* Drop deleted entries, resize the array to cap and rebuild the index. */
static void rebuild(kn_map *m, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].key)
            m->entries[n++] = m->entries[i];
    m->n_entries = n;
    m->entries = kn_xreallocarray(m->entries, cap, sizeof(*m->entries));
    m->cap = cap;
    free(m->index);
    m->index = kn_xcalloc(cap, 2 * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        index_insert(m, i);
}

/* Empty index slot i, then shift later members of its probe run back so no
 * lookup stops early at the hole (no tombstones needed). */
static void index_remove(kn_map *m, size_t i)
{
    size_t mask = index_mask(m);
    m->index[i] = 0;
    for (size_t j = (i + 1) & mask; m->index[j]; j = (j + 1) & mask) {
        size_t home = m->entries[m->index[j] - 1].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->index[i] = m->index[j];
            m->index[j] = 0;
            i = j;
        }
    }
}

/* Unlink the entry at index slot `slot` and return its value. */
static void *remove_at(kn_map *m, size_t slot)
{
    struct kn_map_entry *e = &m->entries[m->index[slot] - 1];
    void *value = e->value;
    index_remove(m, slot);
    free(e->key);
    e->key = NULL;
    e->value = NULL;
    m->len--;
    while (m->n_entries > 0 && !m->entries[m->n_entries - 1].key)
        m->n_entries--;
    return value;
}

static void drop_value(const kn_map *m, void *value)
{
    if (m->free_fn && value)
        m->free_fn(value);
}

void kn_map_init(kn_map *m, kn_map_free_fn free_fn)
{
    *m = (kn_map)KN_MAP_INIT(free_fn);
}

void *kn_map_getn(const kn_map *m, const char *key, size_t len)
{
    size_t slot = find_slot(m, key, len, hash_key(key, len));
    return slot == NOT_FOUND ? NULL : m->entries[m->index[slot] - 1].value;
}

void *kn_map_get(const kn_map *m, const char *key)
{
    return kn_map_getn(m, key, strlen(key));
}

bool kn_map_hasn(const kn_map *m, const char *key, size_t len)
{
    return find_slot(m, key, len, hash_key(key, len)) != NOT_FOUND;
}

bool kn_map_has(const kn_map *m, const char *key)
{
    return kn_map_hasn(m, key, strlen(key));
}

void kn_map_setn(kn_map *m, const char *key, size_t len, void *value)
{
    size_t hash = hash_key(key, len);
    size_t slot = find_slot(m, key, len, hash);
    if (slot != NOT_FOUND) {
        struct kn_map_entry *e = &m->entries[m->index[slot] - 1];
        if (e->value != value)
            drop_value(m, e->value);
        e->value = value;
        return;
    }
    if (m->n_entries == m->cap) {
        /* Full: compact when at least half the entries are deleted, else grow. */
        size_t cap = m->cap == 0 ? 8 : m->len < m->cap / 2 ? m->cap : m->cap * 2;
        if (cap > SIZE_MAX / (2 * sizeof(size_t)))
            cap = SIZE_MAX; /* makes kn_xreallocarray report out of memory */
        rebuild(m, cap);
    }
    struct kn_map_entry *e = &m->entries[m->n_entries];
    e->key = kn_xstrndup(key, len);
    e->key_len = len;
    e->hash = hash;
    e->value = value;
    index_insert(m, m->n_entries++);
    m->len++;
}

void kn_map_set(kn_map *m, const char *key, void *value)
{
    kn_map_setn(m, key, strlen(key), value);
}

void *kn_map_take(kn_map *m, const char *key)
{
    size_t len = strlen(key);
    size_t slot = find_slot(m, key, len, hash_key(key, len));
    return slot == NOT_FOUND ? NULL : remove_at(m, slot);
}

bool kn_map_del(kn_map *m, const char *key)
{
    size_t len = strlen(key);
    size_t slot = find_slot(m, key, len, hash_key(key, len));
    if (slot == NOT_FOUND)
        return false;
    drop_value(m, remove_at(m, slot));
    return true;
}

size_t kn_map_len(const kn_map *m)
{
    return m->len;
}

bool kn_map_next(const kn_map *m, size_t *pos, const char **key, void **value)
{
    while (*pos < m->n_entries) {
        const struct kn_map_entry *e = &m->entries[(*pos)++];
        if (!e->key)
            continue;
        if (key)
            *key = e->key;
        if (value)
            *value = e->value;
        return true;
    }
    return false;
}

void kn_map_free(kn_map *m)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        struct kn_map_entry *e = &m->entries[i];
        if (!e->key)
            continue;
        free(e->key);
        drop_value(m, e->value);
    }
    free(m->entries);
    free(m->index);
    kn_map_init(m, m->free_fn);
}
