/* Layer compression: detect, decompress (gzip through ISA-L's igzip, zstd
 * through libzstd) and compress (gzip through igzip), hashing the bytes on
 * both sides so callers get a blob digest and a diff ID in one pass. */
#ifndef KN_STORE_COMPRESS_H
#define KN_STORE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/digest.h"
#include "base/err.h"

typedef enum kn_comp {
    KN_COMP_NONE,
    KN_COMP_GZIP,
    KN_COMP_ZSTD,
} kn_comp;

/* Guesses the compression from the first bytes of a stream (gzip 1f 8b,
 * zstd 28 b5 2f fd); anything else is KN_COMP_NONE. */
kn_comp kn_comp_detect(const void *head, size_t len);

/* "gzip", "zstd" or "none". */
const char *kn_comp_name(kn_comp kind);

/* Reads plain bytes from a file descriptor whose content is compressed with
 * `kind` (KN_COMP_NONE passes bytes through). Borrows `fd`. The plain bytes
 * are hashed as they are returned: kn_decomp_finish gives their digest and
 * size (the layer's diff ID). Concatenated gzip members are read as one
 * stream, as Go's gzip reader does. */
typedef struct kn_decomp kn_decomp;

kn_decomp *kn_decomp_new(int fd, kn_comp kind, kn_err *err);
/* Returns bytes read (0 at the end of the stream), -1 on a read error or
 * corrupt data ("gzip: invalid data at offset N"). */
ssize_t kn_decomp_read(kn_decomp *d, void *buf, size_t len, kn_err *err);
/* Drains what is left (a tar ends before its compressed stream does), then
 * gives the digest and size of all plain bytes. */
int kn_decomp_finish(kn_decomp *d, kn_digest *plain_digest, uint64_t *plain_size, kn_err *err);
void kn_decomp_free(kn_decomp *d);

/* Writes a compressed stream to `fd` (borrowed). Both sides are hashed:
 * `blob` is the digest of the bytes written to fd, `plain` (the diff ID) of
 * the bytes given. Output is deterministic for the same input and level
 * (gzip header: mtime 0, no name). */
typedef struct kn_comp_writer kn_comp_writer;

kn_comp_writer *kn_comp_writer_new(int fd, kn_comp kind, kn_err *err);
int kn_comp_writer_write(kn_comp_writer *w, const void *data, size_t len, kn_err *err);
typedef struct kn_comp_result {
    kn_digest blob;
    uint64_t blob_size;
    kn_digest plain;
    uint64_t plain_size;
} kn_comp_result;
int kn_comp_writer_finish(kn_comp_writer *w, kn_comp_result *out, kn_err *err);
void kn_comp_writer_free(kn_comp_writer *w);

#endif
