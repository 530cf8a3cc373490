/* Tests for the stage graph (src/frontend/graph.c), SEMANTICS parts 4 and 5
 * and vectors V-1..V-9, V-14. Each row cites its rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "frontend/df.h"
#include "base/json.h"
#include "frontend/graph.h"
#include "frontend/instr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 6

struct row {
    const char *rule;
    const char *text;
    const char *args[MAXN];     /* --build-arg, NULL-terminated */
    const char *contexts[MAXN]; /* --build-context */
    const char *targets[MAXN];  /* --target */
    /* Expected: either err_line/err_msg, or stages + images. */
    int err_line;
    const char *err_msg; /* exact message */
    const char *stages;  /* "name action kind:ref; ..." */
    const char *images;  /* "a,b" */
};

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (n < MAXN && v[n])
        n++;
    return n;
}

static char *summarize(const kn_graph *g)
{
    static const char *const kinds[] = {"scratch", "image", "stage", "context"};
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        kn_buf_addf(&b, "%s%s %s %s:%s", i ? "; " : "", s->name, s->is_needed ? "build" : "skip",
                    kinds[s->base_kind], s->base_ref);
    }
    return kn_buf_release(&b);
}

static char *join_images(const kn_graph *g)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < g->images.len; i++)
        kn_buf_addf(&b, "%s%s", i ? "," : "", g->images.items[i]);
    return kn_buf_release(&b);
}

/* Build the graph of a row; *err is filled on failure. */
static kn_graph *build_row(const struct row *r, kn_df **df, kn_dockerfile **d, kn_err *err)
{
    *d = NULL;
    *df = kn_df_parse("Dockerfile", r->text, strlen(r->text), err);
    if (!*df)
        return NULL;
    *d = kn_instr_parse_dockerfile(*df, err);
    if (!*d)
        return NULL;
    kn_graph_opts o = {r->args,    count(r->args),    r->contexts,  count(r->contexts),
                       r->targets, count(r->targets), "linux/amd64"};
    return kn_graph_build(*d, &o, err);
}

