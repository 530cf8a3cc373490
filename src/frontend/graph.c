/* The stage graph (SEMANTICS parts 4 and 5), in BuildKit's order (G-21):
 * global scope, stage registration (FROM and --platform expansion, stage vs
 * image), named contexts, target, --from / from= resolution, reference
 * syntax, cycles, reachability, then the checks that only reachable stages
 * get (G-13). */
#include "frontend/graph.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/str.h"
#include "frontend/expand.h"
#include "base/ref.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ---- platforms (A-13) ---- */

static const char *const known_os[] = {
    "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
    "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos",
};

static const char *const known_arch[] = {
    "386",     "amd64",   "amd64p32", "arm",    "armbe",  "arm64",    "arm64be",   "ppc64",
    "ppc64le", "loong64", "mips",     "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le",
    "ppc",     "riscv",   "riscv64",  "s390",   "s390x",  "sparc",    "sparc64",   "wasm",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* containerd's normalizeArch: *arch and *variant are replaced (owned). */
static void normalize_arch(char **arch, char **variant)
{
    char *a = kn_str_lower(*arch);
    char *v = kn_str_lower(*variant ? *variant : "");
    free(*arch);
    free(*variant);
    const char *na = a, *nv = v;
    if (strcmp(a, "i386") == 0) {
        na = "386", nv = "";
    } else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0) {
        na = "amd64";
        if (strcmp(v, "v1") == 0)
            nv = "";
    } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
        na = "arm64";
        if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0)
            nv = "";
    } else if (strcmp(a, "armhf") == 0) {
        na = "arm", nv = "v7";
    } else if (strcmp(a, "armel") == 0) {
        na = "arm", nv = "v6";
    } else if (strcmp(a, "arm") == 0) {
        if (*v == '\0' || strcmp(v, "7") == 0)
            nv = "v7";
        else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0)
            nv = strcmp(v, "5") == 0 ? "v5" : strcmp(v, "6") == 0 ? "v6" : "v8";
    }
    *arch = kn_xstrdup(na);
    *variant = kn_xstrdup(nv);
    free(a);
    free(v);
}

static char *format_platform(const char *os, const char *arch, const char *variant)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%s/%s", os, arch);
    if (variant && *variant)
        kn_buf_addf(&b, "/%s", variant);
    return kn_buf_release(&b);
}

char *kn_graph_host_platform(void)
{
    struct utsname u;
    if (uname(&u) < 0)
        return kn_xstrdup("linux/amd64");
    kn_autofree char *os = kn_str_lower(u.sysname);
    char *arch = NULL, *variant = NULL;
    if (strcmp(u.machine, "armv7l") == 0 || strcmp(u.machine, "armv7") == 0) {
        arch = kn_xstrdup("arm"), variant = kn_xstrdup("v7");
    } else if (strcmp(u.machine, "armv6l") == 0) {
        arch = kn_xstrdup("arm"), variant = kn_xstrdup("v6");
    } else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i586") == 0) {
        arch = kn_xstrdup("386"), variant = kn_xstrdup("");
    } else {
        arch = kn_xstrdup(u.machine), variant = kn_xstrdup("");
    }
    normalize_arch(&arch, &variant);
    char *out = format_platform(os, arch, variant);
    free(arch);
    free(variant);
    return out;
}

