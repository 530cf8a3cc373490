#include "base/buf.h"

#include "base/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char kn_buf_empty[1];

void kn_buf_init(kn_buf *b, size_t max)
{
    *b = (kn_buf)KN_BUF_INIT;
    b->max = max;
}

int kn_buf_grow(kn_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra || b->len + extra == SIZE_MAX) {
        errno = E2BIG;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 32;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->cap == 0) {
        b->data = kn_xmalloc(cap);
        b->data[0] = '\0';
    } else {
        b->data = kn_xrealloc(b->data, cap);
    }
    b->cap = cap;
    return 0;
}

int kn_buf_add(kn_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    /* data may point into b itself: growing moves it, so keep its offset. */
    uintptr_t at = (uintptr_t)data, start = (uintptr_t)b->data;
    bool inside = b->cap && at >= start && at < start + b->cap;
    if (kn_buf_grow(b, len) < 0)
        return -1;
    if (inside)
        data = b->data + (at - start);
    memmove(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int kn_buf_adds(kn_buf *b, const char *s)
{
    return kn_buf_add(b, s, strlen(s));
}

int kn_buf_addc(kn_buf *b, char c)
{
    return kn_buf_add(b, &c, 1);
}

int kn_buf_addvf(kn_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    if (b->cap && (size_t)n <= b->max - b->len && b->len + (size_t)n < b->cap) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
    }
    /* Growing may move the data an argument points into (addf(b, "%s",
     * b->data)): format aside first. */
    char *tmp = kn_xmalloc((size_t)n + 1);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    int r = kn_buf_add(b, tmp, (size_t)n);
    free(tmp);
    return r;
}

int kn_buf_addf(kn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kn_buf_addvf(b, fmt, ap);
    va_end(ap);
    return r;
}

void kn_buf_truncate(kn_buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

void kn_buf_reset(kn_buf *b)
{
    kn_buf_truncate(b, 0);
}

char *kn_buf_release(kn_buf *b)
{
    char *s = b->cap ? b->data : kn_xstrdup("");
    size_t max = b->max;
    kn_buf_init(b, max);
    return s;
}

void kn_buf_free(kn_buf *b)
{
    if (b->cap)
        free(b->data);
    size_t max = b->max;
    kn_buf_init(b, max);
}