static const struct row rows[] = {
    /* ---- A-: scope ---- */
    {"A-2 global ARG default in FROM",
     "ARG IMG=alpine:3.19\nFROM ${IMG}\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:alpine:3.19",
     "alpine:3.19"},
    {"A-2 earlier global ARGs feed later ones",
     "ARG REG=docker.io\nARG IMG=${REG}/library/alpine\nFROM ${IMG}\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:alpine:latest",
     "alpine:latest"},
    {"A-2 build arg overrides a global default",
     "ARG IMG=alpine\nFROM $IMG\n",
     {"IMG=busybox:1"},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:busybox:1",
     "busybox:1"},
    {"A-1 build args are verbatim",
     "ARG IMG=alpine\nFROM $IMG\n",
     {"IMG=${X:-busybox}"},
     {0},
     {0},
     2,
     "failed to parse stage name \"${X:-busybox}\": invalid reference format: repository name "
     "(library/${X) must be lowercase",
     NULL,
     NULL},
    {"A-10 predefined platform args in FROM",
     "FROM img-${TARGETARCH}\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:img-amd64:latest",
     NULL},
    {"A-10 TARGETSTAGE is the last stage's name",
     "FROM a AS one\nFROM x-$TARGETSTAGE AS two\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "one skip image:a:latest; two build image:x-two:latest",
     NULL},
    {"A-2 predefined args can be overridden",
     "FROM img-${TARGETOS}\n",
     {"TARGETOS=plan9"},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:img-plan9:latest",
     NULL},
    {"A-3 stage ARGs are not in FROM's scope",
     "FROM a\nARG X=b\nFROM ${X:-c}\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 skip image:a:latest; stage-1 build image:c:latest",
     NULL},
    /* ---- G-3, G-4 ---- */
    {"G-3 blank base",
     "FROM $NOPE\n",
     {0},
     {0},
     {0},
     1,
     "base name ($NOPE) should not be blank",
     NULL,
     NULL},
    {"G-3 build arg without global ARG is invisible",
     "FROM $FOO\n",
     {"FOO=x"},
     {0},
     {0},
     1,
     "base name ($FOO) should not be blank",
     NULL,
     NULL},
    {"G-3 blank base in an unreachable stage (G-23)",
     "FROM a AS x\nFROM \"\" AS y\nFROM b\n",
     {0},
     {0},
     {0},
     2,
     "base name (\"\") should not be blank",
     NULL,
     NULL},
    {"G-4 empty platform",
     "FROM --platform=$P alpine\n",
     {0},
     {0},
     {0},
     1,
     "empty platform value from expression $P",
     NULL,
     NULL},
    {"G-4 bad platform",
     "FROM --platform=linux/a/b/c alpine\n",
     {0},
     {0},
     {0},
     1,
     "failed to parse platform linux/a/b/c: \"linux/a/b/c\": cannot parse platform specifier: "
     "invalid argument",
     NULL,
     NULL},
    /* ---- G-5 .. G-8 ---- */
    {"V-1 G-5 G-7 alias builds the base stage",
     "ARG B=base\nFROM alpine AS base\nFROM $B AS x\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "base build image:alpine:latest; x build stage:base",
     "alpine:latest"},
    {"V-2 G-7 G-20 override prunes the stage",
     "ARG B=base\nFROM alpine AS base\nFROM $B AS x\n",
     {"B=busybox"},
     {0},
     {0},
     0,
     NULL,
     "base skip image:alpine:latest; x build image:busybox:latest",
     "busybox:latest"},
    {"V-3 G-6 FROM is case-sensitive",
     "FROM alpine AS builder\nFROM Builder\n",
     {0},
     {0},
     {0},
     2,
     "failed to parse stage name \"Builder\": invalid reference format: repository name "
     "(library/Builder) must be lowercase",
     NULL,
     NULL},
    {"V-5 G-6 FROM later is an image",
     "FROM later AS first\nFROM alpine AS later\n",
     {0},
     {0},
     {"first"},
     0,
     NULL,
     "first build image:later:latest; later skip image:alpine:latest",
     "later:latest"},
    {"G-6 duplicate names bind to the most recent",
     "FROM a AS x\nFROM b AS x\nFROM x\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "x skip image:a:latest; x build image:b:latest; stage-2 build stage:x",
     "b:latest"},
    {"G-6 a tagged name never matches a stage",
     "FROM a AS builder\nFROM builder:latest\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "builder skip image:a:latest; stage-1 build image:builder:latest",
     NULL},
    {"G-6 FROM SCRATCH is an invalid reference",
     "FROM SCRATCH\n",
     {0},
     {0},
     {0},
     1,
     "failed to parse stage name \"SCRATCH\": invalid reference format: repository name "
     "(library/SCRATCH) must be lowercase",
     NULL,
     NULL},
    {"G-5 scratch", "FROM scratch\n", {0}, {0}, {0}, 0, NULL, "stage-0 build scratch:scratch", ""},
    {"G-8 registry with port keeps it",
     "FROM host:5000/x/y:1\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:host:5000/x/y:1",
     "host:5000/x/y:1"},
    {"V-9 G-8 G-23 references checked in unbuilt stages",
     "FROM alpine AS a\nFROM Alpine AS b\nFROM alpine AS c\n",
     {0},
     {0},
     {"a"},
     2,
     "failed to parse stage name \"Alpine\": invalid reference format: repository name "
     "(library/Alpine) must be lowercase",
     NULL,
     NULL},
    {"G-9 --platform on FROM <stage> is ignored",
     "FROM --platform=linux/arm64 a AS x\nFROM "
     "--platform=linux/s390x x\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "x build image:a:latest; stage-1 build stage:x",
     NULL},
    /* ---- G-10 .. G-13 ---- */
    {"V-4 G-11 --from is case-insensitive",
     "FROM alpine AS builder\nFROM alpine\nCOPY --from=BUILDER /etc/os-release /\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "builder build image:alpine:latest; stage-1 build image:alpine:latest",
     "alpine:latest"},
    {"G-11 numeric index",
     "FROM a\nFROM b\nCOPY --from=0 x y\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:a:latest; stage-1 build image:b:latest",
     "a:latest,b:latest"},
    {"G-11 index with sign and zeros",
     "FROM a\nFROM b\nCOPY --from=+00 x y\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:a:latest; stage-1 build image:b:latest",
     NULL},
    {"G-11 index out of range",
     "FROM a\nCOPY --from=5 x y\n",
     {0},
     {0},
     {0},
     2,
     "invalid stage index 5",
     NULL,
     NULL},
    {"G-11 negative index",
     "FROM a\nCOPY --from=-1 x y\n",
     {0},
     {0},
     {0},
     2,
     "invalid stage index -1",
     NULL,
     NULL},
    {"G-11 bad index in an unreachable stage (G-23)",
     "FROM a AS x\nCOPY --from=9 x y\nFROM b AS t\n",
     {0},
     {0},
     {"t"},
     2,
     "invalid stage index 9",
     NULL,
     NULL},
    {"G-11 --from an image",
     "FROM a\nCOPY --from=busybox:1 x y\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 build image:a:latest",
     "a:latest,busybox:1"},
    {"G-11 --from a later stage is a stage (all stages)",
     "FROM a AS t\nCOPY --from=b x y\nFROM c AS b\n",
     {0},
     {0},
     {"t"},
     2,
     "cannot copy from stage \"b\", it needs to be defined before current stage \"t\"",
     NULL,
     NULL},
    {"V-7 G-13 forward copy, reachable",
     "FROM alpine AS t\nCOPY --from=b / /o\nFROM alpine AS b\n",
     {0},
     {0},
     {"t"},
     2,
     "cannot copy from stage \"b\", it needs to be defined before current stage \"t\"",
     NULL,
     NULL},
    {"G-13 forward copy in an unbuilt stage is fine",
     "FROM alpine AS t\nCOPY --from=b / /o\nFROM alpine AS b\n",
     {0},
     {0},
     {"b"},
     0,
     NULL,
     "t skip image:alpine:latest; b build image:alpine:latest",
     "alpine:latest"},
    {"G-13 forward mount",
     "FROM a AS t\nRUN --mount=from=b,target=/m true\nFROM c AS b\n",
     {0},
     {0},
     {"t"},
     2,
     "cannot mount from stage \"b\" to \"/m\", stage needs to be defined before current command",
     NULL,
     NULL},
    {"G-12 mount from= a stage, case-insensitive",
     "FROM a AS src\nFROM b\nRUN --mount=from=SRC,target=/m true\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "src build image:a:latest; stage-1 build image:b:latest",
     "a:latest,b:latest"},
    {"G-12 mount from= a number is an image",
     "FROM a\nFROM b\nRUN --mount=from=0,target=/m true\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "stage-0 skip image:a:latest; stage-1 build image:b:latest",
     "0:latest,b:latest"},
    {"V-8 G-10 --from with a variable",
     "FROM scratch\nCOPY --from=$X . .\n",
     {0},
     {0},
     {0},
     2,
     "variable expansion is not supported for --from, define a new stage with FROM using ARG "
     "from global scope as a workaround",
     NULL,
     NULL},
    {"G-8 invalid --from image in an unbuilt stage (G-23)",
     "FROM a AS x\nCOPY --from=Nope x y\nFROM b AS t\n",
     {0},
     {0},
     {"t"},
     2,
     "failed to parse stage name \"Nope\": invalid reference format: repository name "
     "(library/Nope) must be lowercase",
     NULL,
     NULL},
    {"V-14 I-5 invalid stage name",
     "FROM x AS 1a\n",
     {0},
     {0},
     {0},
     1,
     "invalid name for build stage: \"1a\", name can't start with a number or contain symbols",
     NULL,
     NULL},
    /* ---- G-24, G-25 ---- */
    {"G-24 an ONBUILD trigger of a base stage adds its --from edge",
     "FROM busybox AS data\nFROM busybox AS unused\nFROM busybox AS tmpl\n"
     "ONBUILD COPY --from=data /d /d\nFROM tmpl AS app\n",
     {0},
     {0},
     {0},
     0,
     NULL,
     "data build image:busybox:latest; unused skip image:busybox:latest; "
     "tmpl build image:busybox:latest; app build stage:tmpl",
     "busybox:latest"},
    {"G-24 G-22 a trigger copying from the inheriting stage is a cycle",
     "FROM busybox AS tmpl\nONBUILD COPY --from=app /a /a\nFROM tmpl AS app\n",
     {0},
     {0},
     {0},
     2,
     "circular dependency detected on stage: app",
     NULL,
     NULL},
    /* ---- G-22 ---- */
    {"V-6 G-22 a stage copying from itself",
     "FROM scratch AS s\nCOPY --from=s a b\n",
     {0},
     {0},
     {0},
     2,
     "circular dependency detected on stage: s",
     NULL,
     NULL},
    {"G-22 cycle among unreachable stages",
     "FROM a AS x\nCOPY --from=y a b\nFROM b AS y\nCOPY --from=x a b\nFROM c AS t\n",
     {0},
     {0},
     {0},
     4,
     "circular dependency detected on stage: x",
     NULL,
     NULL},
    {"G-22 cycles come before reference syntax (G-21)",
     "FROM Bad AS x\nFROM a AS s\nCOPY --from=s a b\n",
     {0},
     {0},
     {0},
     3,
     "circular dependency detected on stage: s",
     NULL,
     NULL},
    /* ---- G-15, G-16 ---- */
    {"G-16 a context replaces a stage",
     "FROM a AS base\nRUN x\nFROM base\n",
     {0},
     {"base=docker-image://busybox:2"},
     {0},
     0,
     NULL,
     "base build context:docker-image://busybox:2; stage-1 build stage:base",
     "busybox:2"},
    {"G-15 a context replaces an image, short form",
     "FROM docker.io/library/alpine:latest\n",
     {0},
     {"alpine=oci-layout:///tmp/l:1"},
     {0},
     0,
     NULL,
     "stage-0 build context:oci-layout:///tmp/l:1",
     ""},
    {"G-15 a tagged image needs a tagged context name",
     "FROM alpine:3.19\n",
     {0},
     {"alpine=docker-image://busybox"},
     {0},
     0,
     NULL,
     "stage-0 build image:alpine:3.19",
     "alpine:3.19"},
    {"G-15 the platform-qualified name wins",
     "FROM alpine\n",
     {0},
     {"alpine::linux/amd64=docker-image://p", "alpine=docker-image://q"},
     {0},
     0,
     NULL,
     "stage-0 build context:docker-image://p",
     "p:latest"},
    {"G-16 scratch is never looked up",
     "FROM scratch\n",
     {0},
     {"scratch=docker-image://x"},
     {0},
     0,
     NULL,
     "stage-0 build scratch:scratch",
     ""},
    {"G-16 a context replaces a --from image",
     "FROM a\nCOPY --from=tools x y\n",
     {0},
     {"tools=docker-image://t:1"},
     {0},
     0,
     NULL,
     "stage-0 build image:a:latest",
     "a:latest,t:1"},
    {"G-17 target:STAGE context",
     "FROM a AS one\nFROM b AS two\nFROM dep\n",
     {0},
     {"dep=target:one"},
     {0},
     0,
     NULL,
     "one build image:a:latest; two skip image:b:latest; stage-2 build context:target:one",
     "a:latest"},
    {"G-17 target: context naming an unknown stage",
     "FROM a\n",
     {0},
     {"dep=target:nope"},
     {0},
     0,
     "invalid build context dep=target:nope: target stage \"nope\" could not be found",
     NULL,
     NULL},
    {"G-17 bad context spec",
     "FROM a\n",
     {0},
     {"nosource"},
     {0},
     0,
     "invalid build context \"nosource\": expected NAME=SOURCE",
     NULL,
     NULL},
    /* ---- G-19, G-20 ---- */
    {"G-19 target is case-insensitive, last definition",
     "FROM a AS x\nFROM b AS X\nFROM c\n",
     {0},
     {0},
     {"X"},
     0,
     NULL,
     "x skip image:a:latest; x build image:b:latest; stage-2 skip image:c:latest",
     "b:latest"},
    {"G-19 unknown target suggests",
     "FROM a AS builder\nFROM b AS app\n",
     {0},
     {0},
     {"buildr"},
     0,
     "target stage \"buildr\" could not be found (did you mean builder?); the named stages are: "
     "builder, app",
     NULL,
     NULL},
    {"G-20 G-23 unreachable failing stage is pruned",
     "FROM alpine AS a\nRUN exit 1\nFROM alpine AS b\nFROM b AS c\n",
     {0},
     {0},
     {"c"},
     0,
     NULL,
     "a skip image:alpine:latest; b build image:alpine:latest; c build stage:b",
     "alpine:latest"},
    {"G-20 several targets, union",
     "FROM a AS x\nFROM b AS y\nFROM c AS z\n",
     {0},
     {0},
     {"x", "z"},
     0,
     NULL,
     "x build image:a:latest; y skip image:b:latest; z build image:c:latest",
     "a:latest,c:latest"},
    /* ---- the seed pattern (issue 4 item 5) ---- */
    {"G-7 seed: default alias builds local_builder",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\nRUN cc\n"
     "FROM ${BUILDER_IMAGE} AS builder\nFROM bb:local AS kiro\nCOPY --from=builder /o /o\n"
     "FROM bb:local AS claude\nCOPY --from=builder /o /o\n",
     {0},
     {0},
     {"kiro"},
     0,
     NULL,
     "local_builder build image:deb:local; builder build stage:local_builder; kiro build "
     "image:bb:local; claude skip image:bb:local",
     "bb:local,deb:local"},
    {"G-7 seed: override to an image prunes local_builder",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\nRUN cc\n"
     "FROM ${BUILDER_IMAGE} AS builder\nFROM bb:local AS kiro\nCOPY --from=builder /o /o\n",
     {"BUILDER_IMAGE=prebuilt:seed"},
     {0},
     {0},
     0,
     NULL,
     "local_builder skip image:deb:local; builder build image:prebuilt:seed; kiro build "
     "image:bb:local",
     "bb:local,prebuilt:seed"},
    {"G-7 seed: override to another stage uses it",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\nFROM deb:other AS "
     "other\nFROM ${BUILDER_IMAGE} AS builder\nFROM bb:local AS kiro\nCOPY --from=builder /o /o\n",
     {"BUILDER_IMAGE=other"},
     {0},
     {0},
     0,
     NULL,
     "local_builder skip image:deb:local; other build image:deb:other; builder build "
     "stage:other; kiro build image:bb:local",
     "bb:local,deb:other"},
    {"G-16 seed: --build-context builder=docker-image://x prunes local_builder",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\n"
     "FROM ${BUILDER_IMAGE} AS builder\nRUN test\nFROM bb:local AS kiro\nCOPY --from=builder /o "
     "/o\n",
     {0},
     {"builder=docker-image://x"},
     {0},
     0,
     NULL,
     "local_builder skip image:deb:local; builder build context:docker-image://x; kiro build "
     "image:bb:local",
     "bb:local,x:latest"},
    {"G-19 seed: --target local_builder alone",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\n"
     "FROM ${BUILDER_IMAGE} AS builder\nFROM bb:local AS kiro\nCOPY --from=builder /o /o\n",
     {0},
     {0},
     {"local_builder"},
     0,
     NULL,
     "local_builder build image:deb:local; builder skip stage:local_builder; kiro skip "
     "image:bb:local",
     "deb:local"},
};

