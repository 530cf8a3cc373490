/* Tests for layer compression (src/store/compress.c): detection, round trips
 * through igzip and libzstd, interoperation with zlib and libzstd's one-shot
 * API, multi-member gzip, corrupt and truncated streams, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/digest.h"
#include "base/mem.h"
#include "store/compress.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define MIB (1024 * 1024)

typedef struct bytes {
    unsigned char *data;
    size_t len;
} bytes;

static void bytes_free(bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

#define autobytes __attribute__((cleanup(bytes_free)))

/* xorshift64: the same pseudo-random bytes on every run. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Like a layer: runs of random bytes (already compressed files) between runs
 * of repeated text (sources, configs). */
static bytes make_plain(size_t len, uint64_t seed)
{
    static const char *words[] = {
        "usr",           "lib",         "share",   "bin", "etc", "locale", "python3",
        "site-packages", "__init__.py", "LICENSE", "\n",  " ",   "/"};
    bytes b = {kn_xmalloc(len ? len : 1), len};
    uint64_t s = seed | 1;
    size_t i = 0;
    while (i < len) {
        size_t run = 1 + next_rand(&s) % 8192;
        bool is_random = next_rand(&s) % 3 == 0;
        for (size_t j = 0; j < run && i < len; j++) {
            if (is_random) {
                b.data[i++] = (unsigned char)next_rand(&s);
            } else {
                const char *w = words[next_rand(&s) % KN_ARRAY_LEN(words)];
                for (; *w && i < len; w++)
                    b.data[i++] = (unsigned char)*w;
            }
        }
    }
    return b;
}

static int memfd_with(const void *data, size_t len)
{
    int fd = memfd_create("compress_test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static bytes read_all_fd(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    assert_true(end >= 0);
    bytes b = {kn_xmalloc((size_t)end + 1), (size_t)end};
    assert_int_equal(pread(fd, b.data, b.len, 0), (ssize_t)b.len);
    return b;
}

/* Compresses plain with the writer, feeding it in pieces of `step` bytes
 * (0: all at once). */
static bytes compress_with(kn_comp kind, const bytes *plain, size_t step, kn_comp_result *res)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = memfd_create("compress_test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    kn_comp_writer *w = kn_comp_writer_new(fd, kind, &err);
    assert_non_null(w);
    size_t off = 0;
    while (off < plain->len) {
        size_t n = step && step < plain->len - off ? step : plain->len - off;
        if (kn_comp_writer_write(w, plain->data + off, n, &err) < 0)
            fail_msg("write: %s", err.msg);
        off += n;
    }
    if (kn_comp_writer_finish(w, res, &err) < 0)
        fail_msg("finish: %s", err.msg);
    kn_comp_writer_free(w);
    return read_all_fd(fd);
}

/* Decompresses everything from fd, in reads of `step` bytes; fails the test
 * on an error. */
static bytes decompress_fd(int fd, kn_comp kind, size_t step, kn_digest *digest, uint64_t *size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_decomp *d = kn_decomp_new(fd, kind, &err);
    assert_non_null(d);
    size_t cap = 4 * MIB, len = 0;
    unsigned char *out = kn_xmalloc(cap);
    for (;;) {
        if (cap - len < step) {
            cap *= 2;
            out = kn_xrealloc(out, cap);
        }
        ssize_t n = kn_decomp_read(d, out + len, step, &err);
        if (n < 0)
            fail_msg("read: %s", err.msg);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (kn_decomp_finish(d, digest, size, &err) < 0)
        fail_msg("finish: %s", err.msg);
    kn_decomp_free(d);
    return (bytes){out, len};
}

static bytes decompress_bytes(kn_comp kind, const bytes *packed, size_t step, kn_digest *digest,
                              uint64_t *size)
{
    kn_autoclose int fd = memfd_with(packed->data, packed->len);
    return decompress_fd(fd, kind, step, digest, size);
}

/* Decompresses and expects an error whose message contains want. */
static void expect_decompress_error(kn_comp kind, const void *data, size_t len, const char *want)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = memfd_with(data, len);
    kn_decomp *d = kn_decomp_new(fd, kind, &err);
    assert_non_null(d);
    kn_autofree unsigned char *buf = kn_xmalloc(MIB);
    ssize_t n;
    while ((n = kn_decomp_read(d, buf, MIB, &err)) > 0)
        ;
    if (n == 0)
        fail_msg("%s stream of %zu bytes decompressed, want error \"%s\"", kn_comp_name(kind), len,
                 want);
    assert_int_equal(err.code, KN_ECORRUPT);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\", want \"%s\"", err.msg, want);
    /* The failure sticks. */
    assert_int_equal(kn_decomp_read(d, buf, MIB, &err), -1);
    kn_digest dg;
    uint64_t size;
    assert_int_equal(kn_decomp_finish(d, &dg, &size, &err), -1);
    kn_decomp_free(d);
}