static bool is_platform_component(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Append the '/'-separated parts of s to parts ("a//b" gives an empty one). */
static void split_slash(const char *s, kn_strvec *parts)
{
    for (;;) {
        const char *slash = strchr(s, '/');
        kn_strvec_pushn(parts, s, slash ? (size_t)(slash - s) : strlen(s));
        if (!slash)
            break;
        s = slash + 1;
    }
}

/* containerd's platforms.Parse followed by Normalize. */
int kn_graph_parse_platform(const char *s, const char *host, char **out, kn_err *err)
{
    kn_autostrvec kn_strvec parts = KN_STRVEC_INIT;
    split_slash(s, &parts);
    if (parts.len > 3)
        return kn_errf(err, KN_EINPUT, "\"%s\": cannot parse platform specifier: invalid argument",
                       s);
    for (size_t i = 0; i < parts.len; i++)
        if (!is_platform_component(parts.items[i]))
            return kn_errf(err, KN_EINPUT,
                           "\"%s\" is an invalid component of \"%s\": platform specifier component "
                           "must match \"^[A-Za-z0-9_-]+$\": invalid argument",
                           parts.items[i], s);
    /* The host's parts fill what is missing. */
    kn_autostrvec kn_strvec hp = KN_STRVEC_INIT;
    split_slash(host, &hp);
    kn_autofree char *os = kn_str_lower(parts.items[0]);
    if (strcmp(os, "macos") == 0) {
        free(os);
        os = kn_xstrdup("darwin");
    }
    char *arch = NULL, *variant = NULL;
    if (parts.len == 1) {
        if (in_list(os, known_os, KN_ARRAY_LEN(known_os))) {
            arch = kn_xstrdup(hp.len > 1 ? hp.items[1] : "amd64");
            variant = kn_xstrdup(hp.len > 2 ? hp.items[2] : "");
        } else {
            arch = kn_xstrdup(parts.items[0]);
            variant = kn_xstrdup("");
            normalize_arch(&arch, &variant);
            if (!in_list(arch, known_arch, KN_ARRAY_LEN(known_arch))) {
                free(arch);
                free(variant);
                return kn_errf(err, KN_EINPUT,
                               "\"%s\": unknown operating system or architecture: invalid argument",
                               s);
            }
            free(os);
            os = kn_xstrdup(hp.items[0]);
        }
    } else {
        arch = kn_xstrdup(parts.items[1]);
        variant = kn_xstrdup(parts.len == 3 ? parts.items[2] : "");
        normalize_arch(&arch, &variant);
    }
    *out = format_platform(os, arch, variant);
    free(arch);
    free(variant);
    return 0;
}

/* ---- the builder's state ---- */

typedef struct gctx {
    kn_graph *g;
    const kn_graph_opts *opts;
    const char *path;
    char escape;
    kn_map build_args;    /* key -> value (owned) */
    kn_map scope;         /* the global scope (A-2): key -> value (owned) */
    kn_map default_scope; /* the same without build args, for skip reasons */
    kn_map declared;      /* every ARG key in the file -> NULL */
    kn_strvec *from_vars; /* per stage: names its FROM base references */
} gctx;

static void record_used(void *ctx, const char *name, bool is_set)
{
    kn_strvec *v = ctx;
    if (kn_strvec_find(v, name) < 0)
        kn_strvec_push(v, name);
}

typedef struct tracked_env {
    kn_map *scope;
    kn_strvec *used;
} tracked_env;

static const char *tracked_lookup(void *ctx, const char *name)
{
    tracked_env *t = ctx;
    return kn_map_get(t->scope, name);
}

static void tracked_used(void *ctx, const char *name, bool is_set)
{
    tracked_env *t = ctx;
    if (t->used)
        record_used(t->used, name, is_set);
}

/* Word(word, scope); used (may be NULL) collects the names referenced. */
static int expand_global(const gctx *c, kn_map *scope, const char *word, kn_strvec *used,
                         char **out, kn_err *err)
{
    tracked_env t = {scope, used};
    kn_expand_env env = {tracked_lookup, tracked_used, &t};
    return kn_expand_word(word, c->escape, &env, out, err);
}

static void set_value(kn_map *m, const char *key, const char *value)
{
    kn_map_set(m, key, kn_xstrdup(value));
}

/* ---- A-2, A-10: the global scope ---- */

static void add_predefined(gctx *c, const char *prefix, const char *platform)
{
    kn_autostrvec kn_strvec parts = KN_STRVEC_INIT;
    split_slash(platform, &parts);
    static const char *const suffixes[] = {"PLATFORM", "OS", "ARCH", "VARIANT", "OSVERSION"};
    for (size_t i = 0; i < KN_ARRAY_LEN(suffixes); i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%s", prefix, suffixes[i]);
        const char *value = "";
        if (i == 0)
            value = platform;
        else if (i <= 3 && parts.len > i - 1)
            value = parts.items[i - 1];
        set_value(&c->default_scope, key, value);
        const char *override = kn_map_get(&c->build_args, key);
        set_value(&c->scope, key, override ? override : value);
    }
}

static int build_global_scope(gctx *c, kn_err *err)
{
    const kn_dockerfile *d = c->g->d;
    add_predefined(c, "BUILD", c->g->build_platform);
    add_predefined(c, "TARGET", c->g->target_platform);
    /* TARGETSTAGE: --target as given, else the last stage's name, else "default" (A-10). */
    const char *target_stage = NULL;
    for (size_t i = 0; i < c->opts->n_targets && !target_stage; i++)
        if (c->opts->targets[i] && *c->opts->targets[i])
            target_stage = c->opts->targets[i];
    if (!target_stage)
        target_stage = d->stages.items[d->stages.len - 1]->name;
    if (!target_stage)
        target_stage = "default";
    set_value(&c->default_scope, "TARGETSTAGE", target_stage);
    const char *override = kn_map_get(&c->build_args, "TARGETSTAGE");
    set_value(&c->scope, "TARGETSTAGE", override ? override : target_stage);

    for (size_t i = 0; i < d->global_args.len; i++) {
        const kn_instr *in = d->global_args.items[i];
        for (size_t k = 0; k < in->arg.defs.len; k++) {
            const kn_instr_arg_def *def = &in->arg.defs.items[k];
            kn_map_set(&c->declared, def->key, NULL);
            const char *given = kn_map_get(&c->build_args, def->key);
            if (given) {
                set_value(&c->scope, def->key, given);
            } else if (def->value) {
                char *v = NULL;
                if (expand_global(c, &c->scope, def->value, NULL, &v, err) < 0) {
                    kn_err_set_pos(err, c->path, in->line);
                    return -1;
                }
                kn_map_set(&c->scope, def->key, v);
            }
            if (def->value) {
                char *v = NULL;
                kn_err e2 = KN_ERR_INIT;
                if (expand_global(c, &c->default_scope, def->value, NULL, &v, &e2) == 0)
                    kn_map_set(&c->default_scope, def->key, v);
                kn_err_clear(&e2);
            }
        }
    }
    size_t pos = 0;
    const char *key;
    void *value;
    while (kn_map_next(&c->scope, &pos, &key, &value)) {
        kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s=%s", key, (const char *)value);
        kn_strvec_push_owned(&c->g->global_scope, kn_buf_release(&b));
    }
    return 0;
}

/* ---- named contexts (G-15 .. G-17) ---- */

/* The stage named `name` (case-insensitive), the last definition (G-11, G-19).
 * Stage names are stored lowercased (I-5), so one map lookup does. */
static long find_stage_nocase(const kn_graph *g, const char *name)
{
    const kn_map *by_name = g->stage_by_name;
    kn_autofree char *lower = kn_str_lower(name);
    void *v = kn_map_get(by_name, lower);
    return v ? (long)((uintptr_t)v - 1) : -1;
}

static int parse_contexts(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < c->opts->n_contexts; i++) {
        const char *spec = c->opts->contexts[i];
        const char *eq = strchr(spec, '=');
        if (!eq || eq == spec || eq[1] == '\0')
            return kn_errf(err, KN_EINPUT, "invalid build context \"%s\": expected NAME=SOURCE",
                           spec);
        kn_graph_context ctx = {kn_xstrndup(spec, (size_t)(eq - spec)), kn_xstrdup(eq + 1),
                                KN_GRAPH_CONTEXT_LOCAL, NULL, -1};
        const char *src = ctx.source;
        int rc = 0;
        if (kn_str_has_prefix(src, "docker-image://")) {
            ctx.kind = KN_GRAPH_CONTEXT_IMAGE;
            kn_ref r;
            if (kn_ref_parse(src + strlen("docker-image://"), &r, err) < 0) {
                rc = kn_err_wrap(err, "invalid build context %s", spec);
            } else {
                kn_ref_default_tag(&r);
                ctx.image = kn_ref_familiar(&r);
                kn_ref_free(&r);
            }
        } else if (kn_str_has_prefix(src, "oci-layout://")) {
            ctx.kind = KN_GRAPH_CONTEXT_OCI_LAYOUT;
            if (src[strlen("oci-layout://")] == '\0')
                rc = kn_errf(err, KN_EINPUT, "invalid build context %s: empty oci-layout path",
                             spec);
        } else if (kn_str_has_prefix(src, "target:")) {
            ctx.kind = KN_GRAPH_CONTEXT_TARGET;
            const char *t = src + strlen("target:");
            ctx.stage = find_stage_nocase(g, t);
            if (ctx.stage < 0)
                rc = kn_errf(err, KN_EINPUT,
                             "invalid build context %s: target stage \"%s\" could not be found",
                             spec, t);
        } else if (kn_str_has_prefix(src, "git://") || kn_str_has_prefix(src, "git@") ||
                   kn_str_has_prefix(src, "http://") || kn_str_has_prefix(src, "https://")) {
            ctx.kind = KN_GRAPH_CONTEXT_URL;
        }
        kn_vec_push(&g->contexts, ctx);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The context for a stage or image name (G-15): the name normalised to its
 * short form without :latest, tried with "::platform" first. A name that is
 * not a valid reference is not looked up [kiln] (G-18). -1 when none. */
static long find_context(const kn_graph *g, const char *name, const char *platform)
{
    if (g->contexts.len == 0)
        return -1;
    kn_ref r;
    kn_err e = KN_ERR_INIT;
    if (kn_ref_parse(name, &r, &e) < 0) {
        kn_err_clear(&e);
        return -1;
    }
    kn_autofree char *fam = kn_ref_familiar(&r);
    kn_ref_free(&r);
    if (kn_str_has_suffix(fam, ":latest"))
        fam[strlen(fam) - strlen(":latest")] = '\0';
    kn_buf key = KN_BUF_INIT;
    kn_buf_addf(&key, "%s::%s", fam, platform);
    long found = -1;
    for (int pass = 0; pass < 2 && found < 0; pass++) {
        const char *want = pass == 0 ? key.data : fam;
        for (size_t i = g->contexts.len; i-- > 0;)
            if (strcmp(g->contexts.items[i].name, want) == 0) {
                found = (long)i;
                break;
            }
    }
    kn_buf_free(&key);
    return found;
}

/* ---- stage registration (G-1 .. G-6, G-3, G-4) ---- */

static int register_stages(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    const kn_dockerfile *d = g->d;
    for (size_t i = 0; i < d->stages.len; i++) {
        const kn_instr_stage *st = d->stages.items[i];
        const kn_instr *from = st->from;
        kn_graph_stage *s = &g->stages.items[i];
        if (expand_global(c, &c->scope, from->from.base, &c->from_vars[i], &s->base, err) < 0) {
            kn_err_set_pos(err, c->path, from->line);
            return -1;
        }
        if (*s->base == '\0') /* G-3 */
            return kn_errf_at(err, KN_EINPUT, c->path, from->line,
                              "base name (%s) should not be blank", from->from.base);
        if (from->from.platform) { /* G-4 */
            kn_autofree char *p = NULL;
            if (expand_global(c, &c->scope, from->from.platform, NULL, &p, err) < 0) {
                kn_err_set_pos(err, c->path, from->line);
                return -1;
            }
            if (*p == '\0')
                return kn_errf_at(err, KN_EINPUT, c->path, from->line,
                                  "empty platform value from expression %s", from->from.platform);
            if (kn_graph_parse_platform(p, g->target_platform, &s->platform, err) < 0) {
                kn_err_wrap(err, "failed to parse platform %s", p);
                kn_err_set_pos(err, c->path, from->line);
                return -1;
            }
        } else {
            s->platform = kn_xstrdup(g->target_platform);
        }
        /* G-5: exact match against the names of earlier stages, most recent first. */
        for (size_t j = i; j-- > 0;) {
            if (g->stages.items[j].has_name && strcmp(g->stages.items[j].name, s->base) == 0) {
                s->base_stage = (long)j;
                break;
            }
        }
        if (s->base_stage >= 0) {
            s->base_kind = KN_GRAPH_BASE_STAGE;
            s->base_ref = kn_xstrdup(g->stages.items[s->base_stage].name);
            /* G-9 quirk: --platform on FROM <stage> is ignored. */
            free(s->platform);
            s->platform = kn_xstrdup(g->stages.items[s->base_stage].platform);
        } else if (strcmp(s->base, "scratch") == 0) {
            s->base_kind = KN_GRAPH_BASE_SCRATCH;
            s->base_ref = kn_xstrdup("scratch");
        } else {
            s->base_kind = KN_GRAPH_BASE_IMAGE; /* checked in check_references (G-8) */
        }
        /* G-16: a context named like the stage replaces it. */
        if (s->has_name) {
            long ctx = find_context(g, s->name, s->platform);
            if (ctx >= 0) {
                s->is_replaced = true;
                s->context = ctx;
            }
        }
    }
    return 0;
}

/* ---- targets (G-19) ---- */

static int resolve_targets(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < c->opts->n_targets; i++) {
        const char *t = c->opts->targets[i];
        if (!t || !*t)
            continue;
        long idx = find_stage_nocase(g, t);
        if (idx < 0) {
            const char **names = kn_xcalloc(g->stages.len + 1, sizeof(char *));
            kn_buf list = KN_BUF_INIT;
            size_t n_listed = 0;
            for (size_t k = 0; k < g->stages.len; k++) {
                if (!g->stages.items[k].has_name)
                    continue;
                names[k] = g->stages.items[k].name;
                if (n_listed < 20)
                    kn_buf_addf(&list, "%s%s", n_listed ? ", " : "", names[k]);
                else if (n_listed == 20)
                    kn_buf_adds(&list, ", ...");
                n_listed++;
            }
            const char *best = kn_str_suggest(t, names, g->stages.len, 2);
            kn_buf msg = KN_BUF_INIT;
            kn_buf_addf(&msg, "target stage \"%s\" could not be found", t);
            if (best)
                kn_buf_addf(&msg, " (did you mean %s?)", best);
            if (n_listed)
                kn_buf_addf(&msg, "; the named stages are: %s", list.data);
            else
                kn_buf_adds(&msg, "; the Dockerfile has no named stages");
            kn_errf(err, KN_EINPUT, "%s", msg.data);
            kn_buf_free(&msg);
            kn_buf_free(&list);
            free(names);
            return -1;
        }
        bool seen = false;
        for (size_t k = 0; k < g->targets.len; k++)
            seen = seen || g->targets.items[k] == (size_t)idx;
        if (!seen)
            kn_vec_push(&g->targets, (size_t)idx);
    }
    if (g->targets.len == 0)
        kn_vec_push(&g->targets, g->stages.len - 1);
    return 0;
}

/* ---- edges (G-10 .. G-12) ---- */

/* Go's strconv.Atoi: optional sign, decimal digits, no overflow. */
static bool go_atoi(const char *s, long long *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return false;
    unsigned long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (unsigned long long)INT64_MAX / 10)
            return false;
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v > (unsigned long long)INT64_MAX + (neg ? 1u : 0u))
            return false;
    }
    *out = neg ? (long long)(0 - v) : (long long)v;
    return true;
}