static void test_graph_rows(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        const struct row *r = &rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_df *df = NULL;
        kn_dockerfile *d = NULL;
        kn_graph *g = build_row(r, &df, &d, &err);
        bool want_err = r->err_msg || (!r->stages && r->err_line);
        if (want_err) {
            if (g)
                fail_msg("[%s] built, want error %s", r->rule, r->err_msg ? r->err_msg : "");
            if (r->err_msg && strcmp(err.msg, r->err_msg) != 0)
                fail_msg("[%s] error\n  got  %s\n  want %s", r->rule, err.msg, r->err_msg);
            if (err.line != r->err_line)
                fail_msg("[%s] error line %d, want %d (%s)", r->rule, err.line, r->err_line,
                         err.msg);
            assert_int_equal(err.code, KN_EINPUT);
        } else {
            if (!g)
                fail_msg("[%s] failed: %s (line %d)", r->rule, err.msg, err.line);
            kn_autofree char *sum = summarize(g);
            if (strcmp(sum, r->stages) != 0)
                fail_msg("[%s] stages\n  got  %s\n  want %s", r->rule, sum, r->stages);
            if (r->images) {
                kn_autofree char *im = join_images(g);
                if (strcmp(im, r->images) != 0)
                    fail_msg("[%s] images\n  got  %s\n  want %s", r->rule, im, r->images);
            }
        }
        kn_graph_free(g);
        kn_instr_free_dockerfile(d);
        kn_df_free(df);
    }
}