static void assert_same_bytes(const bytes *got, const bytes *want)
{
    assert_int_equal(got->len, want->len);
    if (want->len && memcmp(got->data, want->data, want->len) != 0)
        fail_msg("decompressed bytes differ from the original");
}

/* Gzip through zlib, as other tools write it (with a file name in the
 * header, which igzip's own writer never sets). */
static bytes zlib_gzip(const void *data, size_t len, int level)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h = {0};
    h.name = (Bytef *)"layer.tar";
    h.os = 3;
    assert_int_equal(deflateSetHeader(&z, &h), Z_OK);
    bytes b = {kn_xmalloc(deflateBound(&z, len) + 64), 0};
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = b.data;
    z.avail_out = (uInt)deflateBound(&z, len) + 64;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    b.len = z.total_out;
    deflateEnd(&z);
    return b;
}

static bytes zlib_gunzip(const bytes *packed, size_t plain_len)
{
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    bytes b = {kn_xmalloc(plain_len + 1), 0};
    z.next_in = packed->data;
    z.avail_in = (uInt)packed->len;
    z.next_out = b.data;
    z.avail_out = (uInt)plain_len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.avail_in, 0);
    b.len = z.total_out;
    inflateEnd(&z);
    return b;
}

static bytes concat(const bytes *a, const bytes *b)
{
    bytes c = {kn_xmalloc(a->len + b->len + 1), a->len + b->len};
    memcpy(c.data, a->data, a->len);
    memcpy(c.data + a->len, b->data, b->len);
    return c;
}

static void test_detect_recognises_gzip_zstd_and_plain(void **state)
{
    static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00};
    static const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00};
    assert_int_equal(kn_comp_detect(gz, sizeof(gz)), KN_COMP_GZIP);
    assert_int_equal(kn_comp_detect(zs, sizeof(zs)), KN_COMP_ZSTD);
    assert_int_equal(kn_comp_detect("ustar", 5), KN_COMP_NONE);
    assert_int_equal(kn_comp_detect(gz, 1), KN_COMP_NONE);
    assert_int_equal(kn_comp_detect(zs, 3), KN_COMP_NONE);
    assert_int_equal(kn_comp_detect("", 0), KN_COMP_NONE);
    assert_string_equal(kn_comp_name(KN_COMP_GZIP), "gzip");
    assert_string_equal(kn_comp_name(KN_COMP_ZSTD), "zstd");
    assert_string_equal(kn_comp_name(KN_COMP_NONE), "none");
}

/* Writer then reader, with odd write and read sizes; both digests are those
 * of the bytes themselves, and detection recognises the writer's output. */
static void round_trip(kn_comp kind, size_t len, uint64_t seed)
{
    autobytes bytes plain = make_plain(len, seed);
    kn_comp_result res;
    autobytes bytes packed = compress_with(kind, &plain, 65537, &res);

    kn_digest want_plain, want_blob;
    kn_sha256_digest(plain.data, plain.len, &want_plain);
    kn_sha256_digest(packed.data, packed.len, &want_blob);
    assert_string_equal(res.plain.str, want_plain.str);
    assert_string_equal(res.blob.str, want_blob.str);
    assert_int_equal(res.plain_size, plain.len);
    assert_int_equal(res.blob_size, packed.len);
    if (kind != KN_COMP_NONE && len > 0)
        assert_int_equal(kn_comp_detect(packed.data, packed.len), kind);

    static const size_t steps[] = {MIB, 4096, 777};
    for (size_t i = 0; i < KN_ARRAY_LEN(steps); i++) {
        kn_digest got;
        uint64_t size;
        autobytes bytes back = decompress_bytes(kind, &packed, steps[i], &got, &size);
        assert_same_bytes(&back, &plain);
        assert_string_equal(got.str, want_plain.str);
        assert_int_equal(size, plain.len);
    }
}