static void push_edge(kn_graph_stage *s, kn_graph_edge_kind kind, const kn_instr *in,
                      const char *value, long stage)
{
    kn_graph_edge e = {kind, in, kn_xstrdup(value), stage, NULL, -1};
    kn_vec_push(&s->edges, e);
}

/* The --from / from= edges of one instruction (G-10 .. G-12). */
static int add_instr_edges(gctx *c, kn_graph_stage *s, const kn_instr *in, kn_err *err)
{
    kn_graph *g = c->g;
    if (in->kind == KN_INSTR_COPY && in->copy.from) {
        const char *v = in->copy.from;
        long long idx;
        long target;
        if (go_atoi(v, &idx)) { /* G-11 (1) */
            if (idx < 0 || idx >= (long long)g->stages.len)
                return kn_errf_at(err, KN_EINPUT, c->path, in->line, "invalid stage index %lld",
                                  idx);
            target = (long)idx;
        } else {
            target = find_stage_nocase(g, v); /* G-11 (2), else (3) */
        }
        push_edge(s, KN_GRAPH_EDGE_COPY, in, v, target);
    } else if (in->kind == KN_INSTR_RUN) {
        for (size_t m = 0; m < in->run.mounts.len; m++) {
            const char *v = in->run.mounts.items[m].from;
            if (v && *v) /* G-12: names only, no indices */
                push_edge(s, KN_GRAPH_EDGE_MOUNT, in, v, find_stage_nocase(g, v));
        }
    }
    return 0;
}

