/* Tests for the build checks (src/frontend/lint.c), SEMANTICS 8.2 (L-) and
 * the check directive (P-10, P-13). Each row lists every finding expected,
 * as "Rule@line" joined by spaces, so a row also proves what must NOT fire. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/dockerignore.h"
#include "frontend/instr.h"
#include "frontend/lint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    const char *id;     /* SEMANTICS rule */
    const char *text;   /* the Dockerfile */
    const char *ignore; /* .dockerignore contents, or NULL */
    const char *want;   /* "Rule@line ..." in output order, "" for none */
} row;

static const row rows[] = {
    /* L-1 StageNameCasing */
    {"L-1", "FROM alpine AS Builder\n", NULL, "StageNameCasing@1"},
    {"L-1 lower", "FROM alpine AS builder\n", NULL, ""},
    /* L-2 FromAsCasing */
    {"L-2", "FROM alpine as b\n", NULL, "FromAsCasing@1"},
    {"L-2 lower", "from alpine AS b\n", NULL, "FromAsCasing@1"},
    {"L-2 match", "from alpine as b\n", NULL, ""},
    {"L-2 mixed keyword", "From alpine as b\n", NULL, "ConsistentInstructionCasing@1"},
    /* L-3 NoEmptyContinuation (P-18) */
    {"L-3", "FROM alpine\nRUN echo a \\\n\n  b\n", NULL, "NoEmptyContinuation@4"},
    {"L-3 none", "FROM alpine\nRUN echo a \\\n  b\n", NULL, ""},
    /* L-4 ConsistentInstructionCasing */
    {"L-4 majority upper", "FROM alpine\nRUN true\nrun true\n", NULL,
     "ConsistentInstructionCasing@3"},
    {"L-4 majority lower", "from alpine\nrun true\nRUN true\n", NULL,
     "ConsistentInstructionCasing@3"},
    {"L-4 tie is upper", "FROM alpine\nrun true\n", NULL, "ConsistentInstructionCasing@2"},
    {"L-4 global ARG not counted", "arg X=1\nFROM alpine\n", NULL, ""},
    /* L-5, L-6 */
    {"L-5", "FROM alpine AS a\nFROM alpine AS a\n", NULL, "DuplicateStageName@2"},
    {"L-5 case", "FROM alpine AS a\nFROM alpine AS A\n", NULL,
     "StageNameCasing@2 DuplicateStageName@2"},
    {"L-6 scratch", "FROM alpine AS scratch\n", NULL, "ReservedStageName@1"},
    {"L-6 context", "FROM alpine AS context\n", NULL, "ReservedStageName@1"},
    /* L-7 JSONArgsRecommended */
    {"L-7 cmd", "FROM alpine\nCMD echo hi\n", NULL, "JSONArgsRecommended@2"},
    {"L-7 entrypoint", "FROM alpine\nENTRYPOINT echo hi\n", NULL, "JSONArgsRecommended@2"},
    {"L-7 exec form", "FROM alpine\nCMD [\"echo\", \"hi\"]\n", NULL, ""},
    {"L-7 after SHELL", "FROM alpine\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\n", NULL, ""},
    {"L-7 SHELL inherited", "FROM alpine AS a\nSHELL [\"/bin/sh\", \"-c\"]\nFROM a\nCMD x\n", NULL,
     ""},
    /* L-8 */
    {"L-8", "FROM alpine\nMAINTAINER me\n", NULL, "MaintainerDeprecated@2"},
    /* L-9 UndefinedArgInFrom */
    {"L-9", "FROM $IMG\n", NULL, "UndefinedArgInFrom@1 InvalidDefaultArgInFrom@1"},
    {"L-9 declared", "ARG IMG=alpine\nFROM $IMG\n", NULL, ""},
    {"L-9 declared without value", "ARG IMG\nFROM ${IMG:-alpine}\n", NULL, ""},
    {"L-9 predefined", "FROM --platform=$BUILDPLATFORM alpine\n", NULL, ""},
    {"L-9 platform", "FROM --platform=$PLATFROM alpine\n", NULL, "UndefinedArgInFrom@1"},
    /* L-10 WorkdirRelativePath */
    {"L-10", "FROM alpine\nWORKDIR app\n", NULL, "WorkdirRelativePath@2"},
    {"L-10 after absolute", "FROM alpine\nWORKDIR /app\nWORKDIR sub\n", NULL, ""},
    {"L-10 inherited", "FROM alpine AS a\nWORKDIR /app\nFROM a\nWORKDIR sub\n", NULL, ""},
    {"L-10 only the first", "FROM alpine\nWORKDIR a\nWORKDIR b\n", NULL, "WorkdirRelativePath@2"},
    /* L-11 UndefinedVar */
    {"L-11", "FROM alpine\nCOPY $SRC /x\n", NULL, "UndefinedVar@2"},
    {"L-11 ENV set", "FROM alpine\nENV SRC=a\nCOPY $SRC /x\n", NULL, ""},
    {"L-11 same ENV snapshot", "FROM alpine\nENV A=1 B=$A\n", NULL, "UndefinedVar@2"},
    {"L-11 valueless ARG", "FROM alpine\nARG SRC\nCOPY $SRC /x\n", NULL, ""},
    {"L-11 PATH is known", "FROM alpine\nENV PATH=$PATH:/x\n", NULL, ""},
    {"L-11 RUN text not expanded", "FROM alpine\nRUN echo $NOPE\n", NULL, ""},
    {"L-11 EXPOSE not checked", "FROM alpine\nEXPOSE $P\n", NULL, ""},
    {"L-11 inherited env", "FROM alpine AS a\nENV X=1\nFROM a\nWORKDIR /$X\n", NULL, ""},
    {"L-11 ARG default", "FROM alpine\nARG A=$B\n", NULL, "UndefinedVar@2"},
    {"L-11 mount", "FROM alpine\nRUN --mount=type=cache,target=$DIR true\n", NULL,
     "UndefinedVar@2"},
    /* L-12 MultipleInstructionsDisallowed, reported on the first */
    {"L-12", "FROM alpine\nCMD [\"a\"]\nCMD [\"b\"]\n", NULL, "MultipleInstructionsDisallowed@2"},
    {"L-12 healthcheck", "FROM alpine\nHEALTHCHECK NONE\nHEALTHCHECK NONE\n", NULL,
     "MultipleInstructionsDisallowed@2"},
    {"L-12 per stage", "FROM alpine\nCMD [\"a\"]\nFROM alpine\nCMD [\"b\"]\n", NULL, ""},
    /* L-13 LegacyKeyValueFormat */
    {"L-13 env", "FROM alpine\nENV A b\n", NULL, "LegacyKeyValueFormat@2"},
    {"L-13 label", "FROM alpine\nLABEL a b\n", NULL, "LegacyKeyValueFormat@2"},
    {"L-13 key=value", "FROM alpine\nENV A=b\n", NULL, ""},
    /* L-14 RedundantTargetPlatform */
    {"L-14", "FROM --platform=$TARGETPLATFORM alpine\n", NULL, "RedundantTargetPlatform@1"},
    {"L-14 braces", "FROM --platform=${TARGETPLATFORM} alpine\n", NULL,
     "RedundantTargetPlatform@1"},
    {"L-14 build platform", "FROM --platform=$BUILDPLATFORM alpine\n", NULL, ""},
    /* L-15 SecretsUsedInArgOrEnv */
    {"L-15 env", "FROM alpine\nENV GITHUB_TOKEN=x\n", NULL, "SecretsUsedInArgOrEnv@2"},
    {"L-15 arg", "FROM alpine\nARG password\n", NULL, "SecretsUsedInArgOrEnv@2"},
    {"L-15 allowed part", "FROM alpine\nARG PUBLIC_KEY\n", NULL, ""},
    {"L-15 not a part", "FROM alpine\nENV KEYS=1 TOKENIZER=2\n", NULL, ""},
    /* L-16 InvalidDefaultArgInFrom */
    {"L-16 empty", "ARG TAG\nFROM alpine:$TAG\n", NULL, "InvalidDefaultArgInFrom@2"},
    {"L-16 valid", "ARG TAG=3.19\nFROM alpine:$TAG\n", NULL, ""},
    {"L-16 upper", "ARG IMG=Alpine\nFROM $IMG\n", NULL, "InvalidDefaultArgInFrom@2"},
    /* L-17 FromPlatformFlagConstDisallowed */
    {"L-17", "FROM --platform=linux/amd64 alpine AS build\n", NULL,
     "FromPlatformFlagConstDisallowed@1"},
    {"L-17 name has arch", "FROM --platform=linux/amd64 alpine AS build-amd64\n", NULL, ""},
    {"L-17 name has os", "FROM --platform=linux/arm64 alpine AS linux-build\n", NULL, ""},
    /* L-18 CopyIgnoredFile */
    {"L-18", "FROM alpine\nCOPY secret.txt /\n", "secret.txt\n", "CopyIgnoredFile@2"},
    {"L-18 add", "FROM alpine\nADD dir/a /\n", "dir\n", "CopyIgnoredFile@2"},
    {"L-18 not ignored", "FROM alpine\nCOPY app /\n", "secret.txt\n", ""},
    {"L-18 exceptions disable", "FROM alpine\nCOPY secret.txt /\n", "secret*\n!secret.md\n", ""},
    {"L-18 --from", "FROM alpine\nCOPY --from=busybox secret.txt /\n", "secret.txt\n", ""},
    {"L-18 root only with *", "FROM alpine\nCOPY . /\n", "a\n", ""},
    {"L-18 root with *", "FROM alpine\nCOPY . /\n", "*\n", "CopyIgnoredFile@2"},
    /* L-20, L-21 */
    {"L-20", "FROM alpine\nEXPOSE 80/TCP\n", NULL, "ExposeProtoCasing@2"},
    {"L-20 lower", "FROM alpine\nEXPOSE 80/udp 81\n", NULL, ""},
    {"L-21", "FROM alpine\nEXPOSE 8080:80\n", NULL, "ExposeInvalidFormat@2"},
    {"L-21 ip", "FROM alpine\nEXPOSE 127.0.0.1:8080:80/tcp\n", NULL, "ExposeInvalidFormat@2"},
    /* L-23 GlobalArgNotInScope [kiln] */
    {"L-23 RUN", "ARG V=1\nFROM alpine\nRUN echo $V\n", NULL, "GlobalArgNotInScope@3"},
    {"L-23 COPY", "ARG V=1\nFROM alpine\nCOPY ${V} /\n", NULL, "GlobalArgNotInScope@3"},
    {"L-23 redeclared", "ARG V=1\nFROM alpine\nARG V\nRUN echo $V\n", NULL, ""},
    {"L-23 single quotes", "ARG V=1\nFROM alpine\nRUN echo '$V'\n", NULL, ""},
    {"L-23 inherited declaration", "ARG V=1\nFROM alpine AS a\nARG V\nFROM a\nRUN echo $V\n", NULL,
     ""},
    {"L-23 skipped falls back to UndefinedVar",
     "# check=skip=GlobalArgNotInScope\nARG V=1\nFROM alpine\nCOPY $V /\n", NULL, "UndefinedVar@4"},
    {"L-23 used in FROM only", "ARG V=1\nFROM alpine:$V\n", NULL, ""},
    /* P-10 skip and error */
    {"P-10 skip one", "# check=skip=StageNameCasing\nFROM alpine AS Builder\n", NULL, ""},
    {"P-10 skip list", "# check=skip=StageNameCasing, FromAsCasing\nFROM alpine as Builder\n", NULL,
     ""},
    {"P-10 skip all", "# check=skip=all\nFROM alpine as Builder\nMAINTAINER x\n", NULL, ""},
    {"P-10 skip other", "# check=skip=FromAsCasing\nFROM alpine AS Builder\n", NULL,
     "StageNameCasing@2"},
    {"P-13 doc comment", "FROM alpine\n# check=skip=MaintainerDeprecated\nMAINTAINER x\n", NULL,
     ""},
    {"P-13 doc comment is per instruction",
     "FROM alpine\n# check=skip=MaintainerDeprecated\nMAINTAINER x\nMAINTAINER y\n", NULL,
     "MaintainerDeprecated@4"},
    {"P-6 late directive is a comment", "FROM alpine\n# check=skip=all\nENV A b\n", NULL, ""},
    /* The seed pattern is clean. */
    {"G-7 seed",
     "ARG BUILDER_IMAGE=local_builder\nFROM deb:local AS local_builder\nRUN make\n"
     "FROM ${BUILDER_IMAGE} AS builder\nFROM bb:local AS kiro\n"
     "COPY --from=builder /out/kiro /usr/local/bin/\n",
     NULL, ""},
};