static void test_gzip_round_trip_keeps_bytes_and_digests(void **state)
{
    round_trip(KN_COMP_GZIP, 5 * MIB + 12345, 1);
    round_trip(KN_COMP_GZIP, 100, 2);
}

static void test_zstd_round_trip_keeps_bytes_and_digests(void **state)
{
    round_trip(KN_COMP_ZSTD, 5 * MIB + 12345, 3);
    round_trip(KN_COMP_ZSTD, 100, 4);
}

static void test_none_round_trip_passes_bytes_through(void **state)
{
    round_trip(KN_COMP_NONE, 3 * MIB + 1, 5);
    autobytes bytes plain = make_plain(1000, 6);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_NONE, &plain, 0, &res);
    assert_same_bytes(&packed, &plain);
    assert_string_equal(res.blob.str, res.plain.str);
}

static void test_empty_input_round_trips(void **state)
{
    round_trip(KN_COMP_GZIP, 0, 7);
    round_trip(KN_COMP_ZSTD, 0, 7);
    round_trip(KN_COMP_NONE, 0, 7);
}

/* A pipe gives short reads at arbitrary points of the stream. */
static void test_gzip_decompresses_from_a_pipe_fed_in_small_pieces(void **state)
{
    autobytes bytes plain = make_plain(3 * MIB, 8);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < packed.len;) {
            size_t n = packed.len - off < 1000 ? packed.len - off : 1000;
            ssize_t w = write(fds[1], packed.data + off, n);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    kn_digest got;
    uint64_t size;
    autobytes bytes back = decompress_fd(fds[0], KN_COMP_GZIP, 100000, &got, &size);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_same_bytes(&back, &plain);
    assert_string_equal(got.str, res.plain.str);
}

static void test_writer_output_is_the_same_for_any_write_sizes(void **state)
{
    static const kn_comp kinds[] = {KN_COMP_GZIP, KN_COMP_ZSTD};
    autobytes bytes plain = make_plain(3 * MIB + 999, 9);
    for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++) {
        kn_comp_result r1, r2, r3;
        autobytes bytes a = compress_with(kinds[k], &plain, 0, &r1);
        autobytes bytes b = compress_with(kinds[k], &plain, 512, &r2);
        autobytes bytes c = compress_with(kinds[k], &plain, MIB + 3, &r3);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0 || a.len != c.len ||
            memcmp(a.data, c.data, a.len) != 0)
            fail_msg("%s output depends on write sizes", kn_comp_name(kinds[k]));
        assert_string_equal(r1.blob.str, r2.blob.str);
        assert_string_equal(r1.blob.str, r3.blob.str);
    }
}

static void test_gzip_writer_header_has_no_mtime_or_name(void **state)
{
    autobytes bytes plain = make_plain(1000, 10);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    assert_true(packed.len > 10);
    assert_int_equal(packed.data[2], 8);                 /* deflate */
    assert_int_equal(packed.data[3], 0);                 /* no FNAME, no FEXTRA */
    assert_memory_equal(packed.data + 4, "\0\0\0\0", 4); /* mtime 0 */
}

static void test_gzip_writer_output_inflates_with_zlib(void **state)
{
    autobytes bytes plain = make_plain(2 * MIB + 5, 11);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    autobytes bytes back = zlib_gunzip(&packed, plain.len);
    assert_same_bytes(&back, &plain);
}

static void test_gzip_reads_zlib_output(void **state)
{
    static const int levels[] = {1, 6, 9};
    autobytes bytes plain = make_plain(2 * MIB + 77, 12);
    kn_digest want;
    kn_sha256_digest(plain.data, plain.len, &want);
    for (size_t i = 0; i < KN_ARRAY_LEN(levels); i++) {
        autobytes bytes packed = zlib_gzip(plain.data, plain.len, levels[i]);
        kn_digest got;
        uint64_t size;
        autobytes bytes back = decompress_bytes(KN_COMP_GZIP, &packed, MIB, &got, &size);
        assert_same_bytes(&back, &plain);
        assert_string_equal(got.str, want.str);
    }
}

