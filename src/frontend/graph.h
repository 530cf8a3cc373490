/* The stage graph, per SEMANTICS parts 4 (A-, ARG scoping) and 5 (G-, stage
 * graph): the global ARG scope with the predefined platform args and build
 * args, every stage's FROM expanded and resolved to a stage, an image, a
 * named context or scratch, the `COPY --from` and `RUN --mount from=` edges,
 * the requested targets, and which stages a build needs and why. Nothing is
 * pulled or run: this is what `kiln plan` prints and `kiln build` follows.
 *
 * Ownership: a kn_graph owns everything in it except `d` and the kn_instr
 * pointers, which it borrows: the kn_dockerfile (and its kn_df) must outlive
 * the graph. */
#ifndef KN_FRONTEND_GRAPH_H
#define KN_FRONTEND_GRAPH_H

#include "base/err.h"
#include "base/vec.h"
#include "frontend/instr.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum kn_graph_base_kind {
    KN_GRAPH_BASE_SCRATCH,
    KN_GRAPH_BASE_IMAGE,
    KN_GRAPH_BASE_STAGE,
    KN_GRAPH_BASE_CONTEXT,
} kn_graph_base_kind;

typedef enum kn_graph_edge_kind {
    KN_GRAPH_EDGE_FROM,  /* the stage's base (G-5) */
    KN_GRAPH_EDGE_COPY,  /* COPY --from (G-11) */
    KN_GRAPH_EDGE_MOUNT, /* RUN --mount from= (G-12) */
} kn_graph_edge_kind;

typedef enum kn_graph_context_kind {
    KN_GRAPH_CONTEXT_IMAGE,      /* docker-image://REF */
    KN_GRAPH_CONTEXT_OCI_LAYOUT, /* oci-layout://DIR[:TAG|@DIGEST] */
    KN_GRAPH_CONTEXT_TARGET,     /* target:STAGE [kiln] (G-17) */
    KN_GRAPH_CONTEXT_URL,        /* git or http(s) URL */
    KN_GRAPH_CONTEXT_LOCAL,      /* a local directory */
} kn_graph_context_kind;

/* A `--build-context NAME=SRC` (G-15 .. G-17). */
typedef struct kn_graph_context {
    char *name;   /* as given; owned */
    char *source; /* SRC as given; owned */
    kn_graph_context_kind kind;
    char *image; /* IMAGE: the reference in familiar form with a tag ("x:latest"); else NULL */
    long stage;  /* TARGET: the stage index; else -1 */
} kn_graph_context;

/* One dependency of a stage. */
typedef struct kn_graph_edge {
    kn_graph_edge_kind kind;
    const kn_instr *instr; /* the FROM, COPY or RUN (borrowed) */
    char *value;           /* the --from / from= value as written, or the expanded base */
    long stage;            /* the stage it needs (also through a target: context), or -1 */
    char *image;           /* an image in familiar form ("alpine:latest"), or NULL */
    long context;          /* index into kn_graph.contexts, or -1 */
} kn_graph_edge;

typedef struct kn_graph_stage {
    size_t index;
    const kn_instr_stage *stage; /* borrowed */
    char *name;                  /* display name: the AS name or "stage-<i>" (G-1) */
    bool has_name;               /* AS given */
    char *base;                  /* FROM base after expansion with the global scope (G-3) */
    kn_graph_base_kind base_kind;
    char *base_ref;   /* image: familiar form with tag; stage: its name; context: the
                         source; scratch: "scratch" */
    char *base_full;  /* image: full form ("docker.io/library/alpine:latest"); else NULL */
    long base_stage;  /* STAGE: the stage index; else -1 */
    long context;     /* the context replacing the stage or its base, or -1 */
    bool is_replaced; /* a named context replaces the whole stage (G-16) */
    char *platform;   /* os/arch[/variant] the stage builds for */
    KN_VEC(kn_graph_edge) edges; /* FROM edge first (none for scratch), then file order */
    bool is_needed;              /* reachable from a target (G-20) */
    kn_strvec needed_by;         /* display names of the targets that reach it, in order */
    char *reason;                /* why it is built or skipped, one line */
} kn_graph_stage;

typedef struct kn_graph {
    const kn_dockerfile *d; /* borrowed */
    KN_VEC(kn_graph_stage) stages;
    KN_VEC(size_t) targets;            /* requested target stages, duplicates removed */
    KN_VEC(kn_graph_context) contexts; /* in the order given */
    kn_strvec images;                  /* images the build needs, familiar form, sorted */
    kn_strvec warnings;                /* e.g. unconsumed build args */
    kn_strvec global_scope;            /* "K=V": the global scope after global ARGs */
    char *build_platform;              /* os/arch[/variant] */
    char *target_platform;
    struct kn_map *stage_by_name; /* private: lowercased name -> index + 1 */
} kn_graph;

typedef struct kn_graph_opts {
    const char *const *build_args; /* "K=V" (K alone: empty value); later ones win */
    size_t n_build_args;
    const char *const *contexts; /* "NAME=SRC" */
    size_t n_contexts;
    const char *const *targets; /* stage names (case-insensitive); none: the last stage */
    size_t n_targets;
    const char *platform; /* build and target platform; NULL: this host */
} kn_graph_opts;

/* Build the graph of d for the options. Errors are KN_EINPUT with BuildKit's
 * message, at FILE:LINE when a Dockerfile line is at fault (E-1, G-23), the
 * first in BuildKit's order (G-21). Returns a new graph (kn_graph_free). */
kn_graph *kn_graph_build(const kn_dockerfile *d, const kn_graph_opts *opts, kn_err *err);

void kn_graph_free(kn_graph *g);

/* This host's platform, normalised: "linux/amd64", "linux/arm64",
 * "linux/arm/v7". New string. */
char *kn_graph_host_platform(void);

/* Parse and normalise a platform string ("linux/x86_64" -> "linux/amd64",
 * "arm64" -> "<host os>/arm64"). host fills missing parts. *out is new.
 * Errors are KN_EINPUT without the `failed to parse platform` prefix. */
int kn_graph_parse_platform(const char *s, const char *host, char **out, kn_err *err);

/* The graph as `kiln plan --format json` prints it:
 * {"targets": ["kiro"],
 *  "platform": "linux/amd64",
 *  "stages": [{"index": 0, "name": "local_builder" | null, "line": 8,
 *              "base": {"kind": "image" | "stage" | "context" | "scratch", "ref": "deb:local",
 *                       "full": "docker.io/library/deb:local" (images only)},
 *              "platform": "linux/amd64",
 *              "action": "build" | "skip", "reason": "...", "needed_by": ["kiro"],
 *              "edges": [{"kind": "from" | "copy" | "mount", "stage": "builder" | null,
 *                         "image": "alpine:latest" | null, "context": "name" | null,
 *                         "line": 12}]}],
 *  "images": ["bb:local", "deb:local"],
 *  "warnings": []}
 * Appended to out as one compact line. */
struct kn_buf;
void kn_graph_write_json(const kn_graph *g, struct kn_buf *out);

#endif
