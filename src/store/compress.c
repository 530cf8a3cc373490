#include "store/compress.h"

#include "base/mem.h"

#include <errno.h>
#include <isa-l.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* Reads and writes go through the kernel in 1 MiB pieces: large enough that
 * syscalls cost nothing next to (de)compression, small enough to stay in L2. */
#define CHUNK_SIZE (1024 * 1024)
/* What is left after a tar's end is a few blocks of padding, at most. */
#define DRAIN_SIZE (128 * 1024)

/* igzip level 1: about zlib -1's ratio at several times its speed. */
#define GZIP_LEVEL 1
#define GZIP_LEVEL_BUF_SIZE ISAL_DEF_LVL1_DEFAULT
#define ZSTD_LEVEL 3

kn_comp kn_comp_detect(const void *head, size_t len)
{
    const unsigned char *p = head;
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return KN_COMP_GZIP;
    if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return KN_COMP_ZSTD;
    return KN_COMP_NONE;
}

const char *kn_comp_name(kn_comp kind)
{
    switch (kind) {
    case KN_COMP_GZIP:
        return "gzip";
    case KN_COMP_ZSTD:
        return "zstd";
    case KN_COMP_NONE:
        break;
    }
    return "none";
}

/* read(2) that retries on EINTR. */
static ssize_t read_retry(int fd, void *buf, size_t len)
{
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* ---- Decompression ---- */

struct kn_decomp {
    int fd;
    kn_comp kind;
    kn_sha256 plain_hash;
    uint64_t plain_size;
    bool is_eof;    /* read(2) returned 0 */
    bool is_done;   /* the compressed stream ended; reads give 0 */
    bool is_failed; /* a read failed; the stream cannot go on */
    bool is_finished;
    kn_digest plain_digest; /* once finished */

    /* Compressed input: in[pos, len) is not consumed yet; in_off is the
     * stream offset of in[0], for error messages. */
    unsigned char *in;
    size_t in_pos, in_len;
    uint64_t in_off;

    struct inflate_state *gz; /* gzip */
    bool is_member_end;       /* gzip: a member ended, the next is not started */
    bool is_padding;          /* gzip: zeros followed the last member */
    ZSTD_DCtx *zs;            /* zstd */
    size_t zs_hint;           /* zstd: last ZSTD_decompressStream result; 0 at a frame end */

    unsigned char *drain; /* scratch for kn_decomp_finish, allocated there */
};

kn_decomp *kn_decomp_new(int fd, kn_comp kind, kn_err *err)
{
    kn_decomp *d = kn_xcalloc(1, sizeof(*d));
    d->fd = fd;
    d->kind = kind;
    kn_sha256_init(&d->plain_hash);
    switch (kind) {
    case KN_COMP_GZIP:
        d->in = kn_xmalloc(CHUNK_SIZE);
        d->gz = kn_xmalloc(sizeof(*d->gz));
        isal_inflate_init(d->gz);
        d->gz->crc_flag = ISAL_GZIP;
        break;
    case KN_COMP_ZSTD:
        d->in = kn_xmalloc(CHUNK_SIZE);
        d->zs = ZSTD_createDCtx();
        if (!d->zs) {
            kn_decomp_free(d);
            kn_errf(err, ENOMEM, "zstd: create decompression context");
            return NULL;
        }
        d->zs_hint = 1; /* no frame seen yet: an empty stream is truncated */
        break;
    case KN_COMP_NONE:
        break;
    }
    return d;
}

void kn_decomp_free(kn_decomp *d)
{
    if (!d)
        return;
    kn_sha256_free(&d->plain_hash);
    free(d->in);
    free(d->gz);
    ZSTD_freeDCtx(d->zs);
    free(d->drain);
    free(d);
}

static int truncated(kn_decomp *d, kn_err *err)
{
    return kn_errf(err, KN_ECORRUPT, "%s: unexpected end of data", kn_comp_name(d->kind));
}

/* Moves unconsumed input to the front and reads more after it. Sets is_eof
 * at the end of the file. Called when the decoder cannot go on without more
 * input, so having none to give is an error. */
static int refill(kn_decomp *d, kn_err *err)
{
    if (d->is_eof)
        return truncated(d, err);
    if (d->in_pos == 0 && d->in_len == CHUNK_SIZE)
        return kn_errf(err, KN_ECORRUPT, "%s: invalid data at offset %llu (decoder stalled)",
                       kn_comp_name(d->kind), (unsigned long long)d->in_off);
    if (d->in_pos > 0) {
        memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
        d->in_off += d->in_pos;
        d->in_len -= d->in_pos;
        d->in_pos = 0;
    }
    ssize_t n = read_retry(d->fd, d->in + d->in_len, CHUNK_SIZE - d->in_len);
    if (n < 0)
        return kn_errf(err, errno, "%s: read compressed stream", kn_comp_name(d->kind));
    if (n == 0)
        d->is_eof = true;
    d->in_len += (size_t)n;
    return 0;
}

static bool all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* After a gzip member: another member follows (returns 1), or the stream
 * ends, perhaps after zero padding (0), or garbage follows (-1). Go's gzip
 * reader rejects anything but a member after a member; image layers are
 * sometimes padded with zeros to a block size, so zeros alone are accepted. */
static int gzip_next_member(kn_decomp *d, kn_err *err)
{
    for (;;) {
        if (d->in_pos == d->in_len) {
            if (d->is_eof)
                return 0;
            if (refill(d, err) < 0)
                return -1;
            continue;
        }
        const unsigned char *p = d->in + d->in_pos;
        size_t avail = d->in_len - d->in_pos;
        if (p[0] == 0 || d->is_padding) {
            if (!all_zero(p, avail))
                break;
            d->is_padding = true; /* only zeros may follow now */
            d->in_pos = d->in_len;
            continue;
        }
        if (p[0] != 0x1f || (avail >= 2 && p[1] != 0x8b))
            break;
        if (avail < 2 && !d->is_eof) {
            if (refill(d, err) < 0)
                return -1;
            continue;
        }
        if (avail < 2)
            return truncated(d, err);
        isal_inflate_reset(d->gz);
        d->gz->crc_flag = ISAL_GZIP;
        return 1;
    }
    return kn_errf(err, KN_ECORRUPT, "gzip: invalid data at offset %llu (garbage after member)",
                   (unsigned long long)(d->in_off + d->in_pos));
}

static ssize_t gzip_read(kn_decomp *d, unsigned char *buf, size_t len, kn_err *err)
{
    struct inflate_state *s = d->gz;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    for (;;) {
        if (d->is_member_end) {
            int r = gzip_next_member(d, err);
            if (r < 0)
                return -1;
            d->is_member_end = false;
            if (r == 0) {
                d->is_done = true;
                return 0;
            }
        }
        if (d->in_pos == d->in_len && !d->is_eof && refill(d, err) < 0)
            return -1;
        size_t avail = d->in_len - d->in_pos;
        s->next_in = d->in + d->in_pos;
        s->avail_in = (uint32_t)avail;
        s->next_out = buf;
        s->avail_out = (uint32_t)len;
        int ret = isal_inflate(s);
        size_t used = avail - s->avail_in;
        size_t produced = len - s->avail_out;
        if (ret < 0 || ret == ISAL_NEED_DICT) {
            const char *why = ret == ISAL_INCORRECT_CHECKSUM   ? "checksum mismatch"
                              : ret == ISAL_INVALID_WRAPPER    ? "bad header"
                              : ret == ISAL_UNSUPPORTED_METHOD ? "unsupported method"
                              : ret == ISAL_NEED_DICT          ? "needs a dictionary"
                                                               : "bad deflate data";
            return kn_errf(err, KN_ECORRUPT, "gzip: invalid data at offset %llu (%s)",
                           (unsigned long long)(d->in_off + d->in_pos + used), why);
        }
        d->in_pos += used;
        if (s->block_state == ISAL_BLOCK_FINISH)
            d->is_member_end = true;
        if (produced > 0)
            return (ssize_t)produced;
        if (d->is_member_end)
            continue;
        /* Nothing came out: the decoder needs more input than it has. */
        if ((used == 0 || d->in_pos == d->in_len) && refill(d, err) < 0)
            return -1;
    }
}

static ssize_t zstd_read(kn_decomp *d, unsigned char *buf, size_t len, kn_err *err)
{
    for (;;) {
        if (d->in_pos == d->in_len && !d->is_eof && refill(d, err) < 0)
            return -1;
        ZSTD_inBuffer in = {d->in, d->in_len, d->in_pos};
        ZSTD_outBuffer out = {buf, len, 0};
        size_t ret = ZSTD_decompressStream(d->zs, &out, &in);
        if (ZSTD_isError(ret))
            return kn_errf(err, KN_ECORRUPT, "zstd: invalid data at offset %llu (%s)",
                           (unsigned long long)(d->in_off + in.pos), ZSTD_getErrorName(ret));
        bool used = in.pos > d->in_pos;
        d->in_pos = in.pos;
        if (used || out.pos > 0)
            d->zs_hint = ret; /* a call on no input says nothing about the frame */
        if (out.pos > 0)
            return (ssize_t)out.pos;
        if (d->in_pos == d->in_len && d->is_eof && d->zs_hint == 0) {
            d->is_done = true; /* the last frame ended with the file */
            return 0;
        }
        /* Nothing came out: the decoder needs more input than it has. */
        if ((!used || d->in_pos == d->in_len) && refill(d, err) < 0)
            return -1;
    }
}

ssize_t kn_decomp_read(kn_decomp *d, void *buf, size_t len, kn_err *err)
{
    if (d->is_failed)
        return kn_errf(err, KN_EFAILED, "%s: read after a failed read", kn_comp_name(d->kind));
    if (d->is_done || len == 0)
        return 0;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    ssize_t n;
    switch (d->kind) {
    case KN_COMP_GZIP:
        n = gzip_read(d, buf, len, err);
        break;
    case KN_COMP_ZSTD:
        n = zstd_read(d, buf, len, err);
        break;
    default:
        n = read_retry(d->fd, buf, len);
        if (n < 0)
            kn_errf(err, errno, "read layer");
        else if (n == 0)
            d->is_done = true;
        break;
    }
    if (n < 0) {
        d->is_failed = true;
        return -1;
    }
    kn_sha256_update(&d->plain_hash, buf, (size_t)n);
    d->plain_size += (uint64_t)n;
    return n;
}

int kn_decomp_finish(kn_decomp *d, kn_digest *plain_digest, uint64_t *plain_size, kn_err *err)
{
    if (!d->is_finished) {
        if (!d->drain && !d->is_done)
            d->drain = kn_xmalloc(DRAIN_SIZE);
        ssize_t n = 0;
        while (!d->is_done && (n = kn_decomp_read(d, d->drain, DRAIN_SIZE, err)) > 0)
            ;
        if (n < 0)
            return -1;
        kn_sha256_final_digest(&d->plain_hash, &d->plain_digest);
        d->is_finished = true;
    }
    *plain_digest = d->plain_digest;
    *plain_size = d->plain_size;
    return 0;
}

/* ---- Compression ---- */

/* Compressed bytes reach fd through a thread of their own once a stream
 * outgrows one chunk: hashing and writing them (page-cache writes cost
 * about as much as compressing, on these VMs) overlap with reading and
 * compressing what follows. Small streams stay on the caller's thread. */
#define OUT_SLOTS 4

typedef struct out_queue {
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned char *slot[OUT_SLOTS];
    size_t len[OUT_SLOTS];
    size_t head, count; /* full slots: head .. head + count - 1, modulo OUT_SLOTS */
    bool is_closing;
    int error; /* the errno of the write that failed; later chunks are dropped */
} out_queue;

struct kn_comp_writer {
    int fd;
    kn_comp kind;
    kn_sha256 plain_hash, blob_hash;
    uint64_t plain_size, blob_size;
    bool is_finished;
    bool is_failed;
    kn_comp_result result; /* once finished */

    /* The compressor sees input only in whole CHUNK_SIZE pieces (the last
     * may be shorter), so its output does not depend on how callers split
     * their writes. in holds a partial piece. */
    unsigned char *in;
    size_t in_len;
    unsigned char *out; /* compressed bytes waiting for fd */
    size_t n_puts;      /* chunks of compressed bytes so far */
    out_queue *queue;   /* the writing thread, from the second chunk on */

    struct isal_zstream *gz;
    unsigned char *gz_level_buf;
    ZSTD_CCtx *zs;
};

kn_comp_writer *kn_comp_writer_new(int fd, kn_comp kind, kn_err *err)
{
    kn_comp_writer *w = kn_xcalloc(1, sizeof(*w));
    w->fd = fd;
    w->kind = kind;
    kn_sha256_init(&w->plain_hash);
    kn_sha256_init(&w->blob_hash);
    if (kind == KN_COMP_NONE)
        return w;
    w->in = kn_xmalloc(CHUNK_SIZE);
    w->out = kn_xmalloc(CHUNK_SIZE);
    if (kind == KN_COMP_GZIP) {
        w->gz = kn_xmalloc(sizeof(*w->gz));
        w->gz_level_buf = kn_xmalloc(GZIP_LEVEL_BUF_SIZE);
        isal_deflate_init(w->gz);
        w->gz->level = GZIP_LEVEL;
        w->gz->level_buf = w->gz_level_buf;
        w->gz->level_buf_size = GZIP_LEVEL_BUF_SIZE;
        /* igzip's own header: 1f 8b 08, no flags, mtime 0, OS unknown. */
        w->gz->gzip_flag = IGZIP_GZIP;
        w->gz->flush = NO_FLUSH;
    } else {
        w->zs = ZSTD_createCCtx();
        if (!w->zs) {
            kn_comp_writer_free(w);
            kn_errf(err, ENOMEM, "zstd: create compression context");
            return NULL;
        }
        /* Single-threaded (nbWorkers 0) keeps the output deterministic. */
        size_t r = ZSTD_CCtx_setParameter(w->zs, ZSTD_c_compressionLevel, ZSTD_LEVEL);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(w->zs, ZSTD_c_checksumFlag, 1);
        if (ZSTD_isError(r)) {
            kn_comp_writer_free(w);
            kn_errf(err, KN_EFAILED, "zstd: set parameters: %s", ZSTD_getErrorName(r));
            return NULL;
        }
    }
    return w;
}

static int queue_finish(kn_comp_writer *w);

void kn_comp_writer_free(kn_comp_writer *w)
{
    if (!w)
        return;
    if (w->queue) /* abandoned: what is queued is still written, then the thread ends */
        queue_finish(w);
    kn_sha256_free(&w->plain_hash);
    kn_sha256_free(&w->blob_hash);
    free(w->in);
    free(w->out);
    free(w->gz);
    free(w->gz_level_buf);
    ZSTD_freeCCtx(w->zs);
    free(w);
}

/* Writes all of data to fd and hashes it as the blob: 0, or an errno. */
static int write_blob_bytes(kn_comp_writer *w, const unsigned char *data, size_t len)
{
    kn_sha256_update(&w->blob_hash, data, len);
    w->blob_size += len;
    while (len > 0) {
        ssize_t n = write(w->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *queue_main(void *arg)
{
    kn_comp_writer *w = arg;
    out_queue *q = w->queue;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->count == 0 && !q->is_closing)
            pthread_cond_wait(&q->changed, &q->lock);
        if (q->count == 0)
            break;
        size_t at = q->head;
        bool is_failed = q->error != 0;
        pthread_mutex_unlock(&q->lock);
        int e = is_failed ? 0 : write_blob_bytes(w, q->slot[at], q->len[at]);
        pthread_mutex_lock(&q->lock);
        if (e)
            q->error = e;
        q->head = (q->head + 1) % OUT_SLOTS;
        q->count--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void queue_start(kn_comp_writer *w)
{
    out_queue *q = kn_xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->changed, NULL);
    for (size_t i = 0; i < OUT_SLOTS; i++)
        q->slot[i] = kn_xmalloc(CHUNK_SIZE);
    w->queue = q;
    q->has_thread = pthread_create(&q->thread, NULL, queue_main, w) == 0;
    if (!q->has_thread)
        queue_finish(w); /* the caller's thread writes, as for small streams */
}

/* Waits for the queued chunks to be written and ends the thread; 0, or the
 * errno of a failed write. */
static int queue_finish(kn_comp_writer *w)
{
    out_queue *q = w->queue;
    pthread_mutex_lock(&q->lock);
    q->is_closing = true;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    if (q->has_thread)
        pthread_join(q->thread, NULL);
    int e = q->error;
    for (size_t i = 0; i < OUT_SLOTS; i++)
        free(q->slot[i]);
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->lock);
    free(q);
    w->queue = NULL;
    return e;
}

/* Hands a chunk of compressed bytes to the writing thread: 0, or the errno
 * of an earlier failed write. */
static int queue_put(out_queue *q, const unsigned char *data, size_t len)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == OUT_SLOTS)
        pthread_cond_wait(&q->changed, &q->lock);
    int e = q->error;
    if (!e) {
        size_t at = (q->head + q->count) % OUT_SLOTS;
        memcpy(q->slot[at], data, len);
        q->len[at] = len;
        q->count++;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return e;
}

/* Sends compressed bytes (len <= CHUNK_SIZE) to fd and the blob hash, on
 * the writing thread from the second chunk on. */
static int put_blob(kn_comp_writer *w, const unsigned char *data, size_t len, kn_err *err)
{
    if (++w->n_puts == 2 && w->kind != KN_COMP_NONE)
        queue_start(w);
    int e = w->queue ? queue_put(w->queue, data, len) : write_blob_bytes(w, data, len);
    if (e)
        return kn_errf(err, e, "%s: write compressed stream", kn_comp_name(w->kind));
    return 0;
}

/* Compresses one piece of input (the last one when is_last), writing out
 * whatever output fills. */
static int gzip_piece(kn_comp_writer *w, const unsigned char *data, size_t len, bool is_last,
                      kn_err *err)
{
    struct isal_zstream *s = w->gz;
    s->next_in = (uint8_t *)data; /* igzip does not write to its input */
    s->avail_in = (uint32_t)len;
    s->end_of_stream = is_last;
    for (;;) {
        s->next_out = w->out;
        s->avail_out = CHUNK_SIZE;
        int ret = isal_deflate(s);
        if (ret != COMP_OK)
            return kn_errf(err, KN_EFAILED, "gzip: compress: igzip error %d", ret);
        size_t produced = CHUNK_SIZE - s->avail_out;
        if (produced > 0 && put_blob(w, w->out, produced, err) < 0)
            return -1;
        bool is_drained =
            is_last ? s->internal_state.state == ZSTATE_END : s->avail_in == 0 && s->avail_out > 0;
        if (is_drained)
            return 0;
    }
}

static int zstd_piece(kn_comp_writer *w, const unsigned char *data, size_t len, bool is_last,
                      kn_err *err)
{
    ZSTD_inBuffer in = {data, len, 0};
    ZSTD_EndDirective mode = is_last ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
        ZSTD_outBuffer out = {w->out, CHUNK_SIZE, 0};
        size_t left = ZSTD_compressStream2(w->zs, &out, &in, mode);
        if (ZSTD_isError(left))
            return kn_errf(err, KN_EFAILED, "zstd: compress: %s", ZSTD_getErrorName(left));
        if (out.pos > 0 && put_blob(w, w->out, out.pos, err) < 0)
            return -1;
        bool is_drained = is_last ? left == 0 : in.pos == in.size && out.pos < out.size;
        if (is_drained)
            return 0;
    }
}