static void test_zstd_reads_one_shot_output_and_writer_output_decodes_one_shot(void **state)
{
    autobytes bytes plain = make_plain(2 * MIB + 3, 13);
    size_t bound = ZSTD_compressBound(plain.len);
    autobytes bytes packed = {kn_xmalloc(bound), 0};
    packed.len = ZSTD_compress(packed.data, bound, plain.data, plain.len, 19);
    assert_false(ZSTD_isError(packed.len));
    kn_digest got;
    uint64_t size;
    autobytes bytes back = decompress_bytes(KN_COMP_ZSTD, &packed, MIB, &got, &size);
    assert_same_bytes(&back, &plain);

    kn_comp_result res;
    autobytes bytes ours = compress_with(KN_COMP_ZSTD, &plain, 0, &res);
    autobytes bytes again = {kn_xmalloc(plain.len + 1), 0};
    again.len = ZSTD_decompress(again.data, plain.len + 1, ours.data, ours.len);
    assert_false(ZSTD_isError(again.len));
    assert_same_bytes(&again, &plain);
}

/* Like Go's gzip reader (multistream by default), as `cat a.gz b.gz` gives. */
static void test_gzip_reads_concatenated_members_as_one_stream(void **state)
{
    autobytes bytes p1 = make_plain(MIB + 100, 14);
    autobytes bytes p2 = make_plain(300000, 15);
    autobytes bytes m1 = zlib_gzip(p1.data, p1.len, 6);
    kn_comp_result res;
    autobytes bytes m2 = compress_with(KN_COMP_GZIP, &p2, 0, &res);
    autobytes bytes m3 = zlib_gzip("", 0, 6); /* an empty member between */
    autobytes bytes m13 = concat(&m1, &m3);
    autobytes bytes packed = concat(&m13, &m2);
    autobytes bytes plain = concat(&p1, &p2);
    kn_digest want;
    kn_sha256_digest(plain.data, plain.len, &want);
    static const size_t steps[] = {MIB, 3000};
    for (size_t i = 0; i < KN_ARRAY_LEN(steps); i++) {
        kn_digest got;
        uint64_t size;
        autobytes bytes back = decompress_bytes(KN_COMP_GZIP, &packed, steps[i], &got, &size);
        assert_same_bytes(&back, &plain);
        assert_string_equal(got.str, want.str);
        assert_int_equal(size, plain.len);
    }
}

static void test_zstd_reads_concatenated_frames_as_one_stream(void **state)
{
    autobytes bytes p1 = make_plain(200000, 16);
    autobytes bytes p2 = make_plain(100000, 17);
    kn_comp_result r1, r2;
    autobytes bytes f1 = compress_with(KN_COMP_ZSTD, &p1, 0, &r1);
    autobytes bytes f2 = compress_with(KN_COMP_ZSTD, &p2, 0, &r2);
    autobytes bytes packed = concat(&f1, &f2);
    autobytes bytes plain = concat(&p1, &p2);
    kn_digest got;
    uint64_t size;
    autobytes bytes back = decompress_bytes(KN_COMP_ZSTD, &packed, 5000, &got, &size);
    assert_same_bytes(&back, &plain);
}

static void test_gzip_accepts_zero_padding_after_last_member(void **state)
{
    autobytes bytes plain = make_plain(50000, 18);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    autobytes bytes zeros = {kn_xcalloc(1, 3 * MIB), 3 * MIB};
    autobytes bytes padded = concat(&packed, &zeros);
    kn_digest got;
    uint64_t size;
    autobytes bytes back = decompress_bytes(KN_COMP_GZIP, &padded, MIB, &got, &size);
    assert_same_bytes(&back, &plain);
    assert_string_equal(got.str, res.plain.str);
}

static void test_gzip_rejects_garbage_after_member(void **state)
{
    autobytes bytes plain = make_plain(50000, 19);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    static const bytes tails[] = {
        {(unsigned char *)"garbage", 7},
        {(unsigned char *)"\0\0\0x", 4},      /* zeros, then not zeros */
        {(unsigned char *)"\x1f\x8c\0\0", 4}, /* not quite a header */
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(tails); i++) {
        autobytes bytes bad = concat(&packed, &tails[i]);
        expect_decompress_error(KN_COMP_GZIP, bad.data, bad.len, "gzip: invalid data at offset");
    }
    /* A second member cut short after its magic. */
    autobytes bytes half = concat(&packed, &(bytes){(unsigned char *)"\x1f\x8b\x08", 3});
    expect_decompress_error(KN_COMP_GZIP, half.data, half.len, "gzip: unexpected end of data");
}

