/* Typed Dockerfile instructions, per SEMANTICS part 3 (I-1 .. I-32): the
 * parser's nodes (frontend/df.h) checked and shaped into one struct per
 * instruction, grouped into global ARGs and stages. Everything here is the
 * text as written: nothing is expanded (that needs the stage env, X-15), so
 * the stage graph, `kiln plan`, `kiln check` and the build engine all start
 * from the same values.
 *
 * Ownership: a kn_dockerfile owns its instructions; every kn_instr borrows
 * its kn_df_node, so the kn_df must outlive the kn_dockerfile. Pointers
 * marked "borrowed" point into the instruction itself or into the node. */
#ifndef KN_FRONTEND_INSTR_H
#define KN_FRONTEND_INSTR_H

#include "base/err.h"
#include "base/vec.h"
#include "frontend/df.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kn_instr_kind {
    KN_INSTR_FROM,
    KN_INSTR_RUN,
    KN_INSTR_CMD,
    KN_INSTR_ENTRYPOINT,
    KN_INSTR_SHELL,
    KN_INSTR_COPY,
    KN_INSTR_ADD,
    KN_INSTR_ENV,
    KN_INSTR_LABEL,
    KN_INSTR_ARG,
    KN_INSTR_EXPOSE,
    KN_INSTR_VOLUME,
    KN_INSTR_USER,
    KN_INSTR_WORKDIR,
    KN_INSTR_STOPSIGNAL,
    KN_INSTR_HEALTHCHECK,
    KN_INSTR_ONBUILD,
    KN_INSTR_MAINTAINER,
} kn_instr_kind;

#define KN_INSTR_N_KINDS (KN_INSTR_MAINTAINER + 1)

/* ---- flags (I-2, I-3) ---- */

typedef enum kn_instr_flag_type {
    KN_FLAG_STRING,  /* --name=value, once */
    KN_FLAG_BOOL,    /* --name, --name=true|false (any case), once */
    KN_FLAG_STRINGS, /* --name=value, repeatable */
} kn_instr_flag_type;

/* One flag the instruction accepts, given or not. */
typedef struct kn_instr_flag {
    const char *name; /* without "--", static */
    kn_instr_flag_type type;
    bool is_set;      /* given at least once */
    char *value;      /* STRING: the value, or the default ("" for most) when not given;
                         BOOL: "true" or "false"; STRINGS: NULL */
    kn_strvec values; /* STRINGS: every value in order; else empty */
} kn_instr_flag;

#define KN_INSTR_MAX_FLAGS 8

/* ---- per-kind fields ---- */

/* FROM [--platform=P] base [AS name] (I-5). */
typedef struct kn_instr_from {
    char *base;            /* as written, unexpanded */
    char *name;            /* AS name lowercased, NULL without AS */
    char *name_as_written; /* AS name as written (L-1), NULL without AS */
    const char *platform;  /* borrowed from the flag; NULL when absent or empty */
} kn_instr_from;

/* A command line: RUN, CMD, ENTRYPOINT, SHELL (I-19, I-22). */
typedef struct kn_instr_cmdline {
    bool is_exec;   /* JSON (exec) form: argv is the command, no shell */
    kn_strvec argv; /* exec form: the JSON strings (possibly none; items may hold NUL) */
    char *text;     /* shell form: the text after the flags, verbatim ("" when there is
                       none, I-19); NULL in exec form */
} kn_instr_cmdline;

/* A --mount value with what BuildKit reads of it at parse time (G-12). */
typedef struct kn_instr_mount_ref {
    const char *raw; /* the --mount value as written, borrowed from the flag */
    char *from;      /* the from= field, unexpanded; NULL when none */
} kn_instr_mount_ref;

typedef struct kn_instr_run {
    kn_instr_cmdline cmd;
    KN_VEC(kn_instr_mount_ref) mounts; /* one per --mount, in order */
    const char *network;               /* "default" | "none" | "host" (I-28), borrowed */
    const char *security;              /* "sandbox" | "insecure" (I-28), borrowed */
    const kn_strvec *devices;          /* raw --device values (labs only, I-28: the engine
                                          rejects a RUN that has any), borrowed */
} kn_instr_run;

