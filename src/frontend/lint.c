/* Build checks, per SEMANTICS 8.2. Rule names, URLs and message shapes
 * follow BuildKit's linter (frontend/dockerfile/linter/ruleset.go); the
 * checks follow where BuildKit runs them (instructions/parse.go,
 * dockerfile2llb/convert.go and validations.go). Every stage is treated as
 * reachable; no build argument is given; base images are unknown. */
#include "frontend/lint.h"

#include "frontend/graph.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/str.h"
#include "frontend/expand.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define DOC "https://docs.docker.com/go/dockerfile/rule/"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct rule {
    const char *name;
    const char *url;
} rule;

static const rule R_STAGE_NAME_CASING = {"StageNameCasing", DOC "stage-name-casing/"};
static const rule R_FROM_AS_CASING = {"FromAsCasing", DOC "from-as-casing/"};
static const rule R_NO_EMPTY_CONTINUATION = {"NoEmptyContinuation", DOC "no-empty-continuation/"};
static const rule R_CONSISTENT_CASING = {"ConsistentInstructionCasing",
                                         DOC "consistent-instruction-casing/"};
static const rule R_DUPLICATE_STAGE = {"DuplicateStageName", DOC "duplicate-stage-name/"};
static const rule R_RESERVED_STAGE = {"ReservedStageName", DOC "reserved-stage-name/"};
static const rule R_JSON_ARGS = {"JSONArgsRecommended", DOC "json-args-recommended/"};
static const rule R_MAINTAINER = {"MaintainerDeprecated", DOC "maintainer-deprecated/"};
static const rule R_UNDEFINED_ARG_IN_FROM = {"UndefinedArgInFrom", DOC "undefined-arg-in-from/"};
static const rule R_WORKDIR_RELATIVE = {"WorkdirRelativePath", DOC "workdir-relative-path/"};
static const rule R_UNDEFINED_VAR = {"UndefinedVar", DOC "undefined-var/"};
static const rule R_MULTIPLE = {"MultipleInstructionsDisallowed",
                                DOC "multiple-instructions-disallowed/"};
static const rule R_LEGACY_KV = {"LegacyKeyValueFormat", DOC "legacy-key-value-format/"};
static const rule R_REDUNDANT_PLATFORM = {"RedundantTargetPlatform",
                                          DOC "redundant-target-platform/"};
static const rule R_SECRETS = {"SecretsUsedInArgOrEnv", DOC "secrets-used-in-arg-or-env/"};
static const rule R_INVALID_DEFAULT_ARG = {"InvalidDefaultArgInFrom",
                                           DOC "invalid-default-arg-in-from/"};
static const rule R_PLATFORM_CONST = {"FromPlatformFlagConstDisallowed",
                                      DOC "from-platform-flag-const-disallowed/"};
static const rule R_COPY_IGNORED = {"CopyIgnoredFile", DOC "copy-ignored-file/"};
static const rule R_EXPOSE_PROTO = {"ExposeProtoCasing", DOC "expose-proto-casing/"};
static const rule R_EXPOSE_FORMAT = {"ExposeInvalidFormat", DOC "expose-invalid-format/"};
static const rule R_GLOBAL_ARG_SCOPE = {"GlobalArgNotInScope", NULL}; /* SEMANTICS L-23 [kiln] */

static const char *const rule_names[] = {
    "StageNameCasing",
    "FromAsCasing",
    "NoEmptyContinuation",
    "ConsistentInstructionCasing",
    "DuplicateStageName",
    "ReservedStageName",
    "JSONArgsRecommended",
    "MaintainerDeprecated",
    "UndefinedArgInFrom",
    "WorkdirRelativePath",
    "UndefinedVar",
    "MultipleInstructionsDisallowed",
    "LegacyKeyValueFormat",
    "RedundantTargetPlatform",
    "SecretsUsedInArgOrEnv",
    "InvalidDefaultArgInFrom",
    "FromPlatformFlagConstDisallowed",
    "CopyIgnoredFile",
    "ExposeProtoCasing",
    "ExposeInvalidFormat",
    "GlobalArgNotInScope",
};

const char *const *kn_lint_rule_names(size_t *n)
{
    *n = KN_ARRAY_LEN(rule_names);
    return rule_names;
}

/* ---- check options (P-10; linter.ParseLintOptions) ---- */

void kn_lint_config_free(kn_lint_config *cfg)
{
    kn_strvec_free(&cfg->skip);
    kn_strvec_free(&cfg->experimental);
    *cfg = (kn_lint_config){0};
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < KN_ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

/* strings.Split(v, ",") with each element trimmed. */
static void split_rules(const char *v, kn_strvec *out)
{
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        kn_autofree char *part = kn_xstrndup(p, n);
        kn_strvec_push_owned(out, kn_str_trim_space(part));
        if (!comma)
            break;
        p = comma + 1;
    }
}

int kn_lint_parse_config(const char *value, kn_lint_config *cfg, kn_err *err)
{
    *cfg = (kn_lint_config){0};
    kn_autofree char *s = kn_str_trim_space(value);
    if (s[0] == '\0')
        return 0;
    /* strings.SplitN(s, ";", 3) */
    char *parts[3];
    size_t n = 0;
    char *p = s;
    while (n < 2) {
        char *semi = strchr(p, ';');
        if (!semi)
            break;
        *semi = '\0';
        parts[n++] = p;
        p = semi + 1;
    }
    parts[n++] = p;
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(parts[i], '=');
        if (!eq) {
            kn_lint_config_free(cfg);
            return kn_errf(err, KN_EINPUT, "invalid check option \"%s\"", parts[i]);
        }
        *eq = '\0';
        kn_autofree char *k = kn_str_trim_space(parts[i]);
        kn_autofree char *v = kn_str_trim_space(eq + 1);
        if (strcmp(k, "skip") == 0 || strcmp(k, "experimental") == 0) {
            bool is_skip = k[0] == 's';
            if (strcmp(v, "all") == 0) {
                if (is_skip)
                    cfg->skip_all = true;
                else
                    cfg->experimental_all = true;
            } else {
                kn_strvec *set = is_skip ? &cfg->skip : &cfg->experimental;
                kn_strvec_free(set);
                split_rules(v, set);
            }
        } else if (strcmp(k, "error") == 0) {
            if (parse_bool(v, &cfg->error) < 0) {
                *eq = '=';
                kn_lint_config_free(cfg);
                return kn_errf(err, KN_EINPUT,
                               "failed to parse check option \"%s\": strconv.ParseBool: parsing "
                               "\"%s\": invalid syntax",
                               parts[i], v);
            }
        } else {
            kn_lint_config_free(cfg);
            return kn_errf(err, KN_EINPUT, "invalid check option \"%s\"", k);
        }
    }
    return 0;
}

