#include "base/digest.h"

#include "base/buf.h"
#include "base/mem.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEX_LEN (2 * KN_SHA256_SIZE)
#define PREFIX_LEN (sizeof(KN_DIGEST_PREFIX) - 1)
#define FD_CHUNK_SIZE (1024 * 1024)

static _Noreturn void crypto_fail(const char *what)
{
    fprintf(stderr, "kiln: libcrypto cannot compute SHA-256: %s failed\n", what);
    abort();
}

static void to_hex(const unsigned char *bytes, char out[KN_SHA256_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < KN_SHA256_SIZE; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[HEX_LEN] = '\0';
}

static void digest_from_bytes(kn_digest *d, const unsigned char bytes[KN_SHA256_SIZE])
{
    memcpy(d->str, KN_DIGEST_PREFIX, PREFIX_LEN);
    to_hex(bytes, d->str + PREFIX_LEN);
}

void kn_sha256_init(kn_sha256 *h)
{
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        crypto_fail("EVP_MD_CTX_new");
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        crypto_fail("EVP_DigestInit_ex");
}

void kn_sha256_update(kn_sha256 *h, const void *data, size_t len)
{
    if (len > 0 && EVP_DigestUpdate(h->ctx, data, len) != 1)
        crypto_fail("EVP_DigestUpdate");
}

void kn_sha256_final(kn_sha256 *h, unsigned char out[KN_SHA256_SIZE])
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != KN_SHA256_SIZE)
        crypto_fail("EVP_DigestFinal_ex");
}

void kn_sha256_final_digest(kn_sha256 *h, kn_digest *out)
{
    unsigned char bytes[KN_SHA256_SIZE];
    kn_sha256_final(h, bytes);
    digest_from_bytes(out, bytes);
}

void kn_sha256_free(kn_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

static void sha256(const void *data, size_t len, unsigned char out[KN_SHA256_SIZE])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != KN_SHA256_SIZE)
        crypto_fail("EVP_Digest");
}

void kn_sha256_hex(const void *data, size_t len, char out[KN_SHA256_HEX_SIZE])
{
    unsigned char bytes[KN_SHA256_SIZE];
    sha256(data, len, bytes);
    to_hex(bytes, out);
}

void kn_sha256_digest(const void *data, size_t len, kn_digest *out)
{
    unsigned char bytes[KN_SHA256_SIZE];
    sha256(data, len, bytes);
    digest_from_bytes(out, bytes);
}

int kn_sha256_fd(int fd, kn_digest *out, uint64_t *size, kn_err *err)
{
    kn_autofree unsigned char *chunk = kn_xmalloc(FD_CHUNK_SIZE);
    kn_autosha256 kn_sha256 h;
    kn_sha256_init(&h);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, FD_CHUNK_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kn_errf(err, errno, "hash: read after %llu bytes", (unsigned long long)total);
        if (n == 0)
            break;
        kn_sha256_update(&h, chunk, (size_t)n);
        total += (uint64_t)n;
    }
    kn_sha256_final_digest(&h, out);
    if (size)
        *size = total;
    return 0;
}

/* ---- digests ---- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool kn_digest_is_valid(const char *s)
{
    if (strncmp(s, KN_DIGEST_PREFIX, PREFIX_LEN) != 0)
        return false;
    s += PREFIX_LEN;
    for (size_t i = 0; i < HEX_LEN; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return s[HEX_LEN] == '\0';
}

/* s quoted for a message: at most 80 bytes, non-printable bytes as \xNN
 * (digests arrive from registries and files, and end up on a terminal). */
static char *quote(const char *s)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_addc(&b, '"');
    size_t i = 0;
    for (; s[i] && i < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            kn_buf_addf(&b, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            kn_buf_addc(&b, (char)c);
        else
            kn_buf_addf(&b, "\\x%02x", c);
    }
    kn_buf_adds(&b, s[i] ? "\"..." : "\"");
    return kn_buf_release(&b);
}

int kn_digest_parse(kn_digest *out, const char *s, kn_err *err)
{
    if (kn_digest_is_valid(s)) {
        memcpy(out->str, s, KN_DIGEST_STR_SIZE);
        return 0;
    }
    kn_autofree char *q = quote(s);
    const char *colon = strchr(s, ':');
    if (!colon)
        return kn_errf(err, KN_EINPUT, "invalid digest %s: want sha256:<64 hex digits>", q);
    if (strncmp(s, KN_DIGEST_PREFIX, PREFIX_LEN) != 0)
        return kn_errf(err, KN_EINPUT, "invalid digest %s: unsupported algorithm (only sha256)", q);
    const char *hex = s + PREFIX_LEN;
    size_t len = strlen(hex);
    if (len != HEX_LEN)
        return kn_errf(err, KN_EINPUT, "invalid digest %s: %zu hex digits, want 64", q, len);
    size_t bad = 0;
    while (is_lower_hex(hex[bad]))
        bad++;
    bool upper = hex[bad] >= 'A' && hex[bad] <= 'F';
    return kn_errf(err, KN_EINPUT, "invalid digest %s: %s at offset %zu", q,
                   upper ? "uppercase hex digit" : "not a hex digit", PREFIX_LEN + bad);
}

bool kn_digest_eq(const kn_digest *a, const kn_digest *b)
{
    return memcmp(a->str, b->str, KN_DIGEST_STR_SIZE) == 0;
}