static char *run_row(const row *r, bool *error)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse("Dockerfile", r->text, strlen(r->text), &err);
    if (!df)
        fail_msg("[%s] parse failed: %s", r->id, err.msg);
    kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
    if (!d)
        fail_msg("[%s] instr failed: %s", r->id, err.msg);
    kn_dockerignore *di = NULL;
    if (r->ignore) {
        di = kn_dockerignore_parse(r->ignore, strlen(r->ignore), &err);
        assert_non_null(di);
    }
    kn_lint_opts opts = {di};
    kn_lint_result res;
    if (kn_lint_run(df, d, &opts, &res, &err) < 0)
        fail_msg("[%s] lint failed: %s", r->id, err.msg);
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < res.findings.len; i++) {
        const kn_lint_finding *f = &res.findings.items[i];
        assert_non_null(f->message);
        assert_true(strlen(f->message) > 0);
        kn_buf_addf(&b, "%s%s@%d", i ? " " : "", f->rule, f->line);
    }
    *error = res.error;
    kn_lint_result_free(&res);
    kn_dockerignore_free(di);
    kn_instr_free_dockerfile(d);
    kn_df_free(df);
    return kn_buf_release(&b);
}

static void test_lint_rules_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool error;
        kn_autofree char *got = run_row(&rows[i], &error);
        if (strcmp(got, rows[i].want) != 0) {
            fprintf(stderr, "[%s] got \"%s\", want \"%s\"\n", rows[i].id, got, rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The message texts users see (BuildKit's wording). */
static void test_lint_messages(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
    } msgs[] = {
        {"FROM alpine AS Builder\n", "Stage name 'Builder' should be lowercase"},
        {"FROM alpine as b\n", "'as' and 'FROM' keywords' casing do not match"},
        {"FROM alpine\nENV PATH=$PAHT\n",
         "Usage of undefined variable '$PAHT' (did you mean $PATH?)"},
        {"ARG VERSION=1\nFROM alpine:$VERSOIN\n",
         "FROM argument 'VERSOIN' is not declared (did you mean VERSION?)"},
        {"FROM alpine\nENV A b\n",
         "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format"},
        {"FROM alpine\nARG API_KEY\n",
         "Do not use ARG or ENV instructions for sensitive data (ARG \"API_KEY\")"},
        {"ARG V=1\nFROM alpine AS b\nRUN echo $V\n",
         "Global ARG 'V' (line 1) is not in scope in stage 'b' and expands to empty there; add "
         "'ARG V' to the stage to use it"},
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_df *df = kn_df_parse("Dockerfile", msgs[i].text, strlen(msgs[i].text), &err);
        assert_non_null(df);
        kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
        assert_non_null(d);
        kn_lint_result res;
        assert_int_equal(kn_lint_run(df, d, NULL, &res, &err), 0);
        assert_true(res.findings.len >= 1);
        assert_string_equal(res.findings.items[0].message, msgs[i].message);
        kn_lint_result_free(&res);
        kn_instr_free_dockerfile(d);
        kn_df_free(df);
    }
}

static void test_lint_error_directive(void **state)
{
    (void)state;
    row r = {"P-10 error", "# check=error=true\nFROM alpine AS B\n", NULL, ""};
    bool error = false;
    kn_autofree char *got = run_row(&r, &error);
    assert_string_equal(got, "StageNameCasing@2");
    assert_true(error);
}

/* P-10: a bad option fails with BuildKit's wording. */
static void test_lint_bad_check_option_fails(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"# check=foo=bar\nFROM alpine\n", "invalid check option \"foo\""},
        {"# check=skip\nFROM alpine\n", "invalid check option \"skip\""},
        {"# check=error=maybe\nFROM alpine\n", "failed to parse check option \"error=maybe\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_df *df = kn_df_parse("Dockerfile", bad[i][0], strlen(bad[i][0]), &err);
        assert_non_null(df);
        kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
        assert_non_null(d);
        kn_lint_result res;
        assert_int_equal(kn_lint_run(df, d, NULL, &res, &err), -1);
        assert_int_equal(err.code, KN_EINPUT);
        assert_int_equal(err.line, 1);
        assert_non_null(strstr(err.msg, "failed to parse check options: "));
        assert_non_null(strstr(err.msg, bad[i][1]));
        kn_instr_free_dockerfile(d);
        kn_df_free(df);
    }
}

static void test_lint_parse_config(void **state)
{
    (void)state;
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_lint_config cfg;
    assert_int_equal(kn_lint_parse_config(" skip = A, B ; error = TRUE ", &cfg, &err), 0);
    assert_int_equal(cfg.skip.len, 2);
    assert_string_equal(cfg.skip.items[0], "A");
    assert_string_equal(cfg.skip.items[1], "B");
    assert_true(cfg.error);
    assert_false(cfg.skip_all);
    kn_lint_config_free(&cfg);
    assert_int_equal(kn_lint_parse_config("skip=all", &cfg, &err), 0);
    assert_true(cfg.skip_all);
    kn_lint_config_free(&cfg);
    assert_int_equal(kn_lint_parse_config("", &cfg, &err), 0);
    assert_false(cfg.error);
    kn_lint_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lint_rules_table),
        cmocka_unit_test(test_lint_messages),
        cmocka_unit_test(test_lint_error_directive),
        cmocka_unit_test(test_lint_bad_check_option_fails),
        cmocka_unit_test(test_lint_parse_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
