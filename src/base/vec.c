#include "base/vec.h"

#include "base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void kn_vec_reserve_(void **items, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 4;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    *items = kn_xreallocarray(*items, n, elem_size);
    *cap = n;
}

static void push(kn_strvec *v, char *s, size_t len)
{
    /* One slot more than len for the terminating NULL. */
    size_t cap = v->cap;
    kn_vec_reserve_((void **)&v->items, &v->cap, v->len + 2, sizeof(char *));
    if (v->cap != cap || !v->lens)
        v->lens = kn_xreallocarray(v->lens, v->cap, sizeof(size_t));
    v->lens[v->len] = len;
    v->items[v->len++] = s;
    v->items[v->len] = NULL;
}

void kn_strvec_push_owned(kn_strvec *v, char *s)
{
    push(v, s, strlen(s));
}

void kn_strvec_push(kn_strvec *v, const char *s)
{
    kn_strvec_push_owned(v, kn_xstrdup(s));
}

void kn_strvec_pushn(kn_strvec *v, const char *s, size_t len)
{
    push(v, kn_xstrndup(s, len), len);
}

long kn_strvec_find(const kn_strvec *v, const char *s)
{
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->items[i], s) == 0)
            return (long)i;
    return -1;
}

void kn_strvec_free(kn_strvec *v)
{
    for (size_t i = 0; i < v->len; i++)
        free(v->items[i]);
    free(v->items);
    free(v->lens);
    v->items = NULL;
    v->lens = NULL;
    v->len = v->cap = 0;
}
