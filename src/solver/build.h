/* Building images: the stages a graph needs, in dependency order, each
 * instruction applied to the stage's filesystem (overlay snapshots over
 * store layers; RUN through the OCI runtime; COPY through directory fds)
 * and config (SEMANTICS part 7), the targets recorded in the store. */
#ifndef KN_SOLVER_BUILD_H
#define KN_SOLVER_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "base/digest.h"
#include "base/err.h"
#include "frontend/graph.h"
#include "store/store.h"

typedef enum kn_build_event_kind {
    KN_BUILD_STEP_START,    /* a step begins: text, stage, index/count */
    KN_BUILD_STEP_OUTPUT,   /* output of the step's process: data/len */
    KN_BUILD_STEP_DONE,     /* the step finished: seconds */
    KN_BUILD_STEP_ERROR,    /* the step failed: message */
    KN_BUILD_STEP_CANCELED, /* stopped because another step failed or the build was
                               interrupted: seconds */
    KN_BUILD_TICK,          /* time passes (about every 50 ms while steps run): no step,
                               for live views whose timers should move */
} kn_build_event_kind;

typedef struct kn_build_event {
    kn_build_event_kind kind;
    int step;          /* 1-based, unique in the build */
    const char *stage; /* display name: AS name or stage-N */
    size_t index;      /* 1-based position in the stage (FROM is 1) */
    size_t count;      /* instructions in the stage, FROM included */
    const char *text;  /* "RUN echo hi", "FROM docker.io/library/bb:latest" */
    const char *data;  /* output bytes, not NUL-terminated */
    size_t len;
    double seconds;
    const char *message;
} kn_build_event;

typedef void (*kn_build_event_fn)(void *ctx, const kn_build_event *ev);

/* A requested target and the names to give its image (normalised). */
typedef struct kn_build_output {
    size_t stage;
    const char *const *names;
    size_t n_names;
} kn_build_output;

typedef struct kn_build_opts {
    const kn_graph *graph;                /* borrowed; its targets are built */
    int context_fd;                       /* the build context directory; borrowed */
    const struct kn_dockerignore *ignore; /* the context's .dockerignore (F-8); NULL: none */
    const char *const *build_args;        /* "K=V" */
    size_t n_build_args;
    const kn_build_output *outputs; /* one per target */
    size_t n_outputs;
    const char *runtime; /* NULL: kn_runtime_find */
    bool network_none;
    size_t jobs;                         /* stages built side by side; 0: the number of CPUs */
    const volatile sig_atomic_t *cancel; /* non-zero (set by a signal handler): stop the
                                            running step, clean up, fail; may be NULL */
    kn_build_event_fn event;             /* NULL: quiet */
    void *event_ctx;
} kn_build_opts;

/* Builds the outputs' stages (and what they need, once each) and records
 * each output as an image named by its names. ids[i] gets output i's image
 * ID. A failing step gives KN_EFAILED with BuildKit's message at
 * FILE:LINE; a bad instruction KN_EINPUT. */
int kn_build_run(kn_store *s, const kn_build_opts *opts, kn_digest *ids, kn_err *err);

#endif