static int resolve_edges(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < g->stages.len; i++) {
        kn_graph_stage *s = &g->stages.items[i];
        if (s->base_kind != KN_GRAPH_BASE_SCRATCH || s->is_replaced)
            push_edge(s, KN_GRAPH_EDGE_FROM, s->stage->from, s->base, s->base_stage);
        /* G-24: the ONBUILD triggers of a base stage run first, in this stage,
         * so their --from edges are this stage's. One generation only (G-25).
         * Triggers of an image base are known only once the image is pulled. */
        if (s->base_stage >= 0 && !s->is_replaced) {
            const kn_instr_stage *base = g->stages.items[s->base_stage].stage;
            for (size_t k = 0; k < base->instrs.len; k++) {
                const kn_instr *in = base->instrs.items[k];
                if (in->kind == KN_INSTR_ONBUILD && in->onbuild.trigger &&
                    add_instr_edges(c, s, in->onbuild.trigger, err) < 0)
                    return -1;
            }
        }
        for (size_t k = 0; k < s->stage->instrs.len; k++)
            if (add_instr_edges(c, s, s->stage->instrs.items[k], err) < 0)
                return -1;
    }
    return 0;
}

/* ---- G-8: reference syntax of every image, reachable or not; contexts ---- */

static int parse_image(const gctx *c, const char *name, int line, char **familiar, char **full,
                       kn_err *err)
{
    kn_ref r;
    if (kn_ref_parse(name, &r, err) < 0) {
        kn_err_wrap(err, "failed to parse stage name \"%s\"", name);
        kn_err_set_pos(err, c->path, line);
        return -1;
    }
    kn_ref_default_tag(&r);
    *familiar = kn_ref_familiar(&r);
    if (full)
        *full = kn_ref_string(&r);
    kn_ref_free(&r);
    return 0;
}

/* Point an external edge at its context or image. */
static void attach_context(kn_graph *g, kn_graph_edge *e, long ctx)
{
    const kn_graph_context *x = &g->contexts.items[ctx];
    e->context = ctx;
    free(e->image);
    e->image = x->image ? kn_xstrdup(x->image) : NULL;
    e->stage = x->stage;
}