/* ---- context ---- */

typedef struct stage_state {
    kn_strvec env;      /* "K=V", last wins: the stage env (ARG values and ENV) */
    kn_strvec declared; /* ARG keys declared in the stage lineage (A-9) */
    bool workdir_set;   /* a WORKDIR ran in the lineage (L-10) */
    bool has_shell;     /* SHELL ran in the lineage (L-7) */
} stage_state;

typedef struct lint_ctx {
    const kn_df *df;
    const kn_dockerfile *d;
    const kn_lint_opts *opts;
    kn_lint_config cfg;
    kn_lint_result *out;
    kn_strvec global_env;  /* predefined args + valued global ARGs, "K=V" */
    kn_strvec global_keys; /* every global ARG key, declaration order */
    KN_VEC(int) global_lines;
    stage_state *states; /* one per stage */
    const char *target_platform;
} lint_ctx;

static bool in_strvec(const kn_strvec *v, const char *s)
{
    return v->len > 0 && kn_strvec_find(v, s) >= 0;
}

/* Is the rule switched off for this instruction, by the file's directive or
 * by a `check=` doc comment (linter.WithMergedConfigFromComments: the first
 * `check=` comment counts, its value up to the first space; a bad one is
 * ignored)? */
static bool is_skipped(const lint_ctx *c, const kn_df_node *node, const rule *r)
{
    if (c->cfg.skip_all || in_strvec(&c->cfg.skip, r->name))
        return true;
    if (!node)
        return false;
    for (size_t i = 0; i < node->comments.len; i++) {
        const char *cm = node->comments.items[i];
        size_t k = 0;
        if (!((cm[0] >= 'a' && cm[0] <= 'z') || (cm[0] >= 'A' && cm[0] <= 'Z')))
            continue;
        while ((cm[k] >= 'a' && cm[k] <= 'z') || (cm[k] >= 'A' && cm[k] <= 'Z') ||
               (cm[k] >= '0' && cm[k] <= '9'))
            k++;
        kn_autofree char *name = kn_xstrndup(cm, k);
        if (!kn_str_eq_nocase(name, "check"))
            continue;
        const char *v = cm + k;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v != '=')
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        kn_autofree char *val = kn_xstrndup(v, strcspn(v, " "));
        kn_lint_config cfg;
        kn_err err = KN_ERR_INIT;
        if (val[0] == '\0' || kn_lint_parse_config(val, &cfg, &err) < 0) {
            kn_err_clear(&err);
            return false;
        }
        bool skip = cfg.skip_all || in_strvec(&cfg.skip, r->name);
        kn_lint_config_free(&cfg);
        return skip;
    }
    return false;
}

static void report(lint_ctx *c, const kn_df_node *node, int line, const rule *r, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void report(lint_ctx *c, const kn_df_node *node, int line, const rule *r, const char *fmt,
                   ...)
{
    if (is_skipped(c, node, r))
        return;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kn_buf_addvf(&b, fmt, ap);
    va_end(ap);
    kn_lint_finding f = {r->name, r->url, kn_buf_release(&b), line};
    kn_vec_push(&c->out->findings, f);
}

/* Go's %q of s (for messages), a new string. */
static char *quote(const char *s)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_df_quote(&b, s, strlen(s));
    return kn_buf_release(&b);
}

/* ---- expansion with a record of the names used ---- */

typedef struct capture {
    const kn_strvec *env;
    kn_strvec set;   /* names found */
    kn_strvec unset; /* names looked up and not found, first use order */
} capture;

static const char *cap_lookup(void *ctx, const char *name)
{
    capture *cap = ctx;
    return kn_expand_lookup_kv((void *)cap->env, name);
}

static void cap_used(void *ctx, const char *name, bool is_set)
{
    capture *cap = ctx;
    kn_strvec *v = is_set ? &cap->set : &cap->unset;
    if (!in_strvec(v, name))
        kn_strvec_push(v, name);
}

static void capture_free(capture *cap)
{
    kn_strvec_free(&cap->set);
    kn_strvec_free(&cap->unset);
}

/* Expand a word (Word mode) with env, recording names in cap. *out may be
 * NULL. Expansion errors are not lint's business: NULL result. */
static char *expand_word(const char *word, char escape, capture *cap)
{
    kn_expand_env env = {cap_lookup, cap_used, cap};
    kn_err err = KN_ERR_INIT;
    char *out = NULL;
    if (kn_expand_word(word, escape, &env, &out, &err) < 0) {
        kn_err_clear(&err);
        return NULL;
    }
    return out;
}

static const char *kv_key_end(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? eq : kv + strlen(kv);
}

/* The distinct keys of a "K=V" list, in first-seen order. */
static void env_keys(const kn_strvec *env, kn_strvec *out)
{
    for (size_t i = 0; i < env->len; i++) {
        kn_autofree char *k =
            kn_xstrndup(env->items[i], (size_t)(kv_key_end(env->items[i]) - env->items[i]));
        if (!in_strvec(out, k))
            kn_strvec_push(out, k);
    }
}