/* ---- reasons, needed_by, edges, warnings, JSON ---- */

static const char seed[] = "ARG BUILDER_IMAGE=local_builder\n"
                           "FROM deb:local AS local_builder\n"
                           "RUN cc\n"
                           "FROM ${BUILDER_IMAGE} AS builder\n"
                           "FROM bb:local AS runtime\n"
                           "COPY --from=builder /o /o\n"
                           "FROM runtime AS kiro\n"
                           "FROM runtime AS claude\n"
                           "FROM bb:local AS unused\n";

typedef struct built {
    kn_df *df;
    kn_dockerfile *d;
    kn_graph *g;
} built;

static void built_free(built *b)
{
    kn_graph_free(b->g);
    kn_instr_free_dockerfile(b->d);
    kn_df_free(b->df);
}

static built build_seed(const char *const *args, size_t n_args, const char *const *ctxs,
                        size_t n_ctxs, const char *const *targets, size_t n_targets)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    built b = {NULL, NULL, NULL};
    b.df = kn_df_parse("Dockerfile", seed, strlen(seed), &err);
    assert_non_null(b.df);
    b.d = kn_instr_parse_dockerfile(b.df, &err);
    assert_non_null(b.d);
    kn_graph_opts o = {args, n_args, ctxs, n_ctxs, targets, n_targets, "linux/amd64"};
    b.g = kn_graph_build(b.d, &o, &err);
    if (!b.g)
        fail_msg("seed graph failed: %s", err.msg);
    return b;
}