static int check_references(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < g->stages.len; i++) {
        kn_graph_stage *s = &g->stages.items[i];
        for (size_t k = 0; k < s->edges.len; k++) {
            kn_graph_edge *e = &s->edges.items[k];
            bool is_base = e->kind == KN_GRAPH_EDGE_FROM;
            if (e->stage >= 0 || (is_base && s->base_kind != KN_GRAPH_BASE_IMAGE))
                continue;
            kn_autofree char *full = NULL;
            if (parse_image(c, e->value, e->instr->line, &e->image, is_base ? &full : NULL, err) <
                0)
                return -1;
            if (is_base) {
                s->base_ref = kn_xstrdup(e->image);
                s->base_full = kn_steal_pointer(&full);
            }
            /* G-16: a context named like the image replaces it; `context` is never
             * looked up (scratch has no edge). */
            if (strcmp(e->value, "context") != 0) {
                long ctx = find_context(g, e->value, s->platform);
                if (ctx >= 0) {
                    attach_context(g, e, ctx);
                    if (is_base && !s->is_replaced) {
                        s->base_kind = KN_GRAPH_BASE_CONTEXT;
                        s->context = ctx;
                    }
                }
            }
        }
        if (s->is_replaced) {
            /* The stage is the context: its FROM edge now points there, its
             * instructions never run (G-16). */
            kn_graph_edge *e = &s->edges.items[0];
            attach_context(g, e, s->context);
            e->kind = KN_GRAPH_EDGE_FROM;
            for (size_t k = 1; k < s->edges.len; k++) {
                free(s->edges.items[k].value);
                free(s->edges.items[k].image);
            }
            s->edges.len = 1;
            s->base_kind = KN_GRAPH_BASE_CONTEXT;
        }
        if (s->base_kind == KN_GRAPH_BASE_CONTEXT) {
            free(s->base_ref);
            s->base_ref = kn_xstrdup(g->contexts.items[s->context].source);
        }
    }
    return 0;
}

/* ---- G-22: cycles over every stage's edges ---- */

static int check_cycles(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    size_t n = g->stages.len;
    kn_autofree unsigned char *color = kn_xcalloc(n ? n : 1, 1); /* 0 new, 1 open, 2 done */
    kn_autofree size_t *stack = kn_xcalloc(n ? n : 1, sizeof(size_t));
    kn_autofree size_t *next = kn_xcalloc(n ? n : 1, sizeof(size_t));
    for (size_t root = 0; root < n; root++) {
        if (color[root])
            continue;
        size_t depth = 0;
        stack[depth++] = root;
        color[root] = 1;
        next[root] = 0;
        while (depth) {
            size_t u = stack[depth - 1];
            const kn_graph_stage *s = &g->stages.items[u];
            if (next[u] == s->edges.len) {
                color[u] = 2;
                depth--;
                continue;
            }
            const kn_graph_edge *e = &s->edges.items[next[u]++];
            if (e->stage < 0)
                continue;
            size_t v = (size_t)e->stage;
            if (color[v] == 1)
                return kn_errf_at(err, KN_EINPUT, c->path, e->instr->line,
                                  "circular dependency detected on stage: %s",
                                  g->stages.items[v].name);
            if (color[v] == 0) {
                color[v] = 1;
                next[v] = 0;
                stack[depth++] = v;
            }
        }
    }
    return 0;
}

/* ---- G-20: reachability, needed_by, reasons ---- */

static void append_hop(kn_buf *b, const kn_graph *g, const kn_graph_stage *from,
                       const kn_graph_edge *e)
{
    const char *to = g->stages.items[e->stage].name;
    switch (e->kind) {
    case KN_GRAPH_EDGE_FROM:
        if (e->context >= 0)
            kn_buf_addf(b, " ← --build-context %s=%s ← %s", g->contexts.items[e->context].name,
                        g->contexts.items[e->context].source, to);
        else if (strchr(from->stage->from->from.base, '$'))
            kn_buf_addf(b, " = %s", to);
        else
            kn_buf_addf(b, " ← FROM %s", to);
        break;
    case KN_GRAPH_EDGE_COPY:
        kn_buf_addf(b, " ← COPY --from=%s ← %s", e->value, to);
        break;
    case KN_GRAPH_EDGE_MOUNT:
        kn_buf_addf(b, " ← RUN --mount from=%s ← %s", e->value, to);
        break;
    }
}

/* Why the unreachable stage u is not built, when a needed stage's FROM would
 * have named it without the build args or contexts (the G-7 pattern). NULL
 * when there is no such stage. */
static char *alias_reason(const gctx *c, size_t u)
{
    const kn_graph *g = c->g;
    const kn_graph_stage *target = &g->stages.items[u];
    if (!target->has_name)
        return NULL;
    for (size_t i = u + 1; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        if (!s->is_needed)
            continue;
        if (!s->is_replaced && c->from_vars[i].len == 0)
            continue;
        kn_autofree char *def = NULL;
        kn_err e = KN_ERR_INIT;
        int rc = expand_global(c, (kn_map *)&c->default_scope, s->stage->from->from.base, NULL,
                               &def, &e);
        kn_err_clear(&e);
        if (rc < 0)
            continue;
        long by_default = -1;
        for (size_t j = i; j-- > 0;)
            if (g->stages.items[j].has_name && strcmp(g->stages.items[j].name, def) == 0) {
                by_default = (long)j;
                break;
            }
        if (by_default != (long)u)
            continue;
        kn_buf b = KN_BUF_INIT;
        if (s->is_replaced) {
            const kn_graph_context *x = &g->contexts.items[s->context];
            kn_buf_addf(&b, "%s is build context %s (--build-context %s=%s)", s->name, x->source,
                        x->name, x->source);
            return kn_buf_release(&b);
        }
        switch (s->base_kind) {
        case KN_GRAPH_BASE_IMAGE:
            kn_buf_addf(&b, "%s is image %s", s->name, s->base_ref);
            break;
        case KN_GRAPH_BASE_STAGE:
            kn_buf_addf(&b, "%s is stage %s", s->name, s->base_ref);
            break;
        case KN_GRAPH_BASE_CONTEXT:
            kn_buf_addf(&b, "%s is build context %s", s->name, s->base_ref);
            break;
        case KN_GRAPH_BASE_SCRATCH:
            kn_buf_addf(&b, "%s is scratch", s->name);
            break;
        }
        kn_buf_addf(&b, " (FROM %s", s->stage->from->from.base);
        const kn_strvec *vars = &c->from_vars[i];
        for (size_t k = 0; k < vars->len; k++) {
            const char *v = kn_map_get(&c->build_args, vars->items[k]);
            if (v && kn_map_has(&c->declared, vars->items[k]))
                kn_buf_addf(&b, ", %s=%s", vars->items[k], v);
        }
        kn_buf_adds(&b, ")");
        return kn_buf_release(&b);
    }
    return NULL;
}