static int compress_piece(kn_comp_writer *w, const unsigned char *data, size_t len, bool is_last,
                          kn_err *err)
{
    if (w->kind == KN_COMP_GZIP)
        return gzip_piece(w, data, len, is_last, err);
    return zstd_piece(w, data, len, is_last, err);
}

static int writer_usable(kn_comp_writer *w, kn_err *err)
{
    if (w->is_failed)
        return kn_errf(err, KN_EFAILED, "%s: write after a failed write", kn_comp_name(w->kind));
    if (w->is_finished)
        return kn_errf(err, KN_EFAILED, "%s: write after finish", kn_comp_name(w->kind));
    return 0;
}

int kn_comp_writer_write(kn_comp_writer *w, const void *data, size_t len, kn_err *err)
{
    if (writer_usable(w, err) < 0)
        return -1;
    const unsigned char *p = data;
    kn_sha256_update(&w->plain_hash, p, len);
    w->plain_size += len;
    if (w->kind == KN_COMP_NONE) {
        if (put_blob(w, p, len, err) < 0)
            goto failed;
        return 0;
    }
    while (len > 0) {
        /* Whole pieces straight from the caller's buffer; copy only the rest. */
        if (w->in_len == 0 && len >= CHUNK_SIZE) {
            if (compress_piece(w, p, CHUNK_SIZE, false, err) < 0)
                goto failed;
            p += CHUNK_SIZE;
            len -= CHUNK_SIZE;
            continue;
        }
        size_t n = CHUNK_SIZE - w->in_len;
        if (n > len)
            n = len;
        memcpy(w->in + w->in_len, p, n);
        w->in_len += n;
        p += n;
        len -= n;
        if (w->in_len == CHUNK_SIZE) {
            if (compress_piece(w, w->in, CHUNK_SIZE, false, err) < 0)
                goto failed;
            w->in_len = 0;
        }
    }
    return 0;
failed:
    w->is_failed = true;
    return -1;
}

int kn_comp_writer_finish(kn_comp_writer *w, kn_comp_result *out, kn_err *err)
{
    if (!w->is_finished) {
        if (writer_usable(w, err) < 0)
            return -1;
        if (w->kind != KN_COMP_NONE && compress_piece(w, w->in, w->in_len, true, err) < 0) {
            w->is_failed = true;
            return -1;
        }
        w->in_len = 0;
        int e = w->queue ? queue_finish(w) : 0;
        if (e) {
            w->is_failed = true;
            return kn_errf(err, e, "%s: write compressed stream", kn_comp_name(w->kind));
        }
        kn_sha256_final_digest(&w->plain_hash, &w->result.plain);
        kn_sha256_final_digest(&w->blob_hash, &w->result.blob);
        w->result.plain_size = w->plain_size;
        w->result.blob_size = w->blob_size;
        w->is_finished = true;
    }
    *out = w->result;
    return 0;
}