static void test_reason_default_alias(void **state)
{
    const char *targets[] = {"kiro"};
    __attribute__((cleanup(built_free))) built b = build_seed(NULL, 0, NULL, 0, targets, 1);
    assert_string_equal(b.g->stages.items[0].reason,
                        "needed by kiro (kiro ← FROM runtime ← COPY --from=builder ← builder = "
                        "local_builder)");
    assert_string_equal(b.g->stages.items[3].reason, "target");
    assert_string_equal(b.g->stages.items[5].reason, "not reachable from kiro");
}

static void test_reason_override_to_image(void **state)
{
    const char *args[] = {"BUILDER_IMAGE=prebuilt:seed"};
    const char *targets[] = {"kiro"};
    __attribute__((cleanup(built_free))) built b = build_seed(args, 1, NULL, 0, targets, 1);
    assert_false(b.g->stages.items[0].is_needed);
    assert_string_equal(b.g->stages.items[0].reason,
                        "builder is image prebuilt:seed (FROM ${BUILDER_IMAGE}, "
                        "BUILDER_IMAGE=prebuilt:seed)");
    assert_int_equal(b.g->warnings.len, 0);
}

static void test_reason_context_replaces_builder(void **state)
{
    const char *ctxs[] = {"builder=docker-image://x"};
    const char *targets[] = {"kiro"};
    __attribute__((cleanup(built_free))) built b = build_seed(NULL, 0, ctxs, 1, targets, 1);
    assert_false(b.g->stages.items[0].is_needed);
    assert_string_equal(b.g->stages.items[0].reason,
                        "builder is build context docker-image://x (--build-context "
                        "builder=docker-image://x)");
}

