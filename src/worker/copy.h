/* COPY's file operations (SEMANTICS 6.2, 6.3): sources resolved inside
 * their root (context, stage or image), placed into a destination root by
 * BuildKit's rules, every file touched through directory fds. */
#ifndef KN_WORKER_COPY_H
#define KN_WORKER_COPY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/vec.h"

/* A parsed --chmod (F-18), plain data that may be copied. Every change a
 * mode string makes keeps the r, w and x columns apart (a column: that bit
 * of user, group and other, a pattern 0..7 with user high), so the whole
 * string is kept as its effect: in all three columns, to[x][p] is what
 * pattern p becomes, x saying whether X applies to the entry. */
typedef struct kn_chmod {
    bool is_octal; /* `octal` replaces all 07777 bits; it also makes parents (F-12) */
    mode_t octal;
    uint16_t to[2][8];
    mode_t set_special, clear_special; /* of 07000 */
} kn_chmod;

/* Parses --chmod: octal up to 07777, or symbolic chmod(1) clauses as BuildKit
 * reads them (no umask: `+x` is `a+x`; X for directories and files executable
 * by someone before the change). KN_EINPUT: a value starting with a digit
 * that is not such an octal gives BuildKit's `invalid chmod parameter: ...
 * it should be octal string and between 0 and 07777`; a bad symbolic value
 * `invalid chmod parameter: '<v>': invalid syntax`. */
int kn_chmod_parse(const char *text, kn_chmod *out, kn_err *err);

/* The permission bits (07777, with setuid, setgid and sticky) an entry of
 * mode `old_mode` (file type bits ignored) gets from `c`. */
mode_t kn_chmod_apply(const kn_chmod *c, mode_t old_mode, bool is_dir);

typedef struct kn_copy_opts {
    bool has_chown; /* --chown: every entry and created parent gets uid:gid */
    uint32_t uid, gid;
    bool has_chmod; /* --chmod: files and directories copied */
    kn_chmod chmod;
    bool keep_owner; /* from a stage or image; else 0:0 (from the context, F-13) */
    /* F-8: a context path (relative, "dir/file") that does not exist for
     * COPY; NULL excludes nothing. `may_reinclude`: an excluded directory is
     * still walked, since a later pattern may bring entries below it back. */
    bool (*is_excluded)(void *ctx, const char *path);
    void *exclude_ctx;
    bool may_reinclude;
    const atomic_int *cancel; /* non-zero: stop before the next entry (EINTR); may be NULL */
} kn_copy_opts;

/* Expands a source (F-3, F-4): cleaned and rooted; a pattern (`*`, `?`, `[`)
 * is matched per component while walking srcroot (borrowed). Matches are
 * appended to `out` in sorted order; a pattern may match nothing (F-5), a
 * plain path is appended as is (its existence is checked by kn_copy). */
int kn_copy_expand(int srcroot, const char *source, const kn_copy_opts *opts, kn_strvec *out,
                   kn_err *err);

/* Copies `src` (a path in srcroot; symlinks followed inside the root, F-6)
 * to `dest` (absolute, in dstroot) per F-7 and F-10: a directory's contents,
 * a file into `dest/` when `dest_is_dir` or dest is a directory, else as
 * dest. Missing parents are created 0755, or with an octal --chmod (F-12);
 * the entries copied get --chmod applied to their own mode. Errors use
 * BuildKit's gist: `"/x": not found`, `cannot copy to non-directory: /d`. */
int kn_copy(int srcroot, const char *src, int dstroot, const char *dest, bool dest_is_dir,
            const kn_copy_opts *opts, kn_err *err);

/* ADD of a local archive (F-22): when `src` (in srcroot) is a tar, plain,
 * gzip or zstd (by content, never by name), extracts it into the directory
 * `dest` (created as F-12 says) with the archive's owners and modes, through
 * the same safe extraction as layers, and sets *is_archive. Otherwise does
 * nothing and clears *is_archive. */
int kn_copy_unpack(int srcroot, const char *src, int dstroot, const char *dest,
                   const kn_copy_opts *opts, bool *is_archive, kn_err *err);

#endif