/* Hops shown at each end of a long path in a reason. */
#define PATH_ENDS 3

static void compute_reachability(gctx *c)
{
    kn_graph *g = c->g;
    size_t n = g->stages.len;
    kn_autofree size_t *queue = kn_xcalloc(n, sizeof(size_t));
    kn_autofree long *parent = kn_xcalloc(n, sizeof(long));       /* stage, -1 for the root */
    kn_autofree size_t *via = kn_xcalloc(n, sizeof(size_t));      /* edge index in parent */
    kn_autofree unsigned *seen = kn_xcalloc(n, sizeof(unsigned)); /* target number + 1 */
    kn_autofree char **paths = kn_xcalloc(n, sizeof(char *));
    for (size_t t = 0; t < g->targets.len; t++) {
        size_t root = g->targets.items[t];
        const char *tname = g->stages.items[root].name;
        size_t head = 0, tail = 0;
        queue[tail++] = root;
        seen[root] = (unsigned)t + 1;
        parent[root] = -1;
        while (head < tail) {
            size_t u = queue[head++];
            kn_graph_stage *s = &g->stages.items[u];
            if (kn_strvec_find(&s->needed_by, tname) < 0)
                kn_strvec_push(&s->needed_by, tname);
            if (!s->is_needed) {
                s->is_needed = true;
                /* The path from the first target that reaches it; long ones keep
                 * their first and last hops. */
                size_t len = 0;
                for (long w = (long)u; parent[w] >= 0; w = parent[w])
                    len++;
                size_t *hops = kn_xcalloc(len ? len : 1, sizeof(size_t));
                size_t h = len;
                for (long w = (long)u; parent[w] >= 0; w = parent[w])
                    hops[--h] = (size_t)w;
                kn_buf b = KN_BUF_INIT;
                kn_buf_adds(&b, tname);
                for (h = 0; h < len; h++) {
                    if (len > 2 * PATH_ENDS && h == PATH_ENDS) {
                        kn_buf_addf(&b, " ← … %zu more …", len - 2 * PATH_ENDS);
                        h = len - PATH_ENDS - 1;
                        continue;
                    }
                    const kn_graph_stage *p = &g->stages.items[parent[hops[h]]];
                    append_hop(&b, g, p, &p->edges.items[via[hops[h]]]);
                }
                free(hops);
                paths[u] = kn_buf_release(&b);
            }
            for (size_t k = 0; k < s->edges.len; k++) {
                const kn_graph_edge *e = &s->edges.items[k];
                if (e->stage < 0 || seen[e->stage] == (unsigned)t + 1)
                    continue;
                seen[e->stage] = (unsigned)t + 1;
                parent[e->stage] = (long)u;
                via[e->stage] = k;
                queue[tail++] = (size_t)e->stage;
            }
        }
    }
    kn_buf all_targets = KN_BUF_INIT;
    for (size_t t = 0; t < g->targets.len; t++)
        kn_buf_addf(&all_targets, "%s%s", t ? ", " : "", g->stages.items[g->targets.items[t]].name);
    for (size_t u = 0; u < n; u++) {
        kn_graph_stage *s = &g->stages.items[u];
        kn_buf b = KN_BUF_INIT;
        bool is_target = false;
        for (size_t t = 0; t < g->targets.len; t++)
            is_target = is_target || g->targets.items[t] == u;
        if (is_target) {
            kn_buf_adds(&b, "target");
            if (s->needed_by.len > 1) {
                kn_buf_adds(&b, "; also needed by ");
                for (size_t k = 0, m = 0; k < s->needed_by.len; k++)
                    if (strcmp(s->needed_by.items[k], s->name) != 0)
                        kn_buf_addf(&b, "%s%s", m++ ? ", " : "", s->needed_by.items[k]);
            }
        } else if (s->is_needed) {
            kn_buf_adds(&b, "needed by ");
            for (size_t k = 0; k < s->needed_by.len; k++)
                kn_buf_addf(&b, "%s%s", k ? ", " : "", s->needed_by.items[k]);
            kn_buf_addf(&b, " (%s)", paths[u]);
        } else {
            kn_autofree char *why = alias_reason(c, u);
            if (why)
                kn_buf_adds(&b, why);
            else
                kn_buf_addf(&b, "not reachable from %s", all_targets.data);
        }
        if (s->is_replaced)
            kn_buf_addf(&b, "; replaced by --build-context %s=%s",
                        g->contexts.items[s->context].name, g->contexts.items[s->context].source);
        s->reason = kn_buf_release(&b);
        free(paths[u]);
    }
    kn_buf_free(&all_targets);
}

/* ---- G-13: sources must come earlier, for stages that are built ---- */

static int identity_expand(void *ctx, const char *word, char **out, kn_err *err)
{
    *out = kn_xstrdup(word);
    return 0;
}

static int check_defined_before(gctx *c, kn_err *err)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        if (!s->is_needed || s->is_replaced)
            continue;
        for (size_t k = 0; k < s->edges.len; k++) {
            const kn_graph_edge *e = &s->edges.items[k];
            if (e->kind == KN_GRAPH_EDGE_FROM || e->stage < (long)i || e->context >= 0)
                continue;
            if (e->kind == KN_GRAPH_EDGE_COPY)
                return kn_errf_at(err, KN_EINPUT, c->path, e->instr->line,
                                  "cannot copy from stage \"%s\", it needs to be defined before "
                                  "current stage \"%s\"",
                                  e->value, s->name);
            /* The mount's target, read the way the RUN will read it. */
            kn_autofree char *target = NULL;
            for (size_t m = 0; m < e->instr->run.mounts.len && !target; m++) {
                const kn_instr_mount_ref *mr = &e->instr->run.mounts.items[m];
                if (!mr->from || strcmp(mr->from, e->value) != 0)
                    continue;
                kn_instr_mount mount;
                memset(&mount, 0, sizeof mount);
                kn_err e2 = KN_ERR_INIT;
                if (kn_instr_parse_mount(mr->raw, identity_expand, NULL, &mount, &e2) == 0 &&
                    mount.target)
                    target = kn_xstrdup(mount.target);
                kn_instr_mount_free(&mount);
                kn_err_clear(&e2);
            }
            return kn_errf_at(err, KN_EINPUT, c->path, e->instr->line,
                              "cannot mount from stage \"%s\" to \"%s\", stage needs to be "
                              "defined before current command",
                              e->value, target ? target : "");
        }
    }
    return 0;
}

