/* Allocation helpers and cleanup attributes.
 *
 * Out of memory is the one condition kiln does not report as an error: the
 * kn_x* allocators abort, so callers never check their results. */
#ifndef KN_BASE_MEM_H
#define KN_BASE_MEM_H

#include <stddef.h>

void *kn_xmalloc(size_t size);
void *kn_xcalloc(size_t n, size_t size);
/* Reallocate to n * size bytes; aborts on overflow or out of memory. */
void *kn_xreallocarray(void *p, size_t n, size_t size);
void *kn_xrealloc(void *p, size_t size);
char *kn_xstrdup(const char *s);
char *kn_xstrndup(const char *s, size_t len);
void *kn_xmemdup(const void *p, size_t size);

/* For __attribute__((cleanup)): free *(void **)p / close *(int *)p if >= 0. */
void kn_freep(void *p);
void kn_closep(int *fd);

#define kn_autofree __attribute__((cleanup(kn_freep)))
#define kn_autoclose __attribute__((cleanup(kn_closep)))

/* Move a pointer out of an auto-freed local: returns *pp and sets it to NULL. */
static inline void *kn_steal_pointer(void *pp)
{
    void **p = (void **)pp;
    void *v = *p;
    *p = NULL;
    return v;
}

/* Move an fd out of an auto-closed local. */
static inline int kn_steal_fd(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}

#define KN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