/* A heredoc used as a COPY/ADD source (F-14). */
typedef struct kn_instr_heredoc_src {
    const kn_df_heredoc *heredoc; /* borrowed; NULL when the body was not found */
    char *name;                   /* the file name (the delimiter) */
    char *data;                   /* body, leading tabs removed for <<- (P-34) */
    bool expand;                  /* expand the body */
} kn_instr_heredoc_src;

/* COPY and ADD (I-21, section 6). String flags are borrowed and NULL when
 * absent or empty (BuildKit treats `--from=` as unset, I-3). */
typedef struct kn_instr_copy {
    kn_strvec sources;                     /* path sources, unexpanded, in order */
    KN_VEC(kn_instr_heredoc_src) heredocs; /* heredoc sources, in order */
    char *dest;                            /* unexpanded */
    const char *from;                      /* COPY only */
    const char *chown;
    const char *chmod;
    const char *checksum; /* ADD only */
    bool link;
    bool parents;                        /* COPY only */
    bool has_keep_git_dir, keep_git_dir; /* ADD only; has_ = given */
    bool has_unpack, unpack;             /* ADD only; has_ = given */
    const kn_strvec *excludes;           /* --exclude patterns, borrowed */
} kn_instr_copy;

typedef struct kn_instr_kv {
    char *key;
    char *value; /* raw: quotes and escapes are removed by expansion (P-27) */
} kn_instr_kv;

/* ENV and LABEL (I-7, I-8). */
typedef struct kn_instr_kvs {
    KN_VEC(kn_instr_kv) pairs;
    bool is_legacy; /* `ENV k v` form (one pair, L-13) */
} kn_instr_kvs;

typedef struct kn_instr_arg_def {
    char *key;   /* not validated beyond non-empty (P-28) */
    char *value; /* default, raw; NULL when none (`ARG k`), "" for `ARG k=` */
} kn_instr_arg_def;

typedef struct kn_instr_args {
    KN_VEC(kn_instr_arg_def) defs;
} kn_instr_args;

/* HEALTHCHECK (I-18). Durations are nanoseconds, 0 when not given. */
typedef struct kn_instr_healthcheck {
    bool is_none;
    kn_strvec test; /* config Test: ["NONE"], ["CMD", argv...] or ["CMD-SHELL", text] */
    int64_t interval, timeout, start_period, start_interval;
    int32_t retries;
} kn_instr_healthcheck;

typedef struct kn_instr kn_instr;

/* ONBUILD (I-20). BuildKit checks only the trigger's keyword when the
 * ONBUILD is read; the trigger itself is parsed when a stage inherits it
 * (G-24). kiln parses it now for plan and check, but a trigger that does
 * not parse is not an error here [kiln: matches BuildKit]. */
typedef struct kn_instr_onbuild {
    char *expression;    /* trigger text: ONBUILD and blanks removed, heredoc bodies
                            re-attached as "\n" + body + delimiter */
    kn_instr *trigger;   /* the trigger parsed, or NULL when it does not parse */
    char *trigger_error; /* why it does not parse (no position), or NULL */
} kn_instr_onbuild;