/* ---- images and warnings ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_images(kn_graph *g)
{
    kn_autostrvec kn_strvec all = KN_STRVEC_INIT;
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        if (!s->is_needed)
            continue;
        for (size_t k = 0; k < s->edges.len; k++)
            if (s->edges.items[k].image)
                kn_strvec_push(&all, s->edges.items[k].image);
    }
    if (all.len)
        qsort(all.items, all.len, sizeof(char *), cmp_str);
    for (size_t i = 0; i < all.len; i++)
        if (i == 0 || strcmp(all.items[i], all.items[i - 1]) != 0)
            kn_strvec_push(&g->images, all.items[i]);
}

static bool is_builtin_arg(const char *key)
{
    static const char *const proxies[] = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
                                          "ALL_PROXY"};
    static const char *const predefined[] = {
        "BUILDPLATFORM",  "BUILDOS",         "BUILDARCH",   "BUILDVARIANT",
        "BUILDOSVERSION", "TARGETPLATFORM",  "TARGETOS",    "TARGETARCH",
        "TARGETVARIANT",  "TARGETOSVERSION", "TARGETSTAGE", "SOURCE_DATE_EPOCH",
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(proxies); i++) /* A-12 */
        if (kn_str_eq_nocase(key, proxies[i]))
            return true;
    return in_list(key, predefined, KN_ARRAY_LEN(predefined)) || /* A-10 */
           kn_str_has_prefix(key, "BUILDKIT_");                  /* A-14 */
}

static void collect_warnings(gctx *c)
{
    kn_graph *g = c->g;
    for (size_t i = 0; i < g->d->stages.len; i++) {
        const kn_instr_stage *st = g->d->stages.items[i];
        for (size_t k = 0; k < st->instrs.len; k++) {
            const kn_instr *in = st->instrs.items[k];
            if (in->kind == KN_INSTR_ARG)
                for (size_t a = 0; a < in->arg.defs.len; a++)
                    kn_map_set(&c->declared, in->arg.defs.items[a].key, NULL);
        }
    }
    kn_autostrvec kn_strvec unused = KN_STRVEC_INIT;
    size_t pos = 0;
    const char *key;
    while (kn_map_next(&c->build_args, &pos, &key, NULL))
        if (!kn_map_has(&c->declared, key) && !is_builtin_arg(key))
            kn_strvec_push(&unused, key);
    if (!unused.len)
        return;
    qsort(unused.items, unused.len, sizeof(char *), cmp_str);
    kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "[Warning] One or more build-args [");
    for (size_t i = 0; i < unused.len; i++)
        kn_buf_addf(&b, "%s%s", i ? " " : "", unused.items[i]);
    kn_buf_adds(&b, "] were not consumed");
    kn_strvec_push_owned(&g->warnings, kn_buf_release(&b));
}

/* ---- entry points ---- */

static void gctx_free(gctx *c)
{
    kn_map_free(&c->build_args);
    kn_map_free(&c->scope);
    kn_map_free(&c->default_scope);
    kn_map_free(&c->declared);
    if (c->from_vars)
        for (size_t i = 0; i < c->g->d->stages.len; i++)
            kn_strvec_free(&c->from_vars[i]);
    free(c->from_vars);
}

kn_graph *kn_graph_build(const kn_dockerfile *d, const kn_graph_opts *opts, kn_err *err)
{
    kn_graph *g = kn_xcalloc(1, sizeof *g);
    g->d = d;
    g->stage_by_name = kn_xcalloc(1, sizeof(kn_map));
    kn_map_init(g->stage_by_name, NULL);
    gctx c = {g,
              opts,
              d->df->path,
              d->df->escape,
              KN_MAP_INIT(free),
              KN_MAP_INIT(free),
              KN_MAP_INIT(free),
              KN_MAP_INIT(NULL),
              NULL};
    c.from_vars = kn_xcalloc(d->stages.len, sizeof(kn_strvec));
    for (size_t i = 0; i < opts->n_build_args; i++) { /* A-1: verbatim, later wins */
        const char *kv = opts->build_args[i];
        const char *eq = strchr(kv, '=');
        kn_autofree char *key = eq ? kn_xstrndup(kv, (size_t)(eq - kv)) : kn_xstrdup(kv);
        set_value(&c.build_args, key, eq ? eq + 1 : "");
    }
    if (opts->platform) {
        kn_autofree char *host = kn_graph_host_platform();
        if (kn_graph_parse_platform(opts->platform, host, &g->build_platform, err) < 0) {
            kn_err_wrap(err, "failed to parse platform %s", opts->platform);
            goto fail;
        }
    } else {
        g->build_platform = kn_graph_host_platform();
    }
    g->target_platform = kn_xstrdup(g->build_platform);
    for (size_t i = 0; i < d->stages.len; i++) {
        const kn_instr_stage *st = d->stages.items[i];
        kn_graph_stage s;
        memset(&s, 0, sizeof s);
        s.index = i;
        s.stage = st;
        s.has_name = st->name != NULL;
        if (st->name) {
            s.name = kn_xstrdup(st->name);
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "stage-%zu", i);
            s.name = kn_xstrdup(buf);
        }
        s.base_stage = -1;
        s.context = -1;
        kn_vec_push(&g->stages, s);
        if (st->name) /* later definitions replace earlier ones */
            kn_map_set(g->stage_by_name, st->name, (void *)(uintptr_t)(i + 1));
    }
    if (build_global_scope(&c, err) < 0 || parse_contexts(&c, err) < 0 ||
        register_stages(&c, err) < 0 || resolve_targets(&c, err) < 0 || resolve_edges(&c, err) < 0)
        goto fail;
    /* G-21: cycles are reported before reference syntax, but contexts found
     * while checking references (target:STAGE) can close a cycle too. */
    kn_err ref_err = KN_ERR_INIT;
    int ref_rc = check_references(&c, &ref_err);
    if (check_cycles(&c, err) < 0) {
        kn_err_clear(&ref_err);
        goto fail;
    }
    if (ref_rc < 0) {
        *err = ref_err;
        goto fail;
    }
    compute_reachability(&c);
    if (check_defined_before(&c, err) < 0)
        goto fail;
    collect_images(g);
    collect_warnings(&c);
    gctx_free(&c);
    return g;
