/* Writing a directory tree as a layer tarball: deterministic bytes (entries
 * sorted by name, PAX headers only where needed, no atime/ctime), read
 * through directory file descriptors with O_NOFOLLOW, hardlinks kept as tar
 * hardlinks, xattrs kept. Overlay whiteouts in the tree (0/0 character
 * devices, the trusted.overlay.opaque xattr) can be turned into OCI
 * `.wh.` entries, so an overlay upper directory becomes a layer. */
#ifndef KN_STORE_TARWRITE_H
#define KN_STORE_TARWRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Consumes `len` bytes of tar output; returns 0 or -1 with `err` set. */
typedef int (*kn_write_fn)(void *ctx, const void *data, size_t len, kn_err *err);

typedef struct kn_tarwrite_opts {
    bool overlay_whiteouts; /* turn overlay whiteouts into OCI whiteouts */
    bool clamp_mtime;       /* mtimes later than `mtime_max` become `mtime_max` */
    int64_t mtime_max;      /* SOURCE_DATE_EPOCH */
} kn_tarwrite_opts;

/* Writes every entry below `dirfd` (borrowed; the directory itself is not
 * an entry) as a tar stream to `write`. `opts` may be NULL. */
int kn_tarwrite_tree(int dirfd, const kn_tarwrite_opts *opts, kn_write_fn write, void *ctx,
                     kn_err *err);

#endif