struct kn_instr {
    kn_instr_kind kind;
    const kn_df_node *node; /* borrowed: original text, comments, raw flags/args */
    int line;               /* first line (an ONBUILD trigger: the ONBUILD's line) */
    int end_line;           /* last line, heredoc bodies included */
    /* Heredocs of the instruction (of the ONBUILD line for a trigger), borrowed. */
    const kn_df_heredoc *heredocs;
    size_t n_heredocs;
    /* The flags this kind accepts, in BuildKit's order, each marked given or
     * not. Empty for ARG, STOPSIGNAL and HEALTHCHECK NONE, which ignore their
     * flags (I-4). */
    kn_instr_flag flags[KN_INSTR_MAX_FLAGS];
    size_t n_flags;
    union {
        kn_instr_from from;
        kn_instr_run run;
        kn_instr_cmdline cmd;   /* CMD, ENTRYPOINT */
        kn_instr_cmdline shell; /* SHELL: always exec form, >= 1 element */
        kn_instr_copy copy;     /* COPY, ADD */
        kn_instr_kvs env;       /* ENV, LABEL */
        kn_instr_args arg;
        kn_strvec ports;   /* EXPOSE: words as written, unexpanded, file order
                              (BuildKit sorts them for history, C-13) */
        kn_strvec volumes; /* VOLUME: trimmed, non-empty, unexpanded */
        char *value;       /* USER, WORKDIR, STOPSIGNAL, MAINTAINER: the text */
        kn_instr_healthcheck health;
        kn_instr_onbuild onbuild;
    };
};

/* A stage: FROM and the instructions up to the next FROM. */
typedef struct kn_instr_stage {
    size_t index;              /* 0-based, file order */
    const char *name;          /* lowercased AS name or NULL; borrowed from from->from.name */
    kn_instr *from;            /* the FROM instruction */
    KN_VEC(kn_instr *) instrs; /* the following instructions, in order */
} kn_instr_stage;

typedef struct kn_dockerfile {
    const kn_df *df;                 /* borrowed */
    KN_VEC(kn_instr *) global_args;  /* ARG instructions before the first FROM */
    KN_VEC(kn_instr_stage *) stages; /* at least one */
} kn_dockerfile;

/* Check every instruction of df and group them into global ARGs and stages.
 * Errors are KN_EINPUT at FILE:LINE with BuildKit's message, the first in
 * file order: instruction checks (P-22, I-2..I-5, I-7, I-13, I-15, I-18,
 * I-20, I-21, I-28, P-28, F-14, G-12), then I-1 in the same pass; then, over
 * the whole file, P-4 (no stage) and `COPY --from` with variables (G-10).
 * Returns a new kn_dockerfile (kn_instr_free_dockerfile); df is borrowed and
 * must outlive it. */
kn_dockerfile *kn_instr_parse_dockerfile(const kn_df *df, kn_err *err);

void kn_instr_free_dockerfile(kn_dockerfile *d);

/* Check one node (instruction-level rules only: no I-1, P-4 or G-10). path
 * is used in errors. Used for ONBUILD triggers downstream (G-24). Returns a
 * new kn_instr (kn_instr_free) borrowing node, or NULL with err set. */
kn_instr *kn_instr_parse(const kn_df_node *node, const char *path, kn_err *err);

void kn_instr_free(kn_instr *in);

/* "FROM", "RUN", ... (upper case, static). */
const char *kn_instr_kind_name(kn_instr_kind kind);

/* The kind for a keyword (any case); false when unknown. */
bool kn_instr_kind_lookup(const char *keyword, kn_instr_kind *out);

/* The flag `name` (without "--") of the instruction, or NULL when the kind
 * does not take it. Borrowed. */
const kn_instr_flag *kn_instr_get_flag(const kn_instr *in, const char *name);

/* Go's time.ParseDuration (I-18): "1m30s", "1.5h", "-2us", "0". Errors are
 * KN_EINPUT with Go's message, e.g. `time: missing unit in duration "1"`. */
int kn_instr_parse_duration(const char *s, int64_t *out_ns, kn_err *err);

/* ---- RUN --mount (I-30 .. I-32) ---- */

typedef enum kn_instr_mount_type {
    KN_INSTR_MOUNT_BIND,
    KN_INSTR_MOUNT_CACHE,
    KN_INSTR_MOUNT_TMPFS,
    KN_INSTR_MOUNT_SECRET,
    KN_INSTR_MOUNT_SSH,
} kn_instr_mount_type;

typedef enum kn_instr_mount_sharing {
    KN_INSTR_MOUNT_SHARING_UNSET, /* means shared for cache mounts */
    KN_INSTR_MOUNT_SHARING_SHARED,
    KN_INSTR_MOUNT_SHARING_PRIVATE,
    KN_INSTR_MOUNT_SHARING_LOCKED,
} kn_instr_mount_sharing;

