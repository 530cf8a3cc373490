/* Build progress for people and for programs: a renderer of the build's
 * event stream (solver/build.h) in one of four shapes. Plain writes
 * BuildKit's --progress=plain lines, so CI logs read as users expect; tty
 * redraws a live view in place; json writes one object per line; quiet
 * writes nothing until a step fails. Whatever the mode, a failing step's
 * output is shown in full. */
#ifndef KN_CLI_PROGRESS_H
#define KN_CLI_PROGRESS_H

#include "base/err.h"
#include "solver/build.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum kn_progress_mode {
    KN_PROGRESS_PLAIN, /* "#N [stage i/n] RUN ...", "#N 0.123 out", "#N DONE 0.4s" */
    KN_PROGRESS_TTY,   /* a live view redrawn with ANSI escapes */
    KN_PROGRESS_JSON,  /* {"step":N,"event":"start",...} per line */
    KN_PROGRESS_QUIET, /* nothing but the failing step */
} kn_progress_mode;

typedef struct kn_progress kn_progress;

/* The mode a --progress value names; "auto" is tty when is_terminal, else
 * plain. Fails with KN_EUSAGE for any other name. */
int kn_progress_parse_mode(const char *name, bool is_terminal, kn_progress_mode *mode, kn_err *err);

/* A renderer writing to out (borrowed; it must outlive the renderer). */
kn_progress *kn_progress_new(kn_progress_mode mode, FILE *out);

/* Renders one event; ctx is the kn_progress (a kn_build_event_fn). Steps
 * may run at the same time, their events interleaved; an event for a step
 * that has not started or has already ended is ignored. Holds no lock:
 * callers on several threads serialise their calls. */
void kn_progress_event(void *ctx, const kn_build_event *ev);

/* A warning about the Dockerfile or the build (one line, no newline). */
void kn_progress_warning(kn_progress *p, const char *msg);

/* A built image: its ID and the names it was given ("writing image ID done",
 * "naming to NAME done"; json: {"event":"image","id":...,"names":[...]}). */
void kn_progress_image(kn_progress *p, const char *id, const char *const *names, size_t n_names);

/* Writes what is still pending (the tty view's last frame, partial output
 * lines; in tty, steps that never ended show as canceled) and frees the
 * renderer. NULL is allowed. */
void kn_progress_free(kn_progress *p);

#endif