/* Flipping bytes in the middle, in the header or in the trailer is found
 * (the CRC catches what the deflate decoder does not). */
static void test_corrupt_input_is_invalid_data(void **state)
{
    static const kn_comp kinds[] = {KN_COMP_GZIP, KN_COMP_ZSTD};
    autobytes bytes plain = make_plain(MIB, 20);
    for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++) {
        kn_comp_result res;
        autobytes bytes packed = compress_with(kinds[k], &plain, 0, &res);
        char want[64];
        snprintf(want, sizeof(want), "%s: invalid data", kn_comp_name(kinds[k]));
        /* Magic, two places in the data, gzip's CRC and size, zstd's checksum
         * (a flipped block size would read as a truncated stream). */
        size_t spots[] = {2, packed.len / 3, packed.len / 2, packed.len - 6, packed.len - 2};
        if (kinds[k] == KN_COMP_ZSTD)
            spots[3] = packed.len - 4;
        for (size_t i = 0; i < KN_ARRAY_LEN(spots); i++) {
            packed.data[spots[i]] ^= 0x55;
            expect_decompress_error(kinds[k], packed.data, packed.len, want);
            packed.data[spots[i]] ^= 0x55;
        }
    }
    expect_decompress_error(KN_COMP_GZIP, "\x1f\x8b\x08\0\0\0\0\0\0\xff\xff\xff\xff\xff", 14,
                            "gzip: invalid data");
}

static void test_truncated_input_is_unexpected_end(void **state)
{
    static const kn_comp kinds[] = {KN_COMP_GZIP, KN_COMP_ZSTD};
    autobytes bytes plain = make_plain(2 * MIB, 21);
    for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++) {
        kn_comp_result res;
        autobytes bytes packed = compress_with(kinds[k], &plain, 0, &res);
        char want[64];
        snprintf(want, sizeof(want), "%s: unexpected end of data", kn_comp_name(kinds[k]));
        assert_true(packed.len > MIB / 4);
        size_t cuts[] = {
            0, 1, 3, 12, packed.len / 3, packed.len / 2, packed.len - 5, packed.len - 1};
        for (size_t i = 0; i < KN_ARRAY_LEN(cuts); i++)
            expect_decompress_error(kinds[k], packed.data, cuts[i], want);
    }
}

static void test_finish_drains_the_rest_and_hashes_all_plain_bytes(void **state)
{
    static const kn_comp kinds[] = {KN_COMP_GZIP, KN_COMP_ZSTD, KN_COMP_NONE};
    autobytes bytes plain = make_plain(3 * MIB, 22);
    for (size_t k = 0; k < KN_ARRAY_LEN(kinds); k++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_comp_result res;
        autobytes bytes packed = compress_with(kinds[k], &plain, 0, &res);
        kn_autoclose int fd = memfd_with(packed.data, packed.len);
        kn_decomp *d = kn_decomp_new(fd, kinds[k], &err);
        assert_non_null(d);
        char head[512];
        assert_int_equal(kn_decomp_read(d, head, sizeof(head), &err), sizeof(head));
        assert_memory_equal(head, plain.data, sizeof(head));
        kn_digest got;
        uint64_t size;
        assert_int_equal(kn_decomp_finish(d, &got, &size, &err), 0);
        assert_string_equal(got.str, res.plain.str);
        assert_int_equal(size, plain.len);
        /* Finishing again gives the same answer. */
        assert_int_equal(kn_decomp_finish(d, &got, &size, &err), 0);
        assert_string_equal(got.str, res.plain.str);
        kn_decomp_free(d);
    }
}

