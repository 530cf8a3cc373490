/* Snapshots for build steps: an overlay mount whose lower directories are
 * unpacked store layers and whose upper directory becomes the step's layer.
 *
 * Any number of lower layers works: the kernel's limit on the mount option
 * string (one page) is avoided with the new mount API's `lowerdir+` (Linux
 * 6.8+), falling back to short relative paths from the layers directory. */
#ifndef KN_WORKER_SNAPSHOT_H
#define KN_WORKER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/digest.h"
#include "base/err.h"
#include "store/store.h"

typedef struct kn_snapshot {
    char *dir;    /* the snapshot's private directory (in the store's work dir); owned */
    char *merged; /* absolute path of the mounted root; owned */
    int upperfd;  /* the upper directory (O_DIRECTORY) */
    bool is_mounted;
} kn_snapshot;

/* Mounts an overlay of the store layers `lowers` (bottom first, as in an
 * image config's diff_ids; recorded layers only) with a fresh upper
 * directory, in a new directory under the store's work directory. With no
 * lowers, the root starts empty (FROM scratch). */
kn_snapshot *kn_snapshot_mount(kn_store *s, const kn_digest *lowers, size_t n_lowers, kn_err *err);

/* Unmounts (lazily if busy); the upper directory stays for kn_snapshot_commit. */
int kn_snapshot_unmount(kn_snapshot *snap, kn_err *err);

/* Turns the upper directory into a layer: writes it as a tar (overlay
 * whiteouts become OCI whiteouts, entries sorted; mtimes clamped to
 * `source_date_epoch` when >= 0), gzip-compressed into a blob, and moves
 * the upper tree itself under layers/ as the unpacked layer, recorded with
 * its diff ID. When the upper directory holds nothing: with `keep_empty`
 * the empty layer (a tar of two zero blocks) is stored, as BuildKit stores
 * one for a step that changed nothing; else *is_empty is set and nothing is
 * stored. The snapshot must be unmounted. */
int kn_snapshot_commit(kn_store *s, kn_snapshot *snap, int64_t source_date_epoch, bool keep_empty,
                       kn_store_layer *out, bool *is_empty, kn_err *err);

/* Unmounts if needed and removes the snapshot's directory. NULL is ok. */
void kn_snapshot_free(kn_snapshot *snap);

/* Unmounts every overlay a killed kiln left mounted under the store's tmp/
 * (read from /proc/self/mountinfo). */
void kn_snapshot_sweep_mounts(kn_store *s);

/* Tests only: true makes kn_snapshot_mount use mount(2) with an option
 * string, as on kernels without `lowerdir+`. */
void kn_snapshot_force_legacy_mount(bool force);

#endif
