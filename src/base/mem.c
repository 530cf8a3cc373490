#include "base/mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void oom(size_t size)
{
    fprintf(stderr, "kiln: out of memory allocating %zu bytes\n", size);
    abort();
}

void *kn_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *kn_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *kn_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    return kn_xrealloc(p, n * size);
}

void *kn_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *kn_xstrdup(const char *s)
{
    return kn_xstrndup(s, strlen(s));
}

char *kn_xstrndup(const char *s, size_t len)
{
    if (len == SIZE_MAX)
        oom(len);
    char *d = kn_xmalloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void *kn_xmemdup(const void *p, size_t size)
{
    void *d = kn_xmalloc(size);
    if (size)
        memcpy(d, p, size);
    return d;
}

void kn_freep(void *p)
{
    void **pp = (void **)p;
    free(*pp);
    *pp = NULL;
}

void kn_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}
