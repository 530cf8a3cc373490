/* Benchmark: why layers go through ISA-L's igzip rather than zlib. Generates
 * a layer-like stream (runs of random bytes between runs of repeated text),
 * then times, on one core and in memory (no disk):
 *   - gzip decompression: igzip vs zlib inflate, raw, and kn_decomp (igzip
 *     plus SHA-256 of the plain bytes, what loading a layer pays);
 *   - gzip compression: igzip level 1 vs zlib levels 1 and 6, raw, and
 *     kn_comp_writer (igzip plus SHA-256 of both sides);
 *   - zstd level 3 both ways and SHA-256 alone, for reference.
 * Speeds are plain bytes per second (MB = 10^6 bytes). Prints figures; it is
 * not a test. Usage: bench_compress [MIB] (default 200) */
#include "base/digest.h"
#include "base/mem.h"
#include "store/compress.h"

#include <isa-l.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1024 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* About a third of the runs random (compressed files, binaries' noise), the
 * rest text from a small vocabulary: compresses to roughly half. */
static unsigned char *make_plain(size_t len)
{
    static const char *words[] = {
        "usr",           "lib",         "share",   "bin", "etc", "locale", "python3",
        "site-packages", "__init__.py", "LICENSE", "\n",  " ",   "/",      "x86_64-linux-gnu",
        "libc.so.6",     "0755",        "root"};
    unsigned char *p = kn_xmalloc(len);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    size_t i = 0;
    while (i < len) {
        size_t run = 1 + next_rand(&s) % 16384;
        bool is_random = next_rand(&s) % 3 == 0;
        for (size_t j = 0; j < run && i < len; j++) {
            if (is_random) {
                p[i++] = (unsigned char)next_rand(&s);
            } else {
                const char *w = words[next_rand(&s) % KN_ARRAY_LEN(words)];
                for (; *w && i < len; w++)
                    p[i++] = (unsigned char)*w;
            }
        }
    }
    return p;
}

static void report(const char *what, size_t plain_len, double secs, size_t packed_len)
{
    printf("%-44s %8.0f MB/s  %6.2f s", what, (double)plain_len / secs / 1e6, secs);
    if (packed_len)
        printf("  ratio %.3f", (double)packed_len / (double)plain_len);
    printf("\n");
}

static void die(const char *what)
{
    fprintf(stderr, "bench_compress: %s\n", what);
    exit(1);
}

/* Raw igzip inflate of a whole gzip member in memory, 1 MiB output chunks. */
static size_t isal_gunzip(const unsigned char *in, size_t in_len, unsigned char *out)
{
    static struct inflate_state s;
    isal_inflate_init(&s);
    s.crc_flag = ISAL_GZIP;
    s.next_in = (uint8_t *)in;
    s.avail_in = (uint32_t)in_len;
    size_t total = 0;
    while (s.block_state != ISAL_BLOCK_FINISH) {
        s.next_out = out;
        s.avail_out = CHUNK;
        if (isal_inflate(&s) != ISAL_DECOMP_OK)
            die("isal_inflate failed");
        total += CHUNK - s.avail_out;
        if (s.avail_out == CHUNK && s.avail_in == 0 && s.block_state != ISAL_BLOCK_FINISH)
            die("isal_inflate: truncated");
    }
    return total;
}

static size_t zlib_gunzip(const unsigned char *in, size_t in_len, unsigned char *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        die("inflateInit2");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)in_len;
    size_t total = 0;
    int ret;
    do {
        z.next_out = out;
        z.avail_out = CHUNK;
        ret = inflate(&z, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END)
            die("inflate failed");
        total += CHUNK - z.avail_out;
    } while (ret != Z_STREAM_END);
    inflateEnd(&z);
    return total;
}

static size_t isal_gzip(const unsigned char *in, size_t len, unsigned char *out)
{
    static struct isal_zstream s;
    unsigned char *level_buf = kn_xmalloc(ISAL_DEF_LVL1_DEFAULT);
    isal_deflate_init(&s);
    s.level = 1;
    s.level_buf = level_buf;
    s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    s.gzip_flag = IGZIP_GZIP;
    size_t total = 0;
    for (size_t off = 0; off < len || s.internal_state.state != ZSTATE_END;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        s.next_in = (uint8_t *)in + off;
        s.avail_in = (uint32_t)n;
        s.end_of_stream = off + n == len;
        do {
            s.next_out = out;
            s.avail_out = CHUNK;
            if (isal_deflate(&s) != COMP_OK)
                die("isal_deflate failed");
            total += CHUNK - s.avail_out;
        } while (s.avail_out == 0);
        off += n;
    }
    free(level_buf);
    return total;
}

