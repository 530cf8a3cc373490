/* File system helpers that work through directory file descriptors. */
#ifndef KN_BASE_FS_H
#define KN_BASE_FS_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct kn_strvec;
/* Appends the names in the directory `dirfd` (borrowed; "." and ".."
 * left out) to `out`, in the order readdir gives them. */
int kn_dir_names(int dirfd, struct kn_strvec *out, kn_err *err);

/* Removes `name` in `dirfd` and, when it is a directory, everything below it,
 * never following a symlink. A missing `name` is not an error; a read-only
 * directory on the way is made writable first. */
int kn_remove_tree(int dirfd, const char *name, kn_err *err);

/* Bytes used by the regular files below `dirfd` (st_size, hardlinks counted
 * once), as `docker images` counts an image's size. */
int kn_tree_size(int dirfd, uint64_t *size, kn_err *err);

/* write() all of `data`, retrying on EINTR and short writes. */
int kn_write_all(int fd, const void *data, size_t len, kn_err *err);

#endif