/* BuildKit's suggest.Search, case-sensitive: the closest option within
 * distance 2, none when an option equals name. Borrowed or NULL. */
static const char *suggest(const char *name, const kn_strvec *options)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < options->len; i++) {
        if (strcmp(options->items[i], name) == 0)
            return NULL;
        int dist = kn_str_distance(name, options->items[i], 2);
        if (dist < best_d) {
            best_d = dist;
            best = options->items[i];
        }
    }
    return best;
}

static void env_set(kn_strvec *env, const char *k, const char *v)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%s=%s", k, v);
    kn_strvec_push_owned(env, kn_buf_release(&b));
}

static void strvec_copy(kn_strvec *dst, const kn_strvec *src)
{
    for (size_t i = 0; i < src->len; i++)
        kn_strvec_push(dst, src->items[i]);
}

static long global_index(const lint_ctx *c, const char *name)
{
    return c->global_keys.len ? kn_strvec_find(&c->global_keys, name) : -1;
}

static const char *stage_label(const kn_instr_stage *st, char *buf, size_t size)
{
    if (st->name)
        return st->name;
    snprintf(buf, size, "stage-%zu", st->index);
    return buf;
}

/* SEMANTICS L-23 [kiln]: the message for a global ARG used in a stage that
 * does not declare it (A-3). */
static void report_global_scope(lint_ctx *c, const kn_instr *in, const kn_instr_stage *st,
                                const char *name, long gi)
{
    char label[32];
    report(c, in->node, in->line, &R_GLOBAL_ARG_SCOPE,
           "Global ARG '%s' (line %d) is not in scope in stage '%s' and expands to empty "
           "there; add 'ARG %s' to the stage to use it",
           name, c->global_lines.items[gi], stage_label(st, label, sizeof(label)), name);
}

/* reportUnmatchedVariables: names used but unset, minus the ARGs the stage
 * declared (valueless ones included) and BuildKit's non-env args. A global
 * ARG the stage never declared is kiln's GlobalArgNotInScope (L-23) instead
 * of UndefinedVar, unless that rule is skipped. */
static void report_unmatched(lint_ctx *c, const kn_instr *in, const kn_instr_stage *st,
                             stage_state *ss, const kn_strvec *unset, kn_strvec *reported)
{
    for (size_t i = 0; i < unset->len; i++) {
        const char *name = unset->items[i];
        if (in_strvec(&ss->declared, name) || in_strvec(reported, name) ||
            strcmp(name, "BUILDKIT_SBOM_SCAN_CONTEXT") == 0 ||
            strcmp(name, "BUILDKIT_SBOM_SCAN_STAGE") == 0)
            continue;
        kn_strvec_push(reported, name);
        long gi = global_index(c, name);
        if (gi >= 0 && !is_skipped(c, in->node, &R_GLOBAL_ARG_SCOPE)) {
            report_global_scope(c, in, st, name, gi);
            continue;
        }
        kn_autostrvec kn_strvec keys = KN_STRVEC_INIT;
        env_keys(&ss->env, &keys);
        const char *s = suggest(name, &keys);
        if (s)
            report(c, in->node, in->line, &R_UNDEFINED_VAR,
                   "Usage of undefined variable '$%s' (did you mean $%s?)", name, s);
        else
            report(c, in->node, in->line, &R_UNDEFINED_VAR, "Usage of undefined variable '$%s'",
                   name);
    }
}

/* ---- image references (distribution/reference ParseNormalizedNamed) ---- */

static bool is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
    return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* over [p, e) */
static bool path_component_ok(const char *p, const char *e)
{
    if (p == e || !is_lower_alnum(*p))
        return false;
    while (p < e) {
        while (p < e && is_lower_alnum(*p))
            p++;
        if (p == e)
            return true;
        if (*p == '.' || (*p == '_' && !(p + 1 < e && p[1] == '_'))) {
            p++;
        } else if (*p == '_') {
            p += 2;
        } else if (*p == '-') {
            while (p < e && *p == '-')
                p++;
        } else {
            return false;
        }
        if (p == e || !is_lower_alnum(*p))
            return false;
    }
    return true;
}

/* host[:port]: domain components ([a-zA-Z0-9] or with inner '-') joined by
 * '.', or [ipv6]; then an optional numeric port. */
static bool domain_ok(const char *p, const char *e)
{
    const char *colon = NULL;
    if (p < e && *p == '[') {
        const char *q = p + 1;
        while (q < e && (strchr("0123456789abcdefABCDEF:", *q)))
            q++;
        if (q == p + 1 || q >= e || *q != ']')
            return false;
        colon = q + 1 < e ? q + 1 : NULL;
        if (colon && *colon != ':')
            return false;
    } else {
        const char *q = p;
        for (;;) {
            const char *s = q;
            while (q < e && (is_alnum(*q) || *q == '-'))
                q++;
            if (q == s || s[0] == '-' || q[-1] == '-')
                return false;
            if (q < e && *q == '.') {
                q++;
                continue;
            }
            break;
        }
        if (q < e) {
            if (*q != ':')
                return false;
            colon = q;
        }
    }
    if (colon) {
        const char *q = colon + 1;
        if (q == e)
            return false;
        for (; q < e; q++)
            if (*q < '0' || *q > '9')
                return false;
    }
    return true;
}

