/* The Dockerfile parser: bytes to a list of instruction nodes, per SEMANTICS
 * part 1 (P-1 .. P-37). It knows the syntax only: directives, comments, line
 * continuations, heredocs, flags and the per-instruction argument forms.
 * Whether an instruction takes a flag, or has the right number of arguments,
 * is the instruction layer's business (frontend/instr.h). */
#ifndef KN_FRONTEND_DF_H
#define KN_FRONTEND_DF_H

#include "base/err.h"
#include "base/vec.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct kn_df_heredoc {
    char *name;    /* delimiter, quotes removed */
    char *content; /* body, line endings kept, delimiter line excluded */
    unsigned fd;   /* the digits before <<, 0 when none */
    bool expand;   /* delimiter was unquoted: COPY/ADD expand the body */
    bool chomp;    /* <<- : leading tabs are removed (P-34) */
} kn_df_heredoc;

typedef struct kn_df_node kn_df_node;

struct kn_df_node {
    char *keyword;   /* as written, e.g. "run" or "RUN" or "FRUM" */
    char *original;  /* the instruction line after continuations were joined */
    kn_strvec flags; /* "--name=value" words, quotes removed (P-23) */
    /* Arguments per P-26. ENV and LABEL hold triples key, value, sep where
     * sep is "=" or "" for the legacy form (P-36). Unknown keywords: one
     * empty argument (P-22). Items may hold NUL bytes: see args.lens. */
    kn_strvec args;
    kn_df_node *sub; /* ONBUILD: the wrapped instruction; else NULL */
    bool is_json;    /* arguments came from a JSON array (exec form) */
    KN_VEC(kn_df_heredoc) heredocs;
    kn_strvec comments; /* doc comments before the instruction (P-13) */
    int start_line;     /* 1-based, first physical line (P-2) */
    int end_line;       /* last physical line, heredoc bodies included */
};

typedef struct kn_df_warning {
    int line;
    char *msg;
} kn_df_warning;

typedef struct kn_df_directive {
    char *name; /* lowercased: syntax, escape, check */
    char *value;
    int line;
} kn_df_directive;

typedef struct kn_df {
    char *path;  /* as given, used in error messages */
    char escape; /* '\\' or '`' */
    KN_VEC(kn_df_node *) nodes;
    KN_VEC(kn_df_directive) directives;
    KN_VEC(kn_df_warning) warnings; /* empty continuation lines (P-18) */
    int n_lines;                    /* physical lines read */
} kn_df;

/* Parse `len` bytes (any bytes; no NUL needed). `path` is used in errors and
 * copied. Returns a new kn_df (kn_df_free) or NULL with err set to
 * KN_EINPUT and FILE:LINE. */
kn_df *kn_df_parse(const char *path, const char *data, size_t len, kn_err *err);

/* Read and parse a file; "-" reads standard input. */
kn_df *kn_df_parse_file(const char *path, kn_err *err);

void kn_df_free(kn_df *df);

/* BuildKit's parse-tree dump (P-35 .. P-37), one line per instruction, each
 * ending in '\n'. Returns a new string. */
char *kn_df_dump(const kn_df *df);

/* One node's dump, without the surrounding parentheses. New string. */
char *kn_df_dump_node(const kn_df_node *node);

/* Go's strconv.Quote of `len` bytes appended to out (P-37). */
struct kn_buf;
void kn_df_quote(struct kn_buf *out, const char *s, size_t len);

/* Is `word` (one shell word of an ADD/COPY/RUN line) a heredoc opener such
 * as `<<EOF`, `<<-'EOF'` or `3<<"END"`? Returns 1 and fills h (name owned by
 * the caller; content NULL) when it is, 0 when not (h may be NULL), -1 with
 * err set when the delimiter does not lex (P-32). */
int kn_df_heredoc_word(const char *word, kn_df_heredoc *h, kn_err *err);

/* The value of a parser directive (e.g. "check"), or NULL. Borrowed. */
const char *kn_df_directive_value(const kn_df *df, const char *name);

#endif