static void test_several_targets_share_builder(void **state)
{
    const char *targets[] = {"kiro", "claude", "KIRO"};
    __attribute__((cleanup(built_free))) built b = build_seed(NULL, 0, NULL, 0, targets, 3);
    assert_int_equal(b.g->targets.len, 2); /* duplicates removed */
    const kn_graph_stage *builder = &b.g->stages.items[1];
    assert_true(builder->is_needed);
    assert_int_equal(builder->needed_by.len, 2);
    assert_string_equal(builder->needed_by.items[0], "kiro");
    assert_string_equal(builder->needed_by.items[1], "claude");
    assert_int_equal(b.g->images.len, 2); /* listed once */
}

static void test_unconsumed_build_arg_warns(void **state)
{
    const char *args[] = {"ZED=1", "NOPE=2", "HTTP_PROXY=x", "BUILDER_IMAGE=local_builder"};
    __attribute__((cleanup(built_free))) built b = build_seed(args, 4, NULL, 0, NULL, 0);
    assert_int_equal(b.g->warnings.len, 1);
    assert_string_equal(b.g->warnings.items[0],
                        "[Warning] One or more build-args [NOPE ZED] were not consumed");
}

static void test_json_shape(void **state)
{
    const char *targets[] = {"kiro"};
    __attribute__((cleanup(built_free))) built b = build_seed(NULL, 0, NULL, 0, targets, 1);
    kn_autobuf kn_buf out = KN_BUF_INIT;
    kn_graph_write_json(b.g, &out);
    kn_autoerr kn_err err = KN_ERR_INIT;
    json_t *j = kn_json_parse(out.data, out.len, &err);
    if (!j)
        fail_msg("plan json does not parse: %s\n%s", err.msg, out.data);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "targets"), 0)),
                        "kiro");
    json_t *stages = json_object_get(j, "stages");
    assert_int_equal(json_array_size(stages), 6);
    json_t *s2 = json_array_get(stages, 2);
    assert_string_equal(json_string_value(json_object_get(s2, "name")), "runtime");
    assert_string_equal(json_string_value(json_object_get(s2, "action")), "build");
    json_t *base = json_object_get(s2, "base");
    assert_string_equal(json_string_value(json_object_get(base, "kind")), "image");
    assert_string_equal(json_string_value(json_object_get(base, "ref")), "bb:local");
    json_t *edges = json_object_get(s2, "edges");
    assert_int_equal(json_array_size(edges), 2);
    json_t *copy = json_array_get(edges, 1);
    assert_string_equal(json_string_value(json_object_get(copy, "kind")), "copy");
    assert_string_equal(json_string_value(json_object_get(copy, "stage")), "builder");
    assert_true(json_is_null(json_object_get(copy, "image")));
    json_t *images = json_object_get(j, "images");
    assert_int_equal(json_array_size(images), 2);
    assert_string_equal(json_string_value(json_array_get(images, 0)), "bb:local");
    json_decref(j);
}

