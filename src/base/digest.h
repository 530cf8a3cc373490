/* SHA-256 through OpenSSL's EVP interface, and OCI content digests
 * ("sha256:" followed by 64 lowercase hex digits).
 *
 * Hashing in memory cannot fail short of libcrypto running out of memory or
 * lacking SHA-256 altogether; like out of memory (base/mem.h), that aborts,
 * so only the functions that read files report errors. */
#ifndef KN_BASE_DIGEST_H
#define KN_BASE_DIGEST_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KN_SHA256_SIZE 32     /* raw digest bytes */
#define KN_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */
#define KN_DIGEST_PREFIX "sha256:"
#define KN_DIGEST_STR_SIZE 72 /* "sha256:" + 64 hex digits + NUL */

/* A streaming hash. kn_sha256_init before use; kn_sha256_free when done
 * (also after final). */
typedef struct kn_sha256 {
    struct evp_md_ctx_st *ctx; /* owned */
} kn_sha256;

/* A validated digest, kept in its canonical text form. */
typedef struct kn_digest {
    char str[KN_DIGEST_STR_SIZE]; /* "sha256:<64 lowercase hex>" */
} kn_digest;

void kn_sha256_init(kn_sha256 *h);
void kn_sha256_update(kn_sha256 *h, const void *data, size_t len);
/* Finish into out; the context can then only be freed (or initialised again). */
void kn_sha256_final(kn_sha256 *h, unsigned char out[KN_SHA256_SIZE]);
void kn_sha256_final_digest(kn_sha256 *h, kn_digest *out);
void kn_sha256_free(kn_sha256 *h);

#define kn_autosha256 __attribute__((cleanup(kn_sha256_free)))

/* One shot: the hex digest of len bytes of data, NUL-terminated into out. */
void kn_sha256_hex(const void *data, size_t len, char out[KN_SHA256_HEX_SIZE]);

/* One shot: the digest of len bytes of data. */
void kn_sha256_digest(const void *data, size_t len, kn_digest *out);

/* Hash what remains to read from fd (until EOF) in large chunks. *size (when
 * not NULL) receives the number of bytes read. Fails on a read error. */
int kn_sha256_fd(int fd, kn_digest *out, uint64_t *size, kn_err *err);

/* True when s is exactly "sha256:" and 64 lowercase hex digits. */
bool kn_digest_is_valid(const char *s);

/* Parse s into out, rejecting anything but "sha256:<64 lowercase hex>" with
 * KN_EINPUT and a message saying what is wrong. */
int kn_digest_parse(kn_digest *out, const char *s, kn_err *err);

/* The 64 hex digits of d (a pointer into d). */
static inline const char *kn_digest_hex(const kn_digest *d)
{
    return d->str + sizeof(KN_DIGEST_PREFIX) - 1;
}

bool kn_digest_eq(const kn_digest *a, const kn_digest *b);

#endif