fail:
    gctx_free(&c);
    kn_graph_free(g);
    return NULL;
}

void kn_graph_free(kn_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->stages.len; i++) {
        kn_graph_stage *s = &g->stages.items[i];
        free(s->name);
        free(s->base);
        free(s->base_ref);
        free(s->base_full);
        free(s->platform);
        free(s->reason);
        for (size_t k = 0; k < s->edges.len; k++) {
            free(s->edges.items[k].value);
            free(s->edges.items[k].image);
        }
        kn_vec_free(&s->edges);
        kn_strvec_free(&s->needed_by);
    }
    kn_vec_free(&g->stages);
    kn_vec_free(&g->targets);
    for (size_t i = 0; i < g->contexts.len; i++) {
        free(g->contexts.items[i].name);
        free(g->contexts.items[i].source);
        free(g->contexts.items[i].image);
    }
    kn_vec_free(&g->contexts);
    kn_strvec_free(&g->images);
    kn_strvec_free(&g->warnings);
    kn_strvec_free(&g->global_scope);
    free(g->build_platform);
    free(g->target_platform);
    if (g->stage_by_name)
        kn_map_free(g->stage_by_name);
    free(g->stage_by_name);
    free(g);
}

/* ---- JSON ---- */

static const char *base_kind_name(kn_graph_base_kind k)
{
    static const char *const names[] = {
        [KN_GRAPH_BASE_SCRATCH] = "scratch",
        [KN_GRAPH_BASE_IMAGE] = "image",
        [KN_GRAPH_BASE_STAGE] = "stage",
        [KN_GRAPH_BASE_CONTEXT] = "context",
    };
    return names[k];
}

static const char *edge_kind_name(kn_graph_edge_kind k)
{
    static const char *const names[] = {
        [KN_GRAPH_EDGE_FROM] = "from",
        [KN_GRAPH_EDGE_COPY] = "copy",
        [KN_GRAPH_EDGE_MOUNT] = "mount",
    };
    return names[k];
}

static void write_strvec(kn_buf *b, const kn_strvec *v)
{
    kn_buf_addc(b, '[');
    for (size_t i = 0; i < v->len; i++) {
        if (i)
            kn_buf_addc(b, ',');
        kn_json_write_string(b, v->items[i], v->lens[i]);
    }
    kn_buf_addc(b, ']');
}

void kn_graph_write_json(const kn_graph *g, kn_buf *b)
{
    kn_buf_adds(b, "{\"targets\":[");
    for (size_t t = 0; t < g->targets.len; t++) {
        if (t)
            kn_buf_addc(b, ',');
        kn_json_write_cstr(b, g->stages.items[g->targets.items[t]].name);
    }
    kn_buf_adds(b, "],\"platform\":");
    kn_json_write_cstr(b, g->target_platform);
    kn_buf_adds(b, ",\"stages\":[");
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        kn_buf_addf(b, "%s{\"index\":%zu,\"name\":", i ? "," : "", i);
        kn_json_write_cstr(b, s->has_name ? s->name : NULL);
        kn_buf_addf(b, ",\"line\":%d,\"base\":{\"kind\":\"%s\",\"ref\":", s->stage->from->line,
                    base_kind_name(s->base_kind));
        kn_json_write_cstr(b, s->base_ref ? s->base_ref : s->base);
        if (s->base_full) {
            kn_buf_adds(b, ",\"full\":");
            kn_json_write_cstr(b, s->base_full);
        }
        kn_buf_adds(b, "},\"platform\":");
        kn_json_write_cstr(b, s->platform);
        kn_buf_addf(b, ",\"action\":\"%s\",\"reason\":", s->is_needed ? "build" : "skip");
        kn_json_write_cstr(b, s->reason);
        kn_buf_adds(b, ",\"needed_by\":");
        write_strvec(b, &s->needed_by);
        kn_buf_adds(b, ",\"edges\":[");
        for (size_t k = 0; k < s->edges.len; k++) {
            const kn_graph_edge *e = &s->edges.items[k];
            kn_buf_addf(b, "%s{\"kind\":\"%s\",\"stage\":", k ? "," : "", edge_kind_name(e->kind));
            kn_json_write_cstr(b, e->stage >= 0 ? g->stages.items[e->stage].name : NULL);
            kn_buf_adds(b, ",\"image\":");
            kn_json_write_cstr(b, e->image);
            kn_buf_adds(b, ",\"context\":");
            kn_json_write_cstr(b, e->context >= 0 ? g->contexts.items[e->context].name : NULL);
            kn_buf_addf(b, ",\"line\":%d}", e->instr->line);
        }
        kn_buf_adds(b, "]}");
    }
    kn_buf_adds(b, "],\"images\":");
    write_strvec(b, &g->images);
    kn_buf_adds(b, ",\"warnings\":");
    write_strvec(b, &g->warnings);
    kn_buf_adds(b, "}\n");
}