static void test_onbuild_edges_one_generation(void **state)
{
    /* G-24, G-25: mid inherits tmpl's trigger (a COPY --from=data edge);
     * app, built on mid, does not. */
    static const struct row r = {"G-25",
                                 "FROM busybox AS data\nFROM busybox AS tmpl\n"
                                 "ONBUILD COPY --from=data /d /d\nFROM tmpl AS mid\n"
                                 "FROM mid AS app\n",
                                 {0},
                                 {0},
                                 {0},
                                 0,
                                 NULL,
                                 NULL,
                                 NULL};
    kn_autoerr kn_err err = KN_ERR_INIT;
    __attribute__((cleanup(built_free))) built b = {NULL, NULL, NULL};
    b.g = build_row(&r, &b.df, &b.d, &err);
    assert_non_null(b.g);
    const kn_graph_stage *mid = &b.g->stages.items[2], *app = &b.g->stages.items[3];
    assert_int_equal(mid->edges.len, 2);
    assert_int_equal(mid->edges.items[1].kind, KN_GRAPH_EDGE_COPY);
    assert_int_equal(mid->edges.items[1].stage, 0);
    assert_int_equal(app->edges.len, 1);
    assert_int_equal(app->edges.items[0].kind, KN_GRAPH_EDGE_FROM);
}

static void test_platform_normalisation(void **state)
{
    static const struct {
        const char *rule, *in, *want;
    } cases[] = {
        {"A-13", "linux/x86_64", "linux/amd64"},   {"A-13", "linux/aarch64", "linux/arm64"},
        {"A-13", "linux/arm64/v8", "linux/arm64"}, {"A-13", "linux/arm", "linux/arm/v7"},
        {"A-13", "arm64", "linux/arm64"},          {"A-13", "windows", "windows/amd64"},
        {"A-13", "Linux/AMD64", "linux/amd64"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(cases); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_autofree char *out = NULL;
        if (kn_graph_parse_platform(cases[i].in, "linux/amd64", &out, &err) < 0)
            fail_msg("[%s] %s: %s", cases[i].rule, cases[i].in, err.msg);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("[%s] %s -> %s, want %s", cases[i].rule, cases[i].in, out, cases[i].want);
    }
    kn_autofree char *host = kn_graph_host_platform();
    assert_non_null(strchr(host, '/'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_rows),
        cmocka_unit_test(test_reason_default_alias),
        cmocka_unit_test(test_reason_override_to_image),
        cmocka_unit_test(test_reason_context_replaces_builder),
        cmocka_unit_test(test_several_targets_share_builder),
        cmocka_unit_test(test_unconsumed_build_arg_warns),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_onbuild_edges_one_generation),
        cmocka_unit_test(test_platform_normalisation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