static bool tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(is_alnum(t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

static bool digest_ok(const char *dg)
{
    const char *colon = strchr(dg, ':');
    if (!colon || colon == dg)
        return false;
    /* algorithm: [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* */
    bool need_alpha = true;
    for (const char *p = dg; p < colon; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (need_alpha) {
            if (!alpha)
                return false;
            need_alpha = false;
        } else if (strchr("-_+.", *p)) {
            need_alpha = true;
        } else if (!is_alnum(*p)) {
            return false;
        }
    }
    if (need_alpha)
        return false;
    size_t n = 0;
    for (const char *p = colon + 1; *p; p++, n++)
        if (!strchr("0123456789abcdefABCDEF", *p))
            return false;
    return n >= 32;
}

static bool reference_ok(const char *ref)
{
    size_t len = strlen(ref);
    if (len == 0)
        return false;
    if (len == 64 && strspn(ref, "0123456789abcdef") == 64)
        return false; /* a bare 64-hex identifier */
    kn_autofree char *s = kn_xstrdup(ref);
    char *at = strchr(s, '@');
    if (at) {
        *at = '\0';
        if (!digest_ok(at + 1))
            return false;
    }
    /* The name ends at the last ':' after the last '/'. */
    char *slash = strrchr(s, '/');
    char *colon = strrchr(slash ? slash : s, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_ok(colon + 1))
            return false;
    }
    if (strlen(s) == 0 || strlen(s) > 255)
        return false;
    /* splitDockerDomain: the first part is a domain when it has '.' or ':',
     * is "localhost", or has upper case. */
    char *first = strchr(s, '/');
    const char *path = s;
    if (first) {
        size_t n = (size_t)(first - s);
        bool is_domain =
            memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && memcmp(s, "localhost", 9) == 0);
        for (size_t i = 0; i < n && !is_domain; i++)
            is_domain = s[i] >= 'A' && s[i] <= 'Z';
        if (is_domain) {
            if (!domain_ok(s, first))
                return false;
            path = first + 1;
        }
    }
    for (const char *p = path;;) {
        const char *e = strchr(p, '/');
        if (!path_component_ok(p, e ? e : p + strlen(p)))
            return false;
        if (!e)
            break;
        p = e + 1;
    }
    return true;
}

/* ---- platforms ---- */

/* Split a normalised "os/arch[/variant]" (kn_graph_parse_platform) into new
 * strings; *variant is "" when there is none. */
static void split_platform(const char *plat, char **os, char **arch, char **variant)
{
    const char *a = strchr(plat, '/');
    const char *v = a ? strchr(a + 1, '/') : NULL;
    *os = a ? kn_xstrndup(plat, (size_t)(a - plat)) : kn_xstrdup(plat);
    *arch = a ? (v ? kn_xstrndup(a + 1, (size_t)(v - a - 1)) : kn_xstrdup(a + 1)) : kn_xstrdup("");
    *variant = kn_xstrdup(v ? v + 1 : "");
}

/* ---- the checks ---- */

static bool is_lower(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return false;
    return true;
}

static bool is_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return false;
    return true;
}

/* L-1, L-2, L-8: the checks BuildKit runs while parsing instructions. */
static void check_parse_rules(lint_ctx *c)
{
    for (size_t i = 0; i < c->d->stages.len; i++) {
        const kn_instr_stage *st = c->d->stages.items[i];
        const kn_instr *from = st->from;
        const kn_df_node *node = from->node;
        if (from->from.name_as_written && !is_lower(from->from.name_as_written))
            report(c, node, from->line, &R_STAGE_NAME_CASING, "Stage name '%s' should be lowercase",
                   from->from.name_as_written);
        if (node->args.len >= 3) {
            const char *kw = node->keyword, *as = node->args.items[1];
            bool kw_lower = is_lower(kw), kw_upper = is_upper(kw);
            bool ok = (!kw_lower && !kw_upper) || (kw_lower ? is_lower(as) : is_upper(as));
            if (!ok)
                report(c, node, from->line, &R_FROM_AS_CASING,
                       "'%s' and '%s' keywords' casing do not match", as, kw);
        }
        for (size_t j = 0; j < st->instrs.len; j++) {
            const kn_instr *in = st->instrs.items[j];
            if (in->kind == KN_INSTR_MAINTAINER)
                report(c, in->node, in->line, &R_MAINTAINER,
                       "Maintainer instruction is deprecated in favor of using label");
        }
    }
}

/* L-5, L-6 (validateStageNames) and L-4 (validateCommandCasing): whole-file
 * rules, configured by the directive only. */
static void check_stage_names_and_casing(lint_ctx *c)
{
    kn_autostrvec kn_strvec seen = KN_STRVEC_INIT;
    int n_lower = 0, n_upper = 0;
    for (size_t i = 0; i < c->d->stages.len; i++) {
        const kn_instr_stage *st = c->d->stages.items[i];
        if (st->name) {
            if (strcmp(st->name, "scratch") == 0 || strcmp(st->name, "context") == 0)
                report(c, NULL, st->from->line, &R_RESERVED_STAGE,
                       "Stage name should not use the same name as reserved stage \"%s\"",
                       st->name);
            if (in_strvec(&seen, st->name))
                report(c, NULL, st->from->line, &R_DUPLICATE_STAGE,
                       "Duplicate stage name \"%s\", stage names should be unique", st->name);
            kn_strvec_push(&seen, st->name);
        }
        for (size_t j = 0; j <= st->instrs.len; j++) {
            const char *kw = (j == 0 ? st->from : st->instrs.items[j - 1])->node->keyword;
            if (is_lower(kw))
                n_lower++;
            else if (is_upper(kw))
                n_upper++;
        }
    }
    bool majority_lower = n_lower > n_upper;
    for (size_t i = 0; i < c->d->stages.len; i++) {
        const kn_instr_stage *st = c->d->stages.items[i];
        for (size_t j = 0; j <= st->instrs.len; j++) {
            const kn_instr *in = j == 0 ? st->from : st->instrs.items[j - 1];
            const char *kw = in->node->keyword;
            if (majority_lower ? !is_lower(kw) : !is_upper(kw))
                report(c, NULL, in->line, &R_CONSISTENT_CASING,
                       "Command '%s' should match the case of the command majority (%s)", kw,
                       majority_lower ? "lowercase" : "uppercase");
        }
    }
}

