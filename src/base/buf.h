/* kn_buf: a growable byte buffer, always NUL-terminated (git's strbuf) with a
 * hard cap (curl's dynbuf). Appends fail with -1 and errno E2BIG when the
 * result would exceed `max`, leaving the buffer unchanged; every size
 * computation is checked for overflow. Out of memory aborts (base/mem.h). */
#ifndef KN_BASE_BUF_H
#define KN_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kn_buf {
    char *data; /* never NULL; data[len] == '\0' */
    size_t len;
    size_t cap; /* 0 while data points at the shared empty string */
    size_t max; /* largest len allowed */
} kn_buf;

extern char kn_buf_empty[1];

#define KN_BUF_INIT                                                                                \
    {                                                                                              \
        kn_buf_empty, 0, 0, SIZE_MAX                                                               \
    }

/* Initialise with a cap on the length (SIZE_MAX for none). */
void kn_buf_init(kn_buf *b, size_t max);

/* Ensure room for `extra` more bytes (plus the NUL). */
int kn_buf_grow(kn_buf *b, size_t extra);

int kn_buf_add(kn_buf *b, const void *data, size_t len);
int kn_buf_adds(kn_buf *b, const char *s);
int kn_buf_addc(kn_buf *b, char c);
int kn_buf_addf(kn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kn_buf_addvf(kn_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Shorten to len (len <= b->len). */
void kn_buf_truncate(kn_buf *b, size_t len);
void kn_buf_reset(kn_buf *b);

/* Hand the contents to the caller (a malloc'd string, never NULL) and reset. */
char *kn_buf_release(kn_buf *b);

/* Free the contents and reset; the cap is kept. */
void kn_buf_free(kn_buf *b);

#define kn_autobuf __attribute__((cleanup(kn_buf_free)))

#endif
