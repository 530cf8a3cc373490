/* Unpacking layer tarballs safely into a directory that will be an overlay
 * lower directory.
 *
 * No entry can create, change or follow anything outside `dirfd`: absolute
 * names are made relative (as tar does), a `..` that climbs out is refused,
 * parents are opened one component at a time with O_NOFOLLOW (a symlink among
 * them is refused, not followed), the last component is never followed,
 * hardlinks must point inside, and an entry replaces whatever is in its way
 * (a directory only by a non-directory). OCI whiteouts become overlay
 * whiteouts: `.wh.NAME` a 0/0 character device NAME, `.wh..wh..opq` the
 * `trusted.overlay.opaque=y` xattr on its directory. Owner, mode, mtime,
 * xattrs, hardlinks, sparse files and device nodes are kept (owners and
 * devices only when running as root). */
#ifndef KN_STORE_EXTRACT_H
#define KN_STORE_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Supplies the plain (uncompressed) tar bytes: fills up to `len` bytes of
 * `buf`, returns the count, 0 at the end, -1 with `err` set on failure. */
typedef ssize_t (*kn_read_fn)(void *ctx, void *buf, size_t len, kn_err *err);

typedef struct kn_extract_opts {
    bool as_root; /* chown entries, create device nodes, set non-user xattrs; else a
                     character or block device fails with EPERM */
} kn_extract_opts;

typedef struct kn_extract_stats {
    uint64_t n_entries;
    uint64_t n_bytes; /* file content bytes written */
} kn_extract_stats;

/* Unpacks the tar stream from `read` into the directory `dirfd` (borrowed),
 * which should be empty. Errors name the entry:
 * "entry ../x: escapes the layer". `stats` may be NULL. */
int kn_extract_tar(int dirfd, kn_read_fn read, void *ctx, const kn_extract_opts *opts,
                   kn_extract_stats *stats, kn_err *err);

#endif