static void test_finish_reports_corruption_in_the_undrained_rest(void **state)
{
    autobytes bytes plain = make_plain(MIB, 23);
    kn_comp_result res;
    autobytes bytes packed = compress_with(KN_COMP_GZIP, &plain, 0, &res);
    packed.data[packed.len - 8] ^= 1; /* CRC */
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = memfd_with(packed.data, packed.len);
    kn_decomp *d = kn_decomp_new(fd, KN_COMP_GZIP, &err);
    char head[512];
    assert_int_equal(kn_decomp_read(d, head, sizeof(head), &err), sizeof(head));
    kn_digest got;
    uint64_t size;
    assert_int_equal(kn_decomp_finish(d, &got, &size, &err), -1);
    assert_non_null(strstr(err.msg, "gzip: invalid data"));
    kn_decomp_free(d);
}

static void test_read_error_from_fd_is_reported(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    /* Reading from a write end fails with EBADF. */
    kn_decomp *d = kn_decomp_new(fds[1], KN_COMP_GZIP, &err);
    char buf[64];
    assert_int_equal(kn_decomp_read(d, buf, sizeof(buf), &err), -1);
    assert_int_equal(err.code, EBADF);
    kn_decomp_free(d);
    close(fds[1]);
}

static void test_write_error_is_reported_and_sticks(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    kn_comp_writer *w = kn_comp_writer_new(fds[1], KN_COMP_NONE, &err);
    assert_int_equal(kn_comp_writer_write(w, "abc", 3, &err), -1);
    assert_int_equal(err.code, EPIPE);
    kn_comp_result res;
    assert_int_equal(kn_comp_writer_finish(w, &res, &err), -1);
    kn_comp_writer_free(w);
    close(fds[1]);
}

/* Random bytes do not compress: the output takes several chunks, so it is
 * written on the writer's own thread, and a failure there still reaches the
 * caller, by a later write or by finish. */
static void test_write_error_of_a_long_stream_is_reported(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    kn_comp_writer *w = kn_comp_writer_new(fds[1], KN_COMP_GZIP, &err);
    assert_non_null(w);
    autobytes bytes plain = {kn_xmalloc(6 * MIB), 6 * MIB};
    uint64_t s = 11;
    for (size_t i = 0; i < plain.len; i++)
        plain.data[i] = (unsigned char)next_rand(&s);
    int rc = 0;
    for (size_t off = 0; off < plain.len && rc == 0; off += MIB)
        rc = kn_comp_writer_write(w, plain.data + off, MIB, &err);
    kn_comp_result res;
    if (rc == 0)
        rc = kn_comp_writer_finish(w, &res, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, EPIPE);
    kn_comp_writer_free(w);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_recognises_gzip_zstd_and_plain),
        cmocka_unit_test(test_gzip_round_trip_keeps_bytes_and_digests),
        cmocka_unit_test(test_zstd_round_trip_keeps_bytes_and_digests),
        cmocka_unit_test(test_none_round_trip_passes_bytes_through),
        cmocka_unit_test(test_empty_input_round_trips),
        cmocka_unit_test(test_gzip_decompresses_from_a_pipe_fed_in_small_pieces),
        cmocka_unit_test(test_writer_output_is_the_same_for_any_write_sizes),
        cmocka_unit_test(test_gzip_writer_header_has_no_mtime_or_name),
        cmocka_unit_test(test_gzip_writer_output_inflates_with_zlib),
        cmocka_unit_test(test_gzip_reads_zlib_output),
        cmocka_unit_test(test_zstd_reads_one_shot_output_and_writer_output_decodes_one_shot),
        cmocka_unit_test(test_gzip_reads_concatenated_members_as_one_stream),
        cmocka_unit_test(test_zstd_reads_concatenated_frames_as_one_stream),
        cmocka_unit_test(test_gzip_accepts_zero_padding_after_last_member),
        cmocka_unit_test(test_gzip_rejects_garbage_after_member),
        cmocka_unit_test(test_corrupt_input_is_invalid_data),
        cmocka_unit_test(test_truncated_input_is_unexpected_end),
        cmocka_unit_test(test_finish_drains_the_rest_and_hashes_all_plain_bytes),
        cmocka_unit_test(test_finish_reports_corruption_in_the_undrained_rest),
        cmocka_unit_test(test_read_error_from_fd_is_reported),
        cmocka_unit_test(test_write_error_is_reported_and_sticks),
        cmocka_unit_test(test_write_error_of_a_long_stream_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
