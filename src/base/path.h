/* Paths: lexical helpers with Go's semantics (BuildKit computes paths with
 * Go's path package), and file access relative to a directory fd that can
 * never leave that directory (STYLE section 5).
 *
 * The *_in_root / *at functions treat `rootfd` as "/": an absolute path or
 * symlink target starts there, ".." stops there. They use openat2(2) with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS and, where openat2 is missing
 * (kernels before 5.6, seccomp filters that block it), walk the path one
 * component at a time with O_NOFOLLOW, resolving symlinks themselves inside
 * the root (like crun's safe_openat). The walk is safe
 * against what is stored in the tree (hostile symlinks in layers, contexts
 * and archives); unlike openat2 it cannot fully guard against directories
 * being renamed by another process while it runs, though it detects a ".."
 * that lands somewhere unexpected. Every fd returned is O_CLOEXEC. */
#ifndef KN_BASE_PATH_H
#define KN_BASE_PATH_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- lexical ---- */

/* Go's path.Clean: the shortest equivalent path (one slash between names, no
 * "." names, ".." only leading a relative path, "/.." is "/", "" is ".").
 * Returns a new string; caller frees. */
char *kn_path_clean(const char *path);

/* Go's path.Join(a, b): a and b joined by "/" and cleaned; empty elements are
 * ignored and "" results when both are empty. An absolute b still lands
 * under a ("a" + "/b" is "a/b"). Returns a new string; caller frees. */
char *kn_path_join(const char *a, const char *b);

/* True when path is relative and, read lexically, never climbs above where it
 * starts ("a/../b" is within, "a/../../b", ".." and "/a" are not). */
bool kn_path_is_within(const char *path);

/* ---- inside a root directory ---- */

/* Open path (flags and mode as for openat(2); O_CLOEXEC is added) with rootfd
 * as its root. Returns a new fd, or -1 with err carrying the errno: ELOOP for
 * symlink loops or a final symlink under O_NOFOLLOW, ENOENT for "". */
int kn_openat_in_root(int rootfd, const char *path, int flags, mode_t mode, kn_err *err);

/* Tests only: true makes kn_openat_in_root, and everything below built on it,
 * take the component-by-component walk, as where openat2 is missing. */
void kn_path_force_walk(bool force);

/* mkdir -p inside rootfd: create each missing directory of path with mode
 * (minus the umask). Symlinks on the way are followed inside the root only;
 * an existing non-directory fails with ENOTDIR. */
int kn_mkdirat_p(int rootfd, const char *path, mode_t mode, kn_err *err);

/* Append the contents of the regular file at path (resolved inside dirfd) to
 * out. Fails with EFBIG beyond max_size bytes, EINVAL for anything but a
 * regular file (a FIFO would block); out keeps its old contents on failure. */
int kn_read_fileat(int dirfd, const char *path, size_t max_size, kn_buf *out, kn_err *err);

/* Durably replace the file at name (resolved inside dirfd; its directory must
 * exist) with len bytes of data and exactly `mode` (the umask does not apply):
 * write a temporary file in the same directory, fsync it, rename it over
 * name, fsync the directory. A symlink at name is replaced, not followed.
 * Readers see the old or the new contents, never a mix. */
int kn_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         kn_err *err);

#endif
