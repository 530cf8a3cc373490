/* Word expansion of Dockerfile words, per SEMANTICS part 2 (X-1 .. X-19):
 * quotes, escapes with either escape character, $VAR / ${VAR} with every
 * modifier BuildKit supports, and word splitting where BuildKit splits. */
#ifndef KN_FRONTEND_EXPAND_H
#define KN_FRONTEND_EXPAND_H

#include "base/err.h"
#include "base/vec.h"

#include <stdbool.h>
#include <stddef.h>

/* Where variable values come from. lookup returns the value (borrowed, valid
 * for the call) or NULL when the name is unset. `used`, when set, is called
 * for every name the word references, evaluated or not (lint uses it): once
 * per reference, in the order BuildKit looks them up (a ${n:-w} reports the
 * names in w before n). `name` is borrowed for the call. */
typedef struct kn_expand_env {
    const char *(*lookup)(void *ctx, const char *name);
    void (*used)(void *ctx, const char *name, bool is_set);
    void *ctx;
} kn_expand_env;

/* A lookup over a kn_strvec of "KEY=VALUE" entries (ctx: the kn_strvec);
 * the last entry for a key wins; an entry "KEY" without `=` sets KEY to ""
 * (as BuildKit reads such an entry). */
const char *kn_expand_lookup_kv(void *ctx, const char *name);

/* Word mode: one string, quotes removed, escapes resolved, variables
 * substituted. escape is '\\' or '`'. *out is a new string; caller frees.
 * Errors are KN_EINPUT with BuildKit's message (X-3, X-6..X-10); kiln adds
 * two limits BuildKit lacks: ${} nested more than 64 deep, and a result (or
 * a nested word) over 16 MiB, fail. */
int kn_expand_word(const char *word, char escape, const kn_expand_env *env, char **out,
                   kn_err *err);

/* kn_expand_word for `len` bytes that may hold NUL bytes (kept as text, as
 * BuildKit keeps them); *out_len (when not NULL) gets the result's length,
 * which may include NUL bytes too. */
int kn_expand_word_len(const char *word, size_t len, char escape, const kn_expand_env *env,
                       char **out, size_t *out_len, kn_err *err);

/* Words mode: as kn_expand_word, then split where BuildKit splits;
 * the words are appended to out (nothing is appended on failure). */
int kn_expand_words(const char *word, char escape, const kn_expand_env *env, kn_strvec *out,
                    kn_err *err);

/* COPY/ADD heredoc body with an unquoted delimiter: escape fixed to
 * '\\', quotes not special, `\x` gives x. *out is new; caller frees. */
int kn_expand_heredoc(const char *body, const kn_expand_env *env, char **out, kn_err *err);

/* Lexer modes BuildKit's parser uses to find heredocs (parser.go,
 * heredocsFromLine): raw_quotes keeps quote characters in the output,
 * raw_escapes keeps escape characters, skip_unset leaves a reference to an
 * unset variable as written ("$X", "${X:-w}") instead of expanding it. */
typedef struct kn_lex_opts {
    bool raw_quotes;
    bool raw_escapes;
    bool skip_unset;
} kn_lex_opts;

/* Words mode with lexer options (opts may be NULL for none). */
int kn_expand_words_opts(const char *word, char escape, const kn_expand_env *env,
                         const kn_lex_opts *opts, kn_strvec *out, kn_err *err);

#endif