static size_t zlib_gzip(const unsigned char *in, size_t len, int level, unsigned char *out)
{
    z_stream z = {0};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    size_t total = 0;
    for (size_t off = 0;;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        z.next_in = (Bytef *)in + off;
        z.avail_in = (uInt)n;
        off += n;
        int flush = off == len ? Z_FINISH : Z_NO_FLUSH, ret;
        do {
            z.next_out = out;
            z.avail_out = CHUNK;
            ret = deflate(&z, flush);
            if (ret == Z_STREAM_ERROR)
                die("deflate failed");
            total += CHUNK - z.avail_out;
        } while (z.avail_out == 0);
        if (ret == Z_STREAM_END)
            break;
    }
    deflateEnd(&z);
    return total;
}

/* kn_comp_writer into a memfd; returns the fd holding the blob. */
static int kiln_compress(kn_comp kind, const unsigned char *plain, size_t len, double *secs,
                         size_t *blob_len)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fd = memfd_create("bench_compress", MFD_CLOEXEC);
    if (fd < 0)
        die("memfd_create");
    double t = now();
    kn_comp_writer *w = kn_comp_writer_new(fd, kind, &err);
    kn_comp_result res;
    if (!w)
        die(err.msg);
    for (size_t off = 0; off < len; off += CHUNK)
        if (kn_comp_writer_write(w, plain + off, len - off < CHUNK ? len - off : CHUNK, &err) < 0)
            die(err.msg);
    if (kn_comp_writer_finish(w, &res, &err) < 0)
        die(err.msg);
    *secs = now() - t;
    kn_comp_writer_free(w);
    *blob_len = res.blob_size;
    return fd;
}

static double kiln_decompress(int fd, kn_comp kind, size_t want_len, unsigned char *out)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (lseek(fd, 0, SEEK_SET) < 0)
        die("lseek");
    double t = now();
    kn_decomp *d = kn_decomp_new(fd, kind, &err);
    if (!d)
        die(err.msg);
    ssize_t n;
    while ((n = kn_decomp_read(d, out, CHUNK, &err)) > 0)
        ;
    kn_digest dg;
    uint64_t size = 0;
    if (n < 0 || kn_decomp_finish(d, &dg, &size, &err) < 0)
        die(err.msg);
    double secs = now() - t;
    if (size != want_len)
        die("kn_decomp: wrong size");
    kn_decomp_free(d);
    return secs;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    if (mib == 0)
        die("usage: bench_compress [MIB]");
    size_t len = mib * 1024 * 1024;
    unsigned char *plain = make_plain(len);
    unsigned char *out = kn_xmalloc(CHUNK);
    printf("input: %zu MiB, layer-like (random and repeated text), one core, in memory\n", mib);

    double t = now();
    kn_sha256 h;
    kn_sha256_init(&h);
    kn_sha256_update(&h, plain, len);
    kn_digest dg;
    kn_sha256_final_digest(&h, &dg);
    kn_sha256_free(&h);
    report("sha256 alone", len, now() - t, 0);

    printf("-- gzip compression\n");
    t = now();
    size_t n = isal_gzip(plain, len, out);
    report("igzip level 1 (raw)", len, now() - t, n);
    t = now();
    n = zlib_gzip(plain, len, 1, out);
    report("zlib level 1 (raw)", len, now() - t, n);
    t = now();
    n = zlib_gzip(plain, len, 6, out);
    report("zlib level 6 (raw)", len, now() - t, n);
    double secs;
    size_t gz_len;
    int gz_fd = kiln_compress(KN_COMP_GZIP, plain, len, &secs, &gz_len);
    report("kn_comp_writer gzip (igzip 1 + 2x sha256)", len, secs, gz_len);

    printf("-- gzip decompression (of the kn_comp_writer output)\n");
    unsigned char *gz = kn_xmalloc(gz_len);
    if (pread(gz_fd, gz, gz_len, 0) != (ssize_t)gz_len)
        die("pread");
    t = now();
    if (isal_gunzip(gz, gz_len, out) != len)
        die("igzip: wrong size");
    report("igzip inflate (raw)", len, now() - t, 0);
    t = now();
    if (zlib_gunzip(gz, gz_len, out) != len)
        die("zlib: wrong size");
    report("zlib inflate (raw)", len, now() - t, 0);
    report("kn_decomp gzip (igzip + sha256)", len, kiln_decompress(gz_fd, KN_COMP_GZIP, len, out),
           0);

    printf("-- zstd level 3, for reference\n");
    size_t zs_len;
    int zs_fd = kiln_compress(KN_COMP_ZSTD, plain, len, &secs, &zs_len);
    report("kn_comp_writer zstd (+ 2x sha256)", len, secs, zs_len);
    report("kn_decomp zstd (+ sha256)", len, kiln_decompress(zs_fd, KN_COMP_ZSTD, len, out), 0);

    close(gz_fd);
    close(zs_fd);
    free(gz);
    free(out);
    free(plain);
    return 0;
}
