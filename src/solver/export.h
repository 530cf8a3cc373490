/* Exporters for `kiln build --output`: a built image written out as a
 * docker-archive or OCI archive, an OCI layout directory, or its root
 * filesystem as a plain directory. */
#ifndef KN_SOLVER_EXPORT_H
#define KN_SOLVER_EXPORT_H

#include "base/err.h"
#include "store/store.h"

typedef enum kn_export_kind {
    KN_EXPORT_IMAGE,      /* the store only (the default) */
    KN_EXPORT_DOCKER,     /* docker-archive tar at dest ("-": standard output) */
    KN_EXPORT_OCI,        /* OCI archive tar at dest */
    KN_EXPORT_OCI_LAYOUT, /* OCI image layout directory at dest */
    KN_EXPORT_LOCAL,      /* the image's files in the directory dest */
} kn_export_kind;

typedef struct kn_export_spec {
    kn_export_kind kind;
    char *dest; /* owned; NULL for KN_EXPORT_IMAGE */
    char *name; /* type=image,name=N: an extra name, normalised; owned */
} kn_export_spec;

/* Parses an --output value as docker does: "type=docker,dest=f.tar",
 * "type=local,dest=dir", "type=image,name=x", or a bare path (local).
 * Errors are KN_EUSAGE. */
int kn_export_parse(const char *value, kn_export_spec *out, kn_err *err);
void kn_export_spec_free(kn_export_spec *spec);

/* Writes image `ref` (a name or an ID in the store) as the spec says. */
int kn_export_run(kn_store *s, const char *ref, const kn_export_spec *spec, kn_err *err);

#endif