/* The global scope (A-2, A-10) with no build arguments. */
static void build_global_scope(lint_ctx *c)
{
    kn_autofree char *plat = kn_graph_host_platform();
    kn_autofree char *os = NULL;
    kn_autofree char *arch = NULL;
    kn_autofree char *variant = NULL;
    split_platform(plat, &os, &arch, &variant);
    const char *predefined[][2] = {
        {"BUILDPLATFORM", plat},    {"BUILDOS", os},
        {"BUILDOSVERSION", ""},     {"BUILDARCH", arch},
        {"BUILDVARIANT", variant},  {"TARGETPLATFORM", plat},
        {"TARGETOS", os},           {"TARGETOSVERSION", ""},
        {"TARGETARCH", arch},       {"TARGETVARIANT", variant},
        {"TARGETSTAGE", "default"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(predefined); i++)
        env_set(&c->global_env, predefined[i][0], predefined[i][1]);
    const kn_instr_stage *last = c->d->stages.items[c->d->stages.len - 1];
    if (last->name)
        env_set(&c->global_env, "TARGETSTAGE", last->name);
    for (size_t i = 0; i < c->d->global_args.len; i++) {
        const kn_instr *in = c->d->global_args.items[i];
        for (size_t j = 0; j < in->arg.defs.len; j++) {
            const kn_instr_arg_def *def = &in->arg.defs.items[j];
            if (!in_strvec(&c->global_keys, def->key)) {
                kn_strvec_push(&c->global_keys, def->key);
                kn_vec_push(&c->global_lines, in->line);
            }
            if (!def->value)
                continue;
            capture cap = {&c->global_env, KN_STRVEC_INIT, KN_STRVEC_INIT};
            kn_autofree char *v = expand_word(def->value, c->df->escape, &cap);
            capture_free(&cap);
            if (v)
                env_set(&c->global_env, def->key, v);
        }
    }
}

/* Keys a FROM may use without UndefinedArgInFrom: the global scope and every
 * global ARG, valued or not (unusedFromArgsCheckKeys). */
static void from_arg_keys(const lint_ctx *c, kn_strvec *out)
{
    env_keys(&c->global_env, out);
    for (size_t i = 0; i < c->global_keys.len; i++)
        if (!in_strvec(out, c->global_keys.items[i]))
            kn_strvec_push(out, c->global_keys.items[i]);
}

static void report_from_unmatched(lint_ctx *c, const kn_instr *from, const kn_strvec *unset,
                                  const kn_strvec *keys)
{
    for (size_t i = 0; i < unset->len; i++) {
        if (in_strvec(keys, unset->items[i]))
            continue;
        const char *s = suggest(unset->items[i], keys);
        if (s)
            report(c, from->node, from->line, &R_UNDEFINED_ARG_IN_FROM,
                   "FROM argument '%s' is not declared (did you mean %s?)", unset->items[i], s);
        else
            report(c, from->node, from->line, &R_UNDEFINED_ARG_IN_FROM,
                   "FROM argument '%s' is not declared", unset->items[i]);
    }
}

/* L-9, L-14, L-16, L-17 for one stage's FROM; returns the expanded base
 * (new string) or NULL. */
static char *check_from(lint_ctx *c, const kn_instr_stage *st)
{
    const kn_instr *from = st->from;
    kn_autostrvec kn_strvec keys = KN_STRVEC_INIT;
    from_arg_keys(c, &keys);
    capture cap = {&c->global_env, KN_STRVEC_INIT, KN_STRVEC_INIT};
    char *base = expand_word(from->from.base, c->df->escape, &cap);
    report_from_unmatched(c, from, &cap.unset, &keys);
    capture_free(&cap);
    /* validateBaseImagesWithDefaultArgs (no build args: the same scope). */
    if (!base || !reference_ok(base))
        report(c, NULL, from->line, &R_INVALID_DEFAULT_ARG,
               "Default value for ARG %s results in empty or invalid base image name",
               from->from.base);
    const kn_instr_flag *pf = kn_instr_get_flag(from, "platform");
    if (pf && pf->is_set && pf->value && pf->value[0]) {
        capture pc = {&c->global_env, KN_STRVEC_INIT, KN_STRVEC_INIT};
        kn_autofree char *plat = expand_word(pf->value, c->df->escape, &pc);
        report_from_unmatched(c, from, &pc.unset, &keys);
        if (plat && pc.set.len == 1 && pc.unset.len == 0 &&
            strcmp(pc.set.items[0], "TARGETPLATFORM") == 0 &&
            strcmp(plat, kn_expand_lookup_kv(&c->global_env, "TARGETPLATFORM")) == 0)
            report(c, from->node, from->line, &R_REDUNDANT_PLATFORM,
                   "Setting platform to predefined %s in FROM is redundant as this is the "
                   "default behavior",
                   pf->value);
        const char *name = st->name ? st->name : "";
        kn_autofree char *host = kn_graph_host_platform();
        kn_autofree char *norm = NULL;
        kn_autoerr kn_err perr = KN_ERR_INIT;
        if (plat && pc.set.len == 0 && pc.unset.len == 0 &&
            kn_graph_parse_platform(plat, host, &norm, &perr) == 0) {
            kn_autofree char *os = NULL;
            kn_autofree char *arch = NULL;
            kn_autofree char *variant = NULL;
            split_platform(norm, &os, &arch, &variant);
            if (!strstr(name, os) && !strstr(name, arch)) {
                kn_autofree char *q = quote(plat);
                report(c, from->node, from->line, &R_PLATFORM_CONST,
                       "FROM --platform flag should not use constant value %s", q);
            }
        }
        capture_free(&pc);
    }
    return base;
}

/* secretsRegexp: an '_'-separated part (case-insensitive) is a secret word
 * and none is an allowed one. */
static bool is_secret_key(const char *key)
{
    static const char *const deny[] = {"apikey",   "auth",  "credential", "credentials", "key",
                                       "password", "pword", "passwd",     "secret",      "token"};
    static const char *const allow[] = {"public", "file", "version"};
    bool denied = false;
    const char *p = key;
    for (;;) {
        size_t n = strcspn(p, "_");
        kn_autofree char *part = kn_xstrndup(p, n);
        for (size_t i = 0; i < KN_ARRAY_LEN(allow); i++)
            if (kn_str_eq_nocase(part, allow[i]))
                return false;
        for (size_t i = 0; i < KN_ARRAY_LEN(deny); i++)
            denied = denied || kn_str_eq_nocase(part, deny[i]);
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    return denied;
}

/* A RUN's shell text refers to name ($name or ${name...})? Single-quoted
 * text and escaped '$' do not count. */
static bool shell_text_uses(const char *text, const char *name)
{
    size_t nlen = strlen(name);
    bool in_double = false;
    for (const char *p = text; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '\'' && !in_double) {
            const char *q = strchr(p + 1, '\'');
            if (!q)
                return false;
            p = q;
        } else if (*p == '"') {
            in_double = !in_double;
        } else if (*p == '$') {
            const char *q = p + 1 + (p[1] == '{');
            char after = q[nlen];
            if (strncmp(q, name, nlen) == 0 && !(is_alnum(after) || after == '_'))
                return true;
        }
    }
    return false;
}

/* L-23 for a RUN: the shell expands $X at run time, where a global ARG the
 * stage never declared is unset (A-3). */
static void check_run_global_args(lint_ctx *c, const kn_instr *in, const kn_instr_stage *st,
                                  stage_state *ss, kn_strvec *reported)
{
    if (in->run.cmd.is_exec)
        return;
    for (size_t g = 0; g < c->global_keys.len; g++) {
        const char *name = c->global_keys.items[g];
        if (in_strvec(&ss->declared, name) || in_strvec(reported, name) ||
            kn_expand_lookup_kv(&ss->env, name))
            continue;
        bool used = shell_text_uses(in->run.cmd.text, name);
        for (size_t h = 0; h < in->n_heredocs && !used; h++)
            used = in->heredocs[h].expand && shell_text_uses(in->heredocs[h].content, name);
        if (used) {
            kn_strvec_push(reported, name);
            report_global_scope(c, in, st, name, (long)g);
        }
    }
}

static int mount_expand(void *ctx, const char *word, char **out, kn_err *err)
{
    capture *cap = ctx;
    kn_expand_env env = {cap_lookup, cap_used, cap};
    return kn_expand_word(word, '\\', &env, out, err);
}

static bool is_remote_source(const char *s)
{
    return strstr(s, "://") != NULL || kn_str_has_prefix(s, "git@");
}

/* L-18 (validateCopySourcePath): only with a .dockerignore that has no
 * exception lines; "." and "/" only when a pattern excludes every entry. */
static void check_copy_ignored(lint_ctx *c, const kn_instr *in, const char *src)
{
    const kn_dockerignore *di = c->opts ? c->opts->ignore : NULL;
    if (!di || kn_dockerignore_has_exclusions(di) || is_remote_source(src))
        return;
    kn_autofree char *clean = kn_path_clean(src);
    if (strcmp(clean, ".") == 0 || strcmp(clean, "/") == 0) {
        bool root = false;
        for (size_t i = 0; i < kn_dockerignore_n_patterns(di); i++) {
            bool exc;
            const char *p = kn_dockerignore_pattern(di, i, &exc);
            root =
                root ||
                (!exc && (strcmp(p, "*") == 0 || strcmp(p, "**") == 0 || strcmp(p, "**/*") == 0));
        }
        if (!root)
            return;
    }
    if (kn_dockerignore_matches(di, clean)) {
        kn_autofree char *q = quote(clean);
        report(c, in->node, in->line, &R_COPY_IGNORED,
               "Attempting to %s file %s that is excluded by .dockerignore",
               in->kind == KN_INSTR_ADD ? "Add" : "Copy", q);
    }
}

/* L-20, L-21 for one expanded EXPOSE entry (portSpecs.parsePort). */
static void check_expose_port(lint_ctx *c, const kn_instr *in, const char *raw)
{
    size_t n_colons = 0;
    for (const char *p = raw; *p; p++)
        n_colons += *p == ':';
    const char *container = strrchr(raw, ':');
    container = container ? container + 1 : raw;
    const char *slash = strchr(container, '/');
    if (slash == container)
        return; /* no port specified: an error at build time */
    const char *proto = slash ? slash + 1 : "";
    if (*proto && !kn_str_eq_nocase(proto, "tcp") && !kn_str_eq_nocase(proto, "udp") &&
        !kn_str_eq_nocase(proto, "sctp"))
        return; /* invalid proto: an error at build time */
    if (!is_lower(proto))
        report(c, in->node, in->line, &R_EXPOSE_PROTO,
               "Defined protocol '%s' in EXPOSE instruction should be lowercase", raw);
    if (n_colons > 0)
        report(c, in->node, in->line, &R_EXPOSE_FORMAT,
               "EXPOSE instruction should not define an IP address or host-port mapping, found "
               "'%s'",
               raw);
}

typedef struct used_once {
    const kn_instr *cmd, *entrypoint, *healthcheck;
} used_once;

/* validateUsedOnce: a second CMD/ENTRYPOINT/HEALTHCHECK reports the first. */
static void check_used_once(lint_ctx *c, const kn_instr *in, const kn_instr **prev)
{
    if (*prev)
        report(c, (*prev)->node, (*prev)->line, &R_MULTIPLE,
               "Multiple %s instructions should not be used in the same stage because only the "
               "last one will be used",
               in->node->keyword);
    *prev = in;
}

/* Expand one field of an instruction, collecting unset names. */
static char *field(lint_ctx *c, stage_state *ss, const char *word, kn_strvec *unset)
{
    capture cap = {&ss->env, KN_STRVEC_INIT, KN_STRVEC_INIT};
    char *v = expand_word(word, c->df->escape, &cap);
    for (size_t i = 0; i < cap.unset.len; i++)
        if (!in_strvec(unset, cap.unset.items[i]))
            kn_strvec_push(unset, cap.unset.items[i]);
    capture_free(&cap);
    return v;
}

static void check_instr(lint_ctx *c, const kn_instr_stage *st, stage_state *ss, const kn_instr *in,
                        used_once *once)
{
    kn_autostrvec kn_strvec unset = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec reported = KN_STRVEC_INIT;
    const char *kw = in->node->keyword;
    switch (in->kind) {
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL: {
        kn_autostrvec kn_strvec sets = KN_STRVEC_INIT; /* X-15: one snapshot */
        for (size_t i = 0; i < in->env.pairs.len; i++) {
            kn_autofree char *k = field(c, ss, in->env.pairs.items[i].key, &unset);
            kn_autofree char *v = field(c, ss, in->env.pairs.items[i].value, &unset);
            if (in->kind == KN_INSTR_ENV && k) {
                if (is_secret_key(k)) {
                    kn_autofree char *q = quote(k);
                    report(c, in->node, in->line, &R_SECRETS,
                           "Do not use ARG or ENV instructions for sensitive data (ENV %s)", q);
                }
                env_set(&sets, k, v ? v : "");
            }
        }
        if (in->env.is_legacy)
            report(c, in->node, in->line, &R_LEGACY_KV,
                   "\"%s key=value\" should be used instead of legacy \"%s key value\" format", kw,
                   kw);
        report_unmatched(c, in, st, ss, &unset, &reported);
        strvec_copy(&ss->env, &sets);
        return;
    }
    case KN_INSTR_ARG:
        for (size_t i = 0; i < in->arg.defs.len; i++) {
            const kn_instr_arg_def *def = &in->arg.defs.items[i];
            if (is_secret_key(def->key)) {
                kn_autofree char *q = quote(def->key);
                report(c, in->node, in->line, &R_SECRETS,
                       "Do not use ARG or ENV instructions for sensitive data (ARG %s)", q);
            }
            if (def->value) {
                kn_strvec_free(&unset);
                kn_autofree char *v = field(c, ss, def->value, &unset);
                report_unmatched(c, in, st, ss, &unset, &reported);
                env_set(&ss->env, def->key, v ? v : "");
            } else {
                const char *gv = kn_expand_lookup_kv(&c->global_env, def->key);
                if (gv && global_index(c, def->key) >= 0)
                    env_set(&ss->env, def->key, gv);
            }
            if (!in_strvec(&ss->declared, def->key))
                kn_strvec_push(&ss->declared, def->key);
        }
        return;
    case KN_INSTR_COPY:
    case KN_INSTR_ADD: {
        const kn_instr_copy *cp = &in->copy;
        const char *flags[] = {cp->chown, cp->chmod,
                               in->kind == KN_INSTR_ADD ? cp->checksum : NULL};
        for (size_t i = 0; i < KN_ARRAY_LEN(flags); i++)
            if (flags[i])
                free(field(c, ss, flags[i], &unset));
        for (size_t i = 0; i < cp->sources.len; i++) {
            kn_autofree char *src = field(c, ss, cp->sources.items[i], &unset);
            if (src && !cp->from)
                check_copy_ignored(c, in, src);
        }
        free(field(c, ss, cp->dest, &unset));
        for (size_t i = 0; i < cp->heredocs.len; i++) {
            const kn_instr_heredoc_src *h = &cp->heredocs.items[i];
            if (!h->expand || !h->data)
                continue;
            capture cap = {&ss->env, KN_STRVEC_INIT, KN_STRVEC_INIT};
            kn_expand_env env = {cap_lookup, cap_used, &cap};
            kn_err err = KN_ERR_INIT;
            char *out = NULL;
            if (kn_expand_heredoc(h->data, &env, &out, &err) < 0)
                kn_err_clear(&err);
            free(out);
            for (size_t j = 0; j < cap.unset.len; j++)
                if (!in_strvec(&unset, cap.unset.items[j]))
                    kn_strvec_push(&unset, cap.unset.items[j]);
            capture_free(&cap);
        }
        report_unmatched(c, in, st, ss, &unset, &reported);
        return;
    }
    case KN_INSTR_WORKDIR: {
        kn_autofree char *p = field(c, ss, in->value, &unset);
        report_unmatched(c, in, st, ss, &unset, &reported);
        if (p && !ss->workdir_set && p[0] != '/') {
            kn_autofree char *q = quote(p);
            report(c, in->node, in->line, &R_WORKDIR_RELATIVE,
                   "Relative workdir %s can have unexpected results if the base image changes", q);
        }
        ss->workdir_set = true;
        return;
    }
    case KN_INSTR_USER:
    case KN_INSTR_STOPSIGNAL:
        free(field(c, ss, in->value, &unset));
        report_unmatched(c, in, st, ss, &unset, &reported);
        return;
    case KN_INSTR_VOLUME:
        for (size_t i = 0; i < in->volumes.len; i++)
            free(field(c, ss, in->volumes.items[i], &unset));
        report_unmatched(c, in, st, ss, &unset, &reported);
        return;
    case KN_INSTR_RUN:
        for (size_t i = 0; i < in->run.mounts.len; i++) {
            capture cap = {&ss->env, KN_STRVEC_INIT, KN_STRVEC_INIT};
            kn_instr_mount m;
            kn_err err = KN_ERR_INIT;
            if (kn_instr_parse_mount(in->run.mounts.items[i].raw, mount_expand, &cap, &m, &err) < 0)
                kn_err_clear(&err);
            else
                kn_instr_mount_free(&m);
            for (size_t j = 0; j < cap.unset.len; j++)
                if (!in_strvec(&unset, cap.unset.items[j]))
                    kn_strvec_push(&unset, cap.unset.items[j]);
            capture_free(&cap);
        }
        report_unmatched(c, in, st, ss, &unset, &reported);
        if (!is_skipped(c, in->node, &R_GLOBAL_ARG_SCOPE))
            check_run_global_args(c, in, st, ss, &reported);
        return;
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT:
        check_used_once(c, in, in->kind == KN_INSTR_CMD ? &once->cmd : &once->entrypoint);
        if (!in->cmd.is_exec && !ss->has_shell)
            report(c, in->node, in->line, &R_JSON_ARGS,
                   "JSON arguments recommended for %s to prevent unintended behavior related to "
                   "OS signals",
                   kw);
        return;
    case KN_INSTR_HEALTHCHECK:
        check_used_once(c, in, &once->healthcheck);
        return;
    case KN_INSTR_SHELL:
        ss->has_shell = true;
        return;
    case KN_INSTR_EXPOSE:
        for (size_t i = 0; i < in->ports.len; i++) {
            capture cap = {&ss->env, KN_STRVEC_INIT, KN_STRVEC_INIT};
            kn_expand_env env = {cap_lookup, cap_used, &cap};
            kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
            kn_err err = KN_ERR_INIT;
            if (kn_expand_words(in->ports.items[i], c->df->escape, &env, &words, &err) < 0)
                kn_err_clear(&err);
            capture_free(&cap);
            for (size_t j = 0; j < words.len; j++)
                check_expose_port(c, in, words.items[j]);
        }
        return;
    case KN_INSTR_FROM:
    case KN_INSTR_ONBUILD:
    case KN_INSTR_MAINTAINER:
        return;
    }
}

static void stage_state_free(stage_state *ss)
{
    kn_strvec_free(&ss->env);
    kn_strvec_free(&ss->declared);
}

/* Dispatch every stage in file order (all reachable): FROM checks, then the
 * instruction-level rules with a modelled stage env. */
static void check_stages(lint_ctx *c)
{
    for (size_t i = 0; i < c->d->stages.len; i++) {
        const kn_instr_stage *st = c->d->stages.items[i];
        stage_state *ss = &c->states[i];
        kn_autofree char *base = check_from(c, st);
        /* G-5: the base names an earlier stage (the most recent of the name). */
        long parent = -1;
        for (size_t j = 0; base && j < i; j++)
            if (c->d->stages.items[j]->name && strcmp(c->d->stages.items[j]->name, base) == 0)
                parent = (long)j;
        if (parent >= 0) {
            const stage_state *ps = &c->states[parent];
            strvec_copy(&ss->env, &ps->env);
            strvec_copy(&ss->declared, &ps->declared);
            ss->workdir_set = ps->workdir_set;
            ss->has_shell = ps->has_shell;
        } else {
            kn_strvec_push(&ss->env, DEFAULT_PATH); /* C-2, C-4 */
        }
        used_once once = {NULL, NULL, NULL};
        for (size_t j = 0; j < st->instrs.len; j++)
            check_instr(c, st, ss, st->instrs.items[j], &once);
    }
}

/* Order findings by line, keeping check order within a line (insertion
 * sort: stable, and lists are short). */
static void sort_findings(kn_lint_result *r)
{
    for (size_t i = 1; i < r->findings.len; i++) {
        kn_lint_finding f = r->findings.items[i];
        size_t j = i;
        for (; j > 0 && r->findings.items[j - 1].line > f.line; j--)
            r->findings.items[j] = r->findings.items[j - 1];
        r->findings.items[j] = f;
    }
}

void kn_lint_result_free(kn_lint_result *r)
{
    for (size_t i = 0; i < r->findings.len; i++)
        free(r->findings.items[i].message);
    kn_vec_free(&r->findings);
    r->error = false;
}

int kn_lint_run(const kn_df *df, const kn_dockerfile *d, const kn_lint_opts *opts,
                kn_lint_result *out, kn_err *err)
{
    *out = (kn_lint_result){{NULL, 0, 0}, false};
    lint_ctx c = {df, d, opts, {0}, out, KN_STRVEC_INIT, KN_STRVEC_INIT, {NULL, 0, 0}, NULL, NULL};
    const char *check = kn_df_directive_value(df, "check");
    if (check && kn_lint_parse_config(check, &c.cfg, err) < 0) {
        int line = 0;
        for (size_t i = 0; i < df->directives.len; i++)
            if (strcmp(df->directives.items[i].name, "check") == 0)
                line = df->directives.items[i].line;
        kn_err_wrap(err, "failed to parse check options");
        kn_err_set_pos(err, df->path, line);
        return -1;
    }
    out->error = c.cfg.error;
    for (size_t i = 0; i < df->warnings.len; i++)
        report(&c, NULL, df->warnings.items[i].line, &R_NO_EMPTY_CONTINUATION,
               "Empty continuation line");
    check_parse_rules(&c);
    check_stage_names_and_casing(&c);
    build_global_scope(&c);
    c.states = kn_xcalloc(d->stages.len, sizeof(stage_state));
    check_stages(&c);
    for (size_t i = 0; i < d->stages.len; i++)
        stage_state_free(&c.states[i]);
    free(c.states);
    kn_strvec_free(&c.global_env);
    kn_strvec_free(&c.global_keys);
    kn_vec_free(&c.global_lines);
    kn_lint_config_free(&c.cfg);
    sort_findings(out);
    return 0;
}