/* A --mount value after expansion and key checks. Strings are owned and NULL
 * when not given; defaults that depend on the stage (WORKDIR, secret paths,
 * I-31, I-32) are the engine's to apply. */
typedef struct kn_instr_mount {
    kn_instr_mount_type type;
    char *from, *source, *target, *id, *env;
    bool readonly; /* after the per-type default (I-31) */
    bool required;
    kn_instr_mount_sharing sharing;
    int64_t size; /* tmpfs size in bytes, 0 when not given */
    bool has_mode, has_uid, has_gid;
    uint32_t mode, uid, gid;
} kn_instr_mount;

/* Expands one field value (X-16: Word mode with the stage env). *out is new;
 * return -1 with err set to fail. */
typedef int (*kn_instr_expand_fn)(void *ctx, const char *word, char **out, kn_err *err);

/* Parse a raw --mount value as BuildKit does when it runs the RUN: CSV
 * fields, keys case-insensitive, every value expanded through `expand`,
 * then the per-type checks (I-30, I-31, the secret rules of I-32). Errors are
 * KN_EINPUT with BuildKit's message and no position (add it with
 * kn_err_set_pos). Fills *out (kn_instr_mount_free). */
int kn_instr_parse_mount(const char *raw, kn_instr_expand_fn expand, void *ctx, kn_instr_mount *out,
                         kn_err *err);

void kn_instr_mount_free(kn_instr_mount *m);

/* ---- JSON (`kiln parse --format json`) ----
 *
 * {
 *   "escape": "\\",
 *   "args": [ {"key": "V", "default": "1" | null, "line": 1}, ... ],   global ARGs
 *   "stages": [ {
 *     "index": 0, "name": "builder" | null, "line": 2,
 *     "from": {"base": "golang:1.22", "name_as_written": "Builder" | null,
 *              "platform": "$BUILDPLATFORM" | null},
 *     "instructions": [ INSTR, ... ]          everything after FROM
 *   }, ... ]
 * }
 *
 * INSTR = {"kind": "run" (lowercase), "line": 3, "end_line": 5,
 *          "original": "RUN echo hi",
 *          "flags": {"mount": ["type=cache,target=/x"], "link": true, "from": "a"}
 *                  (only the flags given: repeatable -> array, bool -> bool, else string),
 *          "heredocs": [{"name": "EOF", "content": "...", "expand": true, "chomp": false}],
 *          ...fields of the kind}
 * Fields per kind (values unexpanded):
 *   run:         "exec": [...] | "shell": "text", "mounts": [raw...], "network", "security"
 *   cmd, entrypoint: "exec": [...] | "shell": "text"
 *   shell:       "exec": [...]
 *   copy, add:   "sources": [...], "heredoc_sources": [{"name", "content", "expand"}],
 *                "dest", "chown", "chmod" (string | null), "link", "exclude": [...];
 *                copy: "from" (string | null), "parents";
 *                add: "checksum" (string | null), "keep_git_dir", "unpack" (bool | null)
 *   env, label:  "env" | "labels": [{"key", "value"}], "legacy": bool
 *   arg:         "args": [{"key", "default": string | null}]
 *   expose:      "ports": [...]        volume: "volumes": [...]
 *   user:        "user"   workdir: "path"   stopsignal: "signal"   maintainer: "maintainer"
 *   healthcheck: "test": [...], "interval", "timeout", "start_period", "start_interval"
 *                (integer nanoseconds), "retries"
 *   onbuild:     "expression": "...", "trigger": INSTR | null, "trigger_error": string | null
 * Strings that are not valid UTF-8 have each bad byte replaced by U+FFFD. */
json_t *kn_instr_dockerfile_to_json(const kn_dockerfile *d);

/* One instruction as INSTR above. New reference. */
json_t *kn_instr_to_json(const kn_instr *in);

#endif
