/* Build checks (`kiln check`): BuildKit's lint rules with their names and
 * messages, per SEMANTICS 8.2 (L-1 .. L-23), configured by the `# check=`
 * directive and per-instruction `# check=` doc comments (P-10, P-13).
 * `kiln check` treats every stage as reachable, and knows nothing of base
 * images: a stage built on an image starts with only the default PATH in its
 * environment (C-4), so UndefinedVar may fire for variables an image's config
 * would define. */
#ifndef KN_FRONTEND_LINT_H
#define KN_FRONTEND_LINT_H

#include "base/err.h"
#include "base/vec.h"
#include "frontend/df.h"
#include "frontend/dockerignore.h"
#include "frontend/instr.h"

#include <stdbool.h>
#include <stddef.h>

/* Parsed `check` options (P-10). `skip` holds rule names. */
typedef struct kn_lint_config {
    bool skip_all;
    bool error; /* error=true: findings fail the build */
    bool experimental_all;
    kn_strvec skip;
    kn_strvec experimental;
} kn_lint_config;

/* Parse a check value such as "skip=A,B;error=true" the way BuildKit's
 * ParseLintOptions does. Errors are KN_EINPUT: `invalid check option "x"`
 * or `failed to parse check option "error=x": ...` (callers add the
 * `failed to parse check options` context). Fills *cfg (kn_lint_config_free). */
int kn_lint_parse_config(const char *value, kn_lint_config *cfg, kn_err *err);

void kn_lint_config_free(kn_lint_config *cfg);

typedef struct kn_lint_finding {
    const char *rule; /* rule name, static */
    const char *url;  /* documentation URL, static; NULL for kiln's own rules */
    char *message;    /* owned */
    int line;         /* 1-based */
} kn_lint_finding;

typedef struct kn_lint_result {
    KN_VEC(kn_lint_finding) findings; /* sorted by line, stable */
    bool error;                       /* the file's check=error=true */
} kn_lint_result;

typedef struct kn_lint_opts {
    /* The build context's .dockerignore (CopyIgnoredFile), or NULL. Borrowed. */
    const kn_dockerignore *ignore;
} kn_lint_opts;

/* Run every rule over a parsed Dockerfile (df and the kn_dockerfile made from
 * it). Fails only for a bad `# check=` directive (KN_EINPUT at its line,
 * `failed to parse check options: ...`). Fills *out (kn_lint_result_free). */
int kn_lint_run(const kn_df *df, const kn_dockerfile *d, const kn_lint_opts *opts,
                kn_lint_result *out, kn_err *err);

void kn_lint_result_free(kn_lint_result *r);

/* Rule names kiln knows, in SEMANTICS order (static). */
const char *const *kn_lint_rule_names(size_t *n);

#endif
