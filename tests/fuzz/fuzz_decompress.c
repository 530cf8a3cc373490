/* libFuzzer harness for layer decompression: any bytes, read as gzip and as
 * zstd through a file descriptor, decompress or fail with a corruption error,
 * never crash; the plain digest covers exactly the bytes returned. The input
 * also makes a round trip through both writers unchanged. */
#include "base/digest.h"
#include "base/mem.h"
#include "store/compress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Stop reading a decompression bomb here: the point is the decoder's state
 * machine, not the size of its output. */
#define MAX_PLAIN (8 * 1024 * 1024)

static int scratch_fd(void)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz_decompress", MFD_CLOEXEC);
        if (fd < 0)
            abort();
    }
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        abort();
    return fd;
}

static void put(int fd, const uint8_t *data, size_t size)
{
    if (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
}

/* Decompresses fd as kind; returns the plain bytes (caller frees) or NULL
 * when the stream is rejected or too large. */
static unsigned char *decompress(int fd, kn_comp kind, size_t step, size_t *len)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_decomp *d = kn_decomp_new(fd, kind, &err);
    if (!d)
        abort();
    kn_autosha256 kn_sha256 h;
    kn_sha256_init(&h);
    size_t cap = 65536;
    kn_autofree unsigned char *out = kn_xmalloc(cap);
    size_t total = 0;
    ssize_t n = 0;
    for (;;) {
        if (cap - total < step)
            out = kn_xrealloc(out, cap *= 2);
        if (total >= MAX_PLAIN || (n = kn_decomp_read(d, out + total, step, &err)) <= 0)
            break;
        kn_sha256_update(&h, out + total, (size_t)n);
        total += (size_t)n;
    }
    if (total >= MAX_PLAIN) {
        kn_decomp_free(d);
        return NULL;
    }
    if (n < 0) {
        if (!err.msg || err.code != KN_ECORRUPT)
            abort();
        kn_decomp_free(d);
        return NULL;
    }
    kn_digest got, want;
    uint64_t size;
    if (kn_decomp_finish(d, &got, &size, &err) < 0 || size != total)
        abort();
    kn_sha256_final_digest(&h, &want);
    if (!kn_digest_eq(&got, &want))
        abort();
    kn_decomp_free(d);
    *len = total;
    return kn_steal_pointer(&out);
}

static void round_trip(kn_comp kind, const uint8_t *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fd = scratch_fd();
    kn_comp_writer *w = kn_comp_writer_new(fd, kind, &err);
    kn_comp_result res;
    if (!w || kn_comp_writer_write(w, data, size, &err) < 0 ||
        kn_comp_writer_finish(w, &res, &err) < 0)
        abort();
    kn_comp_writer_free(w);
    if (lseek(fd, 0, SEEK_SET) < 0)
        abort();
    size_t len = 0;
    kn_autofree unsigned char *back = decompress(fd, kind, 4096, &len);
    if (!back || len != size || (size && memcmp(back, data, size) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const kn_comp kinds[] = {KN_COMP_GZIP, KN_COMP_ZSTD};
    /* Small reads exercise the decoders' output-full paths. */
    size_t step = size > 0 && data[0] & 1 ? 7 : 65536;
    for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++) {
        int fd = scratch_fd();
        put(fd, data, size);
        size_t len;
        free(decompress(fd, kinds[k], step, &len));
    }
    if (size <= 4096)
        for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++)
            round_trip(kinds[k], data, size);
    return 0;
}
