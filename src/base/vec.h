/* Growable arrays.
 *
 * KN_VEC(T) declares an anonymous struct {T *items; size_t len, cap;};
 * kn_vec_push appends by value (aborts on out of memory, like kn_xmalloc).
 * kn_strvec is a vector of owned strings that stays NULL-terminated, so
 * `items` can be passed as an argv. */
#ifndef KN_BASE_VEC_H
#define KN_BASE_VEC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define KN_VEC(T)                                                                                  \
    struct {                                                                                       \
        T *items;                                                                                  \
        size_t len, cap;                                                                           \
    }

/* Make room for at least `need` elements of elem_size bytes in *items. */
void kn_vec_reserve_(void **items, size_t *cap, size_t need, size_t elem_size);

#define kn_vec_reserve(v, n)                                                                       \
    kn_vec_reserve_((void **)&(v)->items, &(v)->cap, (n), sizeof(*(v)->items))

#define kn_vec_push(v, x)                                                                          \
    do {                                                                                           \
        if ((v)->len == (v)->cap)                                                                  \
            kn_vec_reserve((v), (v)->len + 1);                                                     \
        (v)->items[(v)->len++] = (x);                                                              \
    } while (0)

/* Free the array itself (not what its elements own). */
#define kn_vec_free(v)                                                                             \
    do {                                                                                           \
        free((v)->items);                                                                          \
        (v)->items = NULL;                                                                         \
        (v)->len = (v)->cap = 0;                                                                   \
    } while (0)

typedef struct kn_strvec {
    char **items; /* NULL-terminated once anything was pushed; owned strings */
    size_t *lens; /* byte length of each item: an item may hold NUL bytes */
    size_t len, cap;
} kn_strvec;

#define KN_STRVEC_INIT                                                                             \
    {                                                                                              \
        NULL, NULL, 0, 0                                                                           \
    }

/* Append a copy of s / take ownership of s. */
void kn_strvec_push(kn_strvec *v, const char *s);
void kn_strvec_push_owned(kn_strvec *v, char *s);
void kn_strvec_pushn(kn_strvec *v, const char *s, size_t len);
/* True when item i holds a NUL byte (its C-string view is cut short). */
#define kn_strvec_has_nul(v, i) (strlen((v)->items[i]) != (v)->lens[i])
/* Index of the first element equal to s, or -1. */
long kn_strvec_find(const kn_strvec *v, const char *s);
void kn_strvec_free(kn_strvec *v);

#define kn_autostrvec __attribute__((cleanup(kn_strvec_free)))

#endif
