/* Tests for the typed instruction layer (src/frontend/instr.c), SEMANTICS
 * part 3 (I-) plus the instruction-level rules of parts 1, 5 and 6. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/instr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parsed Dockerfile and its instructions, freed together. */
typedef struct parsed {
    kn_df *df;
    kn_dockerfile *d;
} parsed;

static void parsed_free(parsed *p)
{
    kn_instr_free_dockerfile(p->d);
    kn_df_free(p->df);
}

#define autoparsed __attribute__((cleanup(parsed_free))) parsed

static parsed parse_ok(const char *rule, const char *text)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    parsed p = {NULL, NULL};
    p.df = kn_df_parse("Dockerfile", text, strlen(text), &err);
    if (!p.df)
        fail_msg("[%s] df parse failed: %s (line %d) for:\n%s", rule, err.msg, err.line, text);
    p.d = kn_instr_parse_dockerfile(p.df, &err);
    if (!p.d) {
        kn_df_free(p.df);
        fail_msg("[%s] instr parse failed: %s (line %d) for:\n%s", rule, err.msg, err.line, text);
    }
    return p;
}

/* The last instruction of the file (the FROM when the last stage is empty). */
static const kn_instr *last_instr(const kn_dockerfile *d)
{
    const kn_instr_stage *st = d->stages.items[d->stages.len - 1];
    return st->instrs.len ? st->instrs.items[st->instrs.len - 1] : st->from;
}

/* ---- errors: Dockerfile -> FILE:LINE: message ---- */

struct error_row {
    const char *rule;
    const char *text;
    int line;
    const char *msg; /* exact */
};

static const struct error_row error_rows[] = {
    /* I-1, P-4 */
    {"I-1", "RUN x\nFROM a\n", 1, "no build stage in current context"},
    {"I-1 after global ARGs", "ARG a\nENV b=c\nFROM x\n", 2, "no build stage in current context"},
    {"I-1 ONBUILD before FROM", "ONBUILD RUN x\nFROM a\n", 1, "no build stage in current context"},
    {"P-4", "ARG a\nARG b=1\n", 1, "dockerfile contains no stages to build"},
    /* P-22 */
    {"P-22 upper", "FROM a\nFRUM b\n", 2, "unknown instruction: FRUM (did you mean FROM?)"},
    {"P-22 lower", "FROM a\nrum b\n", 2, "unknown instruction: rum (did you mean run?)"},
    {"P-22 mixed case suggests lower", "FROM a\nCopx a b\n", 2,
     "unknown instruction: Copx (did you mean copy?)"},
    {"P-22 no suggestion", "FROM a\nXYZZY b\n", 2, "unknown instruction: XYZZY"},
    {"P-22 before FROM beats I-1", "FRUM a\n", 1, "unknown instruction: FRUM (did you mean FROM?)"},
    /* I-2, I-3 */
    {"I-3 unknown flag suggests", "FROM a\nCOPY --form=x a b\n", 2,
     "unknown flag: --form (did you mean from?)"},
    {"I-3 unknown flag without value", "FROM a\nCOPY --lnk a b\n", 2,
     "unknown flag: --lnk (did you mean link?)"},
    {"I-3 FROM flag", "FROM --platfrom=x a\n", 1,
     "unknown flag: --platfrom (did you mean platform?)"},
    {"I-3 no flags allowed", "FROM a\nENV --x=1 a=b\n", 2, "unknown flag: --x"},
    {"I-3 ONBUILD takes no flags", "FROM a\nONBUILD --x RUN y\n", 2, "unknown flag: --x"},
    {"I-2 COPY has no --checksum", "FROM a\nCOPY --checksum=sha256:0 a b\n", 2,
     "unknown flag: --checksum"},
    {"I-2 ADD has no --from", "FROM a\nADD --from=x a b\n", 2, "unknown flag: --from"},
    {"I-2 flag names are case-sensitive", "FROM a\nCOPY --FROM=x a b\n", 2, "unknown flag: --FROM"},
    {"I-3 string flag twice", "FROM a\nCOPY --from=a --from=b x y\n", 2,
     "duplicate flag specified: --from"},
    {"I-3 bool flag twice", "FROM a\nCOPY --link --link=false a b\n", 2,
     "duplicate flag specified: --link"},
    {"I-3 string flag needs =", "FROM a\nCOPY --chown a b\n", 2,
     "missing a value on flag: --chown"},
    {"I-3 repeatable flag needs =", "FROM a\nRUN --mount x\n", 2,
     "missing a value on flag: --mount"},
    {"I-3 bool flag with empty value", "FROM a\nCOPY --link= a b\n", 2,
     "missing a value on flag: --link"},
    {"I-3 bool flag bad value", "FROM a\nCOPY --link=yes a b\n", 2,
     "expecting boolean value for flag --link, not: yes"},
    {"I-3 bool flag 1 is not a bool", "FROM a\nADD --unpack=1 a b\n", 2,
     "expecting boolean value for flag --unpack, not: 1"},
    /* arity */
    {"I-5 FROM no args", "FROM\n", 1, "FROM requires either one or three arguments"},
    {"I-5 FROM two args", "FROM a b\n", 1, "FROM requires either one or three arguments"},
    {"I-5 FROM three args without AS", "FROM a IS b\n", 1,
     "FROM requires either one or three arguments"},
    {"I-5 FROM four args", "FROM a AS b c\n", 1, "FROM requires either one or three arguments"},
    {"I-11 USER", "FROM a\nUSER\n", 2, "USER requires exactly one argument"},
    {"I-10 WORKDIR", "FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"},
    {"I-9 MAINTAINER", "FROM a\nMAINTAINER\n", 2, "MAINTAINER requires exactly one argument"},
    {"I-14 STOPSIGNAL", "FROM a\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"},
    {"I-12 EXPOSE", "FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"},
    {"I-13 VOLUME", "FROM a\nVOLUME\n", 2, "VOLUME requires at least one argument"},
    {"I-13 VOLUME []", "FROM a\nVOLUME []\n", 2, "VOLUME requires at least one argument"},
    {"I-7 ENV", "FROM a\nENV\n", 2, "ENV requires at least one argument"},
    {"I-8 LABEL", "FROM a\nLABEL\n", 2, "LABEL requires at least one argument"},
    {"I-6 ARG", "FROM a\nARG\n", 2, "ARG requires at least one argument"},
    {"I-20 ONBUILD", "FROM a\nONBUILD\n", 2, "ONBUILD requires at least one argument"},
    {"I-18 HEALTHCHECK", "FROM a\nHEALTHCHECK\n", 2, "HEALTHCHECK requires at least one argument"},
    {"I-21 COPY", "FROM a\nCOPY a\n", 2,
     "COPY requires at least two arguments, but only one was provided. Destination could not "
     "be determined"},
    {"I-21 ADD", "FROM a\nADD a\n", 2,
     "ADD requires at least two arguments, but only one was provided. Destination could not be "
     "determined"},
    {"I-21 arity before flags", "FROM a\nCOPY --bogus a\n", 2,
     "COPY requires at least two arguments, but only one was provided. Destination could not "
     "be determined"},
    {"I-10 arity before flags", "FROM a\nWORKDIR --x\n", 2,
     "WORKDIR requires exactly one argument"},
    {"I-12 arity before flags", "FROM a\nEXPOSE --x\n", 2, "EXPOSE requires at least one argument"},
    {"I-7 flags before arity", "FROM a\nENV --x\n", 2, "unknown flag: --x"},
    /* I-5 stage names */
    {"I-5 name starts with a digit", "FROM a AS 1a\n", 1,
     "invalid name for build stage: \"1a\", name can't start with a number or contain symbols"},
    {"I-5 name with a symbol", "FROM a AS b$c\n", 1,
     "invalid name for build stage: \"b$c\", name can't start with a number or contain symbols"},
    {"I-5 name before flags", "FROM --bogus a AS _x\n", 1,
     "invalid name for build stage: \"_x\", name can't start with a number or contain symbols"},
    /* P-27, P-28 */
    {"I-7 blank ENV name", "FROM a\nENV =x\n", 2, "ENV names can not be blank"},
    {"I-8 blank LABEL name", "FROM a\nLABEL a=b =c\n", 2, "LABEL names can not be blank"},
    {"P-28 blank ARG name", "FROM a\nARG a =x\n", 2, "ARG names can not be blank"},
    {"P-28 blank global ARG name", "ARG =x\nFROM a\n", 1, "ARG names can not be blank"},
    /* I-13 */
    {"I-13 empty VOLUME", "FROM a\nVOLUME [\"/a\", \"\"]\n", 2,
     "VOLUME specified can not be an empty string"},
    {"I-13 blank VOLUME", "FROM a\nVOLUME [\" \\t\"]\n", 2,
     "VOLUME specified can not be an empty string"},
    /* I-15 */
    {"I-15 SHELL shell form", "FROM a\nSHELL /bin/sh -c\n", 2,
     "SHELL requires the arguments to be in JSON form"},
    {"I-15 SHELL []", "FROM a\nSHELL []\n", 2, "SHELL requires at least one argument"},
    {"I-15 bare SHELL", "FROM a\nSHELL\n", 2, "SHELL requires at least one argument"},
    {"I-15 SHELL takes no flags", "FROM a\nSHELL --x [\"sh\"]\n", 2, "unknown flag: --x"},
    /* I-18 */
    {"I-18 NONE with args", "FROM a\nHEALTHCHECK NONE x\n", 2,
     "HEALTHCHECK NONE takes no arguments"},
    {"I-18 CMD without command", "FROM a\nHEALTHCHECK CMD\n", 2,
     "Missing command after HEALTHCHECK CMD"},
    {"I-18 CMD with empty exec form", "FROM a\nHEALTHCHECK CMD []\n", 2,
     "Missing command after HEALTHCHECK CMD"},
    {"I-18 unknown type", "FROM a\nHEALTHCHECK foo x\n", 2,
     "Unknown type \"FOO\" in HEALTHCHECK (try CMD)"},
    {"I-18 flags before type", "FROM a\nHEALTHCHECK --bogus FOO x\n", 2, "unknown flag: --bogus"},
    {"I-18 flag suggestion", "FROM a\nHEALTHCHECK --intervl=1s CMD x\n", 2,
     "unknown flag: --intervl (did you mean interval?)"},
    {"I-18 V-13 under 1ms", "FROM x\nHEALTHCHECK --interval=50ns CMD true\n", 2,
     "Interval \"interval\" cannot be less than 1ms"},
    {"I-18 negative duration", "FROM x\nHEALTHCHECK --start-period=-1s CMD true\n", 2,
     "Interval \"start-period\" cannot be less than 1ms"},
    {"I-18 missing unit", "FROM x\nHEALTHCHECK --timeout=1 CMD true\n", 2,
     "time: missing unit in duration \"1\""},
    {"I-18 unknown unit", "FROM x\nHEALTHCHECK --interval=1x CMD true\n", 2,
     "time: unknown unit \"x\" in duration \"1x\""},
    {"I-18 invalid duration", "FROM x\nHEALTHCHECK --start-interval=abc CMD true\n", 2,
     "time: invalid duration \"abc\""},
    {"I-18 interval checked before timeout", "FROM x\nHEALTHCHECK --timeout=1 --interval=1 CMD t\n",
     2, "time: missing unit in duration \"1\""},
    {"I-18 negative retries", "FROM x\nHEALTHCHECK --retries=-1 CMD true\n", 2,
     "--retries cannot be negative (-1)"},
    {"I-18 retries not a number", "FROM x\nHEALTHCHECK --retries=3x CMD true\n", 2,
     "strconv.ParseInt: parsing \"3x\": invalid syntax"},
    {"I-18 retries over int32", "FROM x\nHEALTHCHECK --retries=2147483648 CMD true\n", 2,
     "strconv.ParseInt: parsing \"2147483648\": value out of range"},
    /* I-20 */
    {"I-20 ONBUILD ONBUILD", "FROM a\nONBUILD ONBUILD RUN x\n", 2,
     "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
    {"I-20 ONBUILD FROM", "FROM a\nONBUILD FROM x\n", 2,
     "FROM isn't allowed as an ONBUILD trigger"},
    {"I-20 ONBUILD maintainer", "FROM a\nonbuild maintainer me\n", 2,
     "MAINTAINER isn't allowed as an ONBUILD trigger"},
    /* I-28 */
    {"I-28 network", "FROM a\nRUN --network=bridge x\n", 2, "invalid network mode \"bridge\""},
    {"I-28 network is case-sensitive", "FROM a\nRUN --network=NONE x\n", 2,
     "invalid network mode \"NONE\""},
    {"I-28 security", "FROM a\nRUN --security=privileged x\n", 2,
     "security \"privileged\" is not valid"},
    {"I-28 device fields", "FROM a\nRUN --device=a,b x\n", 2,
     "invalid field 'b' must be a key=value pair"},
    {"I-28 device name twice", "FROM a\nRUN --device=a,name=b x\n", 2,
     "device name already set to a"},
    /* G-12 and the mount CSV, read when the RUN is parsed */
    {"G-12 mount from with a variable", "FROM a\nRUN --mount=type=bind,from=$X,target=/a x\n", 2,
     "'from' doesn't support variable expansion, define alias stage instead"},
    {"G-12 key is case-insensitive", "FROM a\nRUN --mount=FROM=${X}y x\n", 2,
     "'from' doesn't support variable expansion, define alias stage instead"},
    {"I-30 empty mount", "FROM a\nRUN --mount= x\n", 2, "failed to parse csv mounts: EOF"},
    {"I-30 bare quote", "FROM a\nRUN --mount='x=\"a' x\n", 2,
     "failed to parse csv mounts: parse error on line 1, column 3: bare \" in non-quoted-field"},
    /* G-10: after the whole file, so a later instruction error wins */
    {"G-10 $", "FROM scratch\nCOPY --from=$X . .\n", 2,
     "variable expansion is not supported for --from, define a new stage with FROM using ARG "
     "from global scope as a workaround"},
    {"G-10 braces", "FROM a AS b\nFROM c\nCOPY --from=${B:-b} x y\n", 3,
     "variable expansion is not supported for --from, define a new stage with FROM using ARG "
     "from global scope as a workaround"},
    {"G-10 quotes", "FROM a\nCOPY --from='\"b\"' x y\n", 2,
     "variable expansion is not supported for --from, define a new stage with FROM using ARG "
     "from global scope as a workaround"},
    {"G-10 escape", "FROM a\nCOPY --from=a\\\\b x y\n", 2,
     "variable expansion is not supported for --from, define a new stage with FROM using ARG "
     "from global scope as a workaround"},
    {"G-10 after instruction errors", "FROM a\nCOPY --from=$X a b\nFRUM\n", 3,
     "unknown instruction: FRUM (did you mean FROM?)"},
    /* F-14 */
    {"F-14 COPY heredoc destination", "FROM a\nCOPY a <<EOF\nx\nEOF\n", 2,
     "COPY cannot accept a heredoc as a destination"},
    {"F-14 ADD heredoc destination", "FROM a\nADD a <<-EOF\nx\nEOF\n", 2,
     "ADD cannot accept a heredoc as a destination"},
    {"F-14 JSON destination", "FROM a\nCOPY [\"a\", \"<<EOF\"]\n", 2,
     "COPY cannot accept a heredoc as a destination"},
};

static void test_errors_match_buildkit_with_position(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(error_rows); i++) {
        const struct error_row *row = &error_rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_df *df = kn_df_parse("Dockerfile", row->text, strlen(row->text), &err);
        if (!df)
            fail_msg("[%s] df parse failed: %s", row->rule, err.msg);
        kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
        if (d) {
            kn_instr_free_dockerfile(d);
            kn_df_free(df);
            fail_msg("[%s] accepted, expected: %s", row->rule, row->msg);
        }
        kn_df_free(df);
        if (err.code != KN_EINPUT || !err.msg || strcmp(err.msg, row->msg) != 0 ||
            err.line != row->line || !err.file || strcmp(err.file, "Dockerfile") != 0)
            fail_msg("[%s] got code %d %s:%d: %s\nwant line %d: %s", row->rule, err.code,
                     err.file ? err.file : "(null)", err.line, err.msg ? err.msg : "(null)",
                     row->line, row->msg);
    }
}

/* ---- accepted forms: Dockerfile -> JSON fields of its last instruction ---- */

struct shape_row {
    const char *rule;
    const char *text;
    const char *want; /* JSON object: each key must equal the instruction's */
};

static const struct shape_row shape_rows[] = {
    /* FROM */
    {"I-5 FROM with platform and name", "FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder\n",
     "{\"kind\": \"from\", \"base\": \"golang:1.22\", \"name\": \"builder\","
     " \"name_as_written\": \"Builder\", \"platform\": \"$BUILDPLATFORM\","
     " \"flags\": {\"platform\": \"$BUILDPLATFORM\"}, \"line\": 1}"},
    {"I-5 as is case-insensitive", "FROM a as b.c-d_e\n", "{\"name\": \"b.c-d_e\"}"},
    {"I-5 no name", "FROM ${IMG}\n",
     "{\"base\": \"${IMG}\", \"name\": null, \"name_as_written\": null, \"platform\": null}"},
    {"I-3 empty platform is unset", "FROM --platform= a\n",
     "{\"platform\": null, \"flags\": {\"platform\": \"\"}}"},
    /* RUN */
    {"I-22 RUN shell form verbatim", "FROM a\nRUN echo $HOME  &&  x\n",
     "{\"kind\": \"run\", \"shell\": \"echo $HOME  &&  x\", \"network\": \"default\","
     " \"security\": \"sandbox\", \"mounts\": [], \"flags\": {}, \"heredocs\": []}"},
    {"I-22 RUN exec form", "FROM a\nRUN [\"echo\", \"a b\"]\n", "{\"exec\": [\"echo\", \"a b\"]}"},
    {"I-19 bare RUN", "FROM a\nRUN\n", "{\"shell\": \"\"}"},
    {"I-2 RUN flags",
     "FROM a\nRUN --mount=type=cache,target=/c --mount=type=secret,id=x --network=none "
     "--security=insecure make\n",
     "{\"shell\": \"make\", \"mounts\": [\"type=cache,target=/c\", \"type=secret,id=x\"],"
     " \"network\": \"none\", \"security\": \"insecure\","
     " \"flags\": {\"mount\": [\"type=cache,target=/c\", \"type=secret,id=x\"],"
     " \"network\": \"none\", \"security\": \"insecure\"}}"},
    {"G-12 trailing $ in from is literal", "FROM a\nRUN --mount=from=a$,target=/x true\n",
     "{\"mounts\": [\"from=a$,target=/x\"]}"},
    {"I-26 RUN heredoc", "FROM a\nRUN <<EOF\necho hi\nEOF\n",
     "{\"shell\": \"<<EOF\", \"line\": 2, \"end_line\": 4,"
     " \"heredocs\": [{\"name\": \"EOF\", \"content\": \"echo hi\\n\", \"expand\": true,"
     " \"chomp\": false}]}"},
    /* CMD, ENTRYPOINT, SHELL */
    {"I-16 CMD exec", "FROM a\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
     "{\"kind\": \"cmd\", \"exec\": [\"nginx\", \"-g\", \"daemon off;\"]}"},
    {"I-19 CMD []", "FROM a\nCMD []\n", "{\"exec\": []}"},
    {"I-19 CMD shell", "FROM a\nCMD echo hi\n", "{\"shell\": \"echo hi\"}"},
    {"P-30 CMD single quotes are shell form", "FROM a\nCMD ['a']\n", "{\"shell\": \"['a']\"}"},
    {"I-17 ENTRYPOINT", "FROM a\nENTRYPOINT [\"/init\"]\n",
     "{\"kind\": \"entrypoint\", \"exec\": [\"/init\"]}"},
    {"I-15 SHELL", "FROM a\nSHELL [\"/bin/bash\", \"-c\"]\n",
     "{\"kind\": \"shell\", \"exec\": [\"/bin/bash\", \"-c\"]}"},
    /* COPY, ADD */
    {"I-2 COPY flags",
     "FROM a\nCOPY --from=builder --chown=1:1 --chmod=755 --link --parents --exclude=*.md "
     "--exclude=tmp a b /dst/\n",
     "{\"kind\": \"copy\", \"sources\": [\"a\", \"b\"], \"dest\": \"/dst/\","
     " \"from\": \"builder\", \"chown\": \"1:1\", \"chmod\": \"755\", \"link\": true,"
     " \"parents\": true, \"exclude\": [\"*.md\", \"tmp\"], \"heredoc_sources\": [],"
     " \"flags\": {\"from\": \"builder\", \"chown\": \"1:1\", \"chmod\": \"755\","
     " \"link\": true, \"parents\": true, \"exclude\": [\"*.md\", \"tmp\"]}}"},
    {"P-23 -- ends flags", "FROM a\nCOPY -- --weird /d\n",
     "{\"sources\": [\"--weird\"], \"dest\": \"/d\", \"flags\": {}}"},
    {"I-3 bool values any case", "FROM a\nCOPY --link=FALSE --parents=True a b\n",
     "{\"link\": false, \"parents\": true, \"flags\": {\"link\": false, \"parents\": true}}"},
    {"I-3 empty --from is unset", "FROM a\nCOPY --from= a b\n",
     "{\"from\": null, \"flags\": {\"from\": \"\"}}"},
    {"G-10 trailing $ is literal", "FROM a\nCOPY --from=a$ x y\n", "{\"from\": \"a$\"}"},
    {"G-11 numeric --from", "FROM a\nFROM b\nCOPY --from=0 x y\n", "{\"from\": \"0\"}"},
    {"P-26 COPY JSON form", "FROM a\nCOPY [\"a b\", \"/c\"]\n",
     "{\"sources\": [\"a b\"], \"dest\": \"/c\"}"},
    {"F-14 COPY heredoc source", "FROM a\nCOPY <<EOF /etc/x\nhello $N\nEOF\n",
     "{\"sources\": [], \"dest\": \"/etc/x\", \"heredoc_sources\": [{\"name\": \"EOF\","
     " \"content\": \"hello $N\\n\", \"expand\": true}]}"},
    {"P-34 COPY chomped heredoc", "FROM a\nCOPY <<-EOF /x\n\t\tin\n\tEOF\n",
     "{\"heredoc_sources\": [{\"name\": \"EOF\", \"content\": \"in\\n\", \"expand\": true}],"
     " \"heredocs\": [{\"name\": \"EOF\", \"content\": \"\\t\\tin\\n\", \"expand\": true,"
     " \"chomp\": true}]}"},
    {"X-18 quoted delimiter is literal", "FROM a\nCOPY <<'EOF' /x\n$A\nEOF\n",
     "{\"heredoc_sources\": [{\"name\": \"EOF\", \"content\": \"$A\\n\", \"expand\": false}]}"},
    {"F-14 path and heredoc sources", "FROM a\nCOPY a <<EOF b /d/\nx\nEOF\n",
     "{\"sources\": [\"a\", \"b\"], \"heredoc_sources\": [{\"name\": \"EOF\","
     " \"content\": \"x\\n\", \"expand\": true}], \"dest\": \"/d/\"}"},
    {"F-2 ADD flags",
     "FROM a\nADD --checksum=sha256:abc --keep-git-dir --unpack=false --chown=u "
     "https://x/y.tgz /d\n",
     "{\"kind\": \"add\", \"checksum\": \"sha256:abc\", \"keep_git_dir\": true,"
     " \"unpack\": false, \"chown\": \"u\", \"chmod\": null, \"link\": false,"
     " \"sources\": [\"https://x/y.tgz\"], \"dest\": \"/d\"}"},
    {"F-22 ADD defaults", "FROM a\nADD a b\n",
     "{\"checksum\": null, \"keep_git_dir\": null, \"unpack\": null, \"exclude\": []}"},
    /* ENV, LABEL, ARG */
    {"I-7 ENV pairs stay raw", "FROM a\nENV a=1 b=\"x y\"\n",
     "{\"kind\": \"env\", \"env\": [{\"key\": \"a\", \"value\": \"1\"},"
     " {\"key\": \"b\", \"value\": \"\\\"x y\\\"\"}], \"legacy\": false}"},
    {"P-27 ENV legacy", "FROM a\nENV a b c\n",
     "{\"env\": [{\"key\": \"a\", \"value\": \"b c\"}], \"legacy\": true}"},
    {"I-8 LABEL", "FROM a\nLABEL org.x=\"1\" b=\n",
     "{\"kind\": \"label\", \"labels\": [{\"key\": \"org.x\", \"value\": \"\\\"1\\\"\"},"
     " {\"key\": \"b\", \"value\": \"\"}], \"legacy\": false}"},
    {"P-28 ARG forms", "FROM a\nARG a b=1 c= a-b=2\n",
     "{\"kind\": \"arg\", \"args\": [{\"key\": \"a\", \"default\": null},"
     " {\"key\": \"b\", \"default\": \"1\"}, {\"key\": \"c\", \"default\": \"\"},"
     " {\"key\": \"a-b\", \"default\": \"2\"}]}"},
    {"I-4 ARG ignores flags", "FROM a\nARG --bogus=1 x\n",
     "{\"args\": [{\"key\": \"x\", \"default\": null}], \"flags\": {}}"},
    /* single values and lists */
    {"I-12 EXPOSE as written", "FROM a\nEXPOSE 80 8000-8001/UDP\n",
     "{\"kind\": \"expose\", \"ports\": [\"80\", \"8000-8001/UDP\"]}"},
    {"I-13 VOLUME words", "FROM a\nVOLUME /a /b\n", "{\"volumes\": [\"/a\", \"/b\"]}"},
    {"I-13 VOLUME JSON trimmed", "FROM a\nVOLUME [\" /a \"]\n", "{\"volumes\": [\"/a\"]}"},
    {"I-11 USER", "FROM a\nUSER app:app\n", "{\"kind\": \"user\", \"user\": \"app:app\"}"},
    {"I-10 WORKDIR keeps spaces", "FROM a\nWORKDIR /a b\n", "{\"path\": \"/a b\"}"},
    {"I-9 MAINTAINER", "FROM a\nMAINTAINER Jane <j@x>\n", "{\"maintainer\": \"Jane <j@x>\"}"},
    {"I-14 STOPSIGNAL", "FROM a\nSTOPSIGNAL SIGTERM\n", "{\"signal\": \"SIGTERM\"}"},
    {"I-4 STOPSIGNAL ignores flags", "FROM a\nSTOPSIGNAL --x=1 9\n",
     "{\"signal\": \"9\", \"flags\": {}}"},
    /* HEALTHCHECK */
    {"I-18 durations",
     "FROM a\nHEALTHCHECK --interval=1m30s --timeout=3s --start-period=0 "
     "--start-interval=1.5ms --retries=3 CMD curl -f http://x/\n",
     "{\"kind\": \"healthcheck\", \"test\": [\"CMD-SHELL\", \"curl -f http://x/\"],"
     " \"interval\": 90000000000, \"timeout\": 3000000000, \"start_period\": 0,"
     " \"start_interval\": 1500000, \"retries\": 3}"},
    {"I-18 exec form", "FROM a\nHEALTHCHECK CMD [\"curl\", \"x\"]\n",
     "{\"test\": [\"CMD\", \"curl\", \"x\"], \"interval\": 0, \"retries\": 0}"},
    {"I-18 type any case", "FROM a\nhealthcheck cmd true\n",
     "{\"test\": [\"CMD-SHELL\", \"true\"]}"},
    {"I-18 zero duration", "FROM a\nHEALTHCHECK --interval=0s --retries=+0 CMD true\n",
     "{\"interval\": 0, \"retries\": 0}"},
    {"I-4 HEALTHCHECK NONE ignores flags", "FROM a\nHEALTHCHECK --bogus none\n",
     "{\"test\": [\"NONE\"], \"flags\": {}}"},
    /* ONBUILD */
    {"I-20 ONBUILD", "FROM a\nONBUILD RUN echo hi\n",
     "{\"kind\": \"onbuild\", \"expression\": \"RUN echo hi\", \"trigger_error\": null}"},
    {"I-20 ONBUILD heredoc re-attached", "FROM a\nonbuild  COPY <<EOF /x\nhi\nEOF\n",
     "{\"expression\": \"COPY <<EOF /x\\nhi\\nEOF\"}"},
    {"I-20 bad trigger is not an error", "FROM a\nONBUILD RUN --bogus x\n",
     "{\"trigger\": null, \"trigger_error\": \"unknown flag: --bogus\"}"},
    {"I-20 unknown trigger is not an error", "FROM a\nONBUILD FRUM x\n",
     "{\"trigger\": null, \"trigger_error\": \"unknown instruction: FRUM (did you mean FROM?)\"}"},
};

static void test_accepted_forms_have_typed_fields(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(shape_rows); i++) {
        const struct shape_row *row = &shape_rows[i];
        autoparsed p = parse_ok(row->rule, row->text);
        json_error_t jerr;
        json_t *want = json_loads(row->want, 0, &jerr);
        if (!want)
            fail_msg("[%s] bad expected JSON: %s", row->rule, jerr.text);
        json_t *got = kn_instr_to_json(last_instr(p.d));
        const char *key;
        json_t *value;
        json_object_foreach(want, key, value)
        {
            json_t *g = json_object_get(got, key);
            if (!g || !json_equal(g, value)) {
                char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
                char *ws = json_dumps(value, JSON_ENCODE_ANY);
                char *all = json_dumps(got, 0);
                fail_msg("[%s] field %s: got %s, want %s\nin %s", row->rule, key,
                         gs ? gs : "(missing)", ws, all);
            }
        }
        json_decref(got);
        json_decref(want);
    }
}

/* ---- typed access ---- */

static void test_copy_fields_borrow_flags(void **state)
{
    autoparsed p =
        parse_ok("I-2", "FROM a\nCOPY --from=b --exclude=x --exclude=y --chmod=644 s1 s2 /d\n");
    const kn_instr *in = last_instr(p.d);
    assert_int_equal(in->kind, KN_INSTR_COPY);
    assert_string_equal(in->copy.from, "b");
    assert_string_equal(in->copy.chmod, "644");
    assert_null(in->copy.chown);
    assert_int_equal(in->copy.excludes->len, 2);
    assert_string_equal(in->copy.excludes->items[1], "y");
    assert_int_equal(in->copy.sources.len, 2);
    assert_string_equal(in->copy.dest, "/d");
    const kn_instr_flag *f = kn_instr_get_flag(in, "exclude");
    assert_non_null(f);
    assert_true(f->is_set);
    assert_int_equal(f->type, KN_FLAG_STRINGS);
    assert_ptr_equal(&f->values, in->copy.excludes);
    f = kn_instr_get_flag(in, "link");
    assert_false(f->is_set);
    assert_string_equal(f->value, "false");
    assert_null(kn_instr_get_flag(in, "checksum"));
}

static void test_run_mount_from_read_at_parse_time(void **state)
{
    autoparsed p = parse_ok("G-12", "FROM a\nRUN --mount=type=bind,From=builder,target=/s "
                                    "--mount=type=cache,target=/c make\n");
    const kn_instr *in = last_instr(p.d);
    assert_int_equal(in->run.mounts.len, 2);
    assert_string_equal(in->run.mounts.items[0].raw, "type=bind,From=builder,target=/s");
    assert_string_equal(in->run.mounts.items[0].from, "builder");
    assert_null(in->run.mounts.items[1].from);
    assert_string_equal(in->run.network, "default");
    assert_int_equal(in->run.devices->len, 0);
    assert_false(in->run.cmd.is_exec);
    assert_string_equal(in->run.cmd.text, "make");
}

static void test_exec_form_keeps_nul_bytes(void **state)
{
    autoparsed p = parse_ok("P-29", "FROM a\nCMD [\"a\\u0000b\"]\n");
    const kn_instr *in = last_instr(p.d);
    assert_true(in->cmd.is_exec);
    assert_int_equal(in->cmd.argv.len, 1);
    assert_int_equal(in->cmd.argv.lens[0], 3);
    assert_memory_equal(in->cmd.argv.items[0], "a\0b", 3);
    json_t *j = kn_instr_to_json(in);
    json_t *s = json_array_get(json_object_get(j, "exec"), 0);
    assert_int_equal(json_string_length(s), 3);
    json_decref(j);
}

static void test_onbuild_trigger_is_typed(void **state)
{
    autoparsed p = parse_ok("I-20", "FROM a\nONBUILD COPY --from=b <<EOF /x\nhi\nEOF\n");
    const kn_instr *in = last_instr(p.d);
    assert_int_equal(in->kind, KN_INSTR_ONBUILD);
    const kn_instr *t = in->onbuild.trigger;
    assert_non_null(t);
    assert_null(in->onbuild.trigger_error);
    assert_int_equal(t->kind, KN_INSTR_COPY);
    assert_int_equal(t->line, 2);
    assert_int_equal(t->end_line, 4);
    assert_string_equal(t->copy.from, "b");
    assert_int_equal(t->copy.heredocs.len, 1);
    assert_string_equal(t->copy.heredocs.items[0].data, "hi\n");
    assert_string_equal(in->onbuild.expression, "COPY --from=b <<EOF /x\nhi\nEOF");
}

static void test_stages_group_instructions(void **state)
{
    autoparsed p = parse_ok("I-1", "ARG REG=docker.io\nARG IMG\n"
                                   "FROM ${REG}/rust AS Local_Builder\nRUN cargo build\n"
                                   "ARG V\n"
                                   "FROM ${IMG} AS builder\n"
                                   "FROM debian\nCOPY --from=builder /out /bin/\n");
    const kn_dockerfile *d = p.d;
    assert_int_equal(d->global_args.len, 2);
    assert_string_equal(d->global_args.items[0]->arg.defs.items[0].key, "REG");
    assert_string_equal(d->global_args.items[0]->arg.defs.items[0].value, "docker.io");
    assert_null(d->global_args.items[1]->arg.defs.items[0].value);
    assert_int_equal(d->stages.len, 3);
    assert_int_equal(d->stages.items[0]->index, 0);
    assert_string_equal(d->stages.items[0]->name, "local_builder");
    assert_int_equal(d->stages.items[0]->instrs.len, 2); /* RUN and the stage ARG */
    assert_int_equal(d->stages.items[0]->instrs.items[1]->kind, KN_INSTR_ARG);
    assert_string_equal(d->stages.items[1]->from->from.base, "${IMG}");
    assert_int_equal(d->stages.items[1]->instrs.len, 0);
    assert_null(d->stages.items[2]->name);
    assert_int_equal(d->stages.items[2]->index, 2);
    assert_int_equal(d->stages.items[2]->from->line, 7);
    assert_int_equal(d->stages.items[2]->instrs.items[0]->line, 8);
}

static void test_dockerfile_json_shape(void **state)
{
    autoparsed p = parse_ok("P-35", "# escape=`\nARG A=1 B\nFROM --platform=x a AS One\n"
                                    "RUN echo `\n  hi\nFROM one\n");
    json_t *j = kn_instr_dockerfile_to_json(p.d);
    json_error_t jerr;
    json_t *want = json_loads(
        "{\"escape\": \"`\","
        " \"args\": [{\"key\": \"A\", \"default\": \"1\", \"line\": 2},"
        "           {\"key\": \"B\", \"default\": null, \"line\": 2}],"
        " \"stages\": ["
        "  {\"index\": 0, \"name\": \"one\", \"line\": 3,"
        "   \"from\": {\"base\": \"a\", \"name_as_written\": \"One\", \"platform\": \"x\"},"
        "   \"instructions\": [{\"kind\": \"run\", \"line\": 4, \"end_line\": 5,"
        "     \"original\": \"RUN echo   hi\", \"flags\": {}, \"heredocs\": [],"
        "     \"shell\": \"echo   hi\", \"mounts\": [], \"network\": \"default\","
        "     \"security\": \"sandbox\"}]},"
        "  {\"index\": 1, \"name\": null, \"line\": 6,"
        "   \"from\": {\"base\": \"one\", \"name_as_written\": null, \"platform\": null},"
        "   \"instructions\": []}]}",
        0, &jerr);
    assert_non_null(want);
    if (!json_equal(j, want)) {
        char *s = json_dumps(j, JSON_INDENT(1));
        fail_msg("got %s", s);
    }
    json_decref(want);
    json_decref(j);
}

static void test_json_replaces_invalid_utf8(void **state)
{
    autoparsed p = parse_ok("E-1", "FROM a\nRUN echo \xff\n");
    json_t *j = kn_instr_to_json(last_instr(p.d));
    assert_string_equal(json_string_value(json_object_get(j, "shell")), "echo \xef\xbf\xbd");
    json_decref(j);
}

static void test_kind_names_round_trip(void **state)
{
    for (int k = 0; k < KN_INSTR_N_KINDS; k++) {
        kn_instr_kind got;
        assert_true(kn_instr_kind_lookup(kn_instr_kind_name((kn_instr_kind)k), &got));
        assert_int_equal(got, k);
    }
    kn_instr_kind got;
    assert_true(kn_instr_kind_lookup("hEaLtHcHeCk", &got));
    assert_int_equal(got, KN_INSTR_HEALTHCHECK);
    assert_false(kn_instr_kind_lookup("FRUM", &got));
}

static void test_parse_single_node_for_triggers(void **state)
{
    /* G-24: a trigger text is parsed on its own downstream. */
    const char *text = "COPY --from=b x y\n";
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse("trigger", text, strlen(text), &err);
    assert_non_null(df);
    kn_instr *in = kn_instr_parse(df->nodes.items[0], "trigger", &err);
    assert_non_null(in);
    assert_string_equal(in->copy.from, "b");
    kn_instr_free(in);
    kn_df_free(df);
}

/* ---- Go durations (I-18) ---- */

struct duration_row {
    const char *in;
    int64_t ns;
    const char *err; /* NULL when valid */
};

static const struct duration_row duration_rows[] = {
    {"1m30s", 90000000000LL, NULL},
    {"1.5h", 5400000000000LL, NULL},
    {"300ms", 300000000LL, NULL},
    {"-1.5h", -5400000000000LL, NULL},
    {"+5s", 5000000000LL, NULL},
    {"1h1m1s1ms1us1ns", 3661001001001LL, NULL},
    {"2\xc2\xb5s", 2000, NULL},
    {"2\xce\xbcs", 2000, NULL},
    {".5s", 500000000LL, NULL},
    {"1.s", 1000000000LL, NULL},
    {"0", 0, NULL},
    {"-0", 0, NULL},
    {"0.000000001s", 1, NULL},
    {"9223372036854775807ns", INT64_MAX, NULL},
    {"-9223372036854775808ns", INT64_MIN, NULL},
    {"2562047h", 9223369200000000000LL, NULL},
    {"", 0, "time: invalid duration \"\""},
    {"1", 0, "time: missing unit in duration \"1\""},
    {"x", 0, "time: invalid duration \"x\""},
    {".", 0, "time: invalid duration \".\""},
    {"1x", 0, "time: unknown unit \"x\" in duration \"1x\""},
    {"1\xc3\xa9", 0, "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\""},
    {"1s2", 0, "time: missing unit in duration \"1s2\""},
    {"9223372036854775808ns", 0, "time: invalid duration \"9223372036854775808ns\""},
    {"2562048h", 0, "time: invalid duration \"2562048h\""},
    {"99999999999999999999s", 0, "time: invalid duration \"99999999999999999999s\""},
};

static void test_durations_parse_like_go(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(duration_rows); i++) {
        const struct duration_row *row = &duration_rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        int64_t ns = 42;
        int r = kn_instr_parse_duration(row->in, &ns, &err);
        if (row->err) {
            if (r == 0 || strcmp(err.msg, row->err) != 0)
                fail_msg("[I-18 %s] want error %s, got %d %s", row->in, row->err, r,
                         err.msg ? err.msg : "(none)");
        } else if (r != 0 || ns != row->ns) {
            fail_msg("[I-18 %s] want %lld, got %d %lld %s", row->in, (long long)row->ns, r,
                     (long long)ns, err.msg ? err.msg : "");
        }
    }
}

/* ---- RUN --mount at execution (I-30 .. I-32) ---- */

/* "$DIR" -> "/cache", "$BAD" fails, anything else unchanged. */
static int test_expand(void *ctx, const char *word, char **out, kn_err *err)
{
    if (strcmp(word, "$BAD") == 0)
        return kn_errf(err, KN_EINPUT, "BAD: is not allowed to be unset");
    *out = kn_xstrdup(strcmp(word, "$DIR") == 0 ? "/cache" : word);
    return 0;
}

struct mount_row {
    const char *rule;
    const char *raw;
    const char *err; /* exact, or NULL */
    kn_instr_mount_type type;
    bool readonly;
    const char *target;
    int64_t size;
};

static const struct mount_row mount_rows[] = {
    {"I-31 cache", "type=cache,target=/root/.cache,sharing=locked,id=go", NULL,
     KN_INSTR_MOUNT_CACHE, false, "/root/.cache", 0},
    {"I-31 bind is read-only", "type=bind,source=/a,target=/b", NULL, KN_INSTR_MOUNT_BIND, true,
     "/b", 0},
    {"I-30 bare rw", "type=bind,rw,dst=/b", NULL, KN_INSTR_MOUNT_BIND, false, "/b", 0},
    {"I-30 readonly=false", "type=secret,id=a,readonly=false", NULL, KN_INSTR_MOUNT_SECRET, false,
     NULL, 0},
    {"I-30 keys any case", "TYPE=Tmpfs,Size=1g,Target=/t", NULL, KN_INSTR_MOUNT_TMPFS, false, "/t",
     1073741824LL},
    {"I-31 size units", "type=tmpfs,size=1.5k,destination=/t", NULL, KN_INSTR_MOUNT_TMPFS, false,
     "/t", 1536},
    {"I-31 size with b", "type=tmpfs,size=2MiB", NULL, KN_INSTR_MOUNT_TMPFS, false, NULL, 2097152},
    {"X-16 values expanded", "type=cache,target=$DIR", NULL, KN_INSTR_MOUNT_CACHE, false, "/cache",
     0},
    {"I-30 quoted CSV field", "\"type=cache\",\"target=/a,b\"", NULL, KN_INSTR_MOUNT_CACHE, false,
     "/a,b", 0},
    {"I-30 doubled quote", "\"target=/a\"\"b\"", NULL, KN_INSTR_MOUNT_BIND, true, "/a\"b", 0},
    {"I-30 type-specific key before type", "size=1g,type=tmpfs",
     "unexpected key 'size' for mount type 'bind'", KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 size on cache", "type=cache,size=1g", "unexpected key 'size' for mount type 'cache'",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 bad size", "type=tmpfs,size=1x", "invalid value for size: 1x", KN_INSTR_MOUNT_BIND,
     false, NULL, 0},
    {"I-31 required needs secret or ssh", "type=cache,required",
     "unexpected key 'required' for mount type 'cache'", KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-30 bare field", "type=bind,target", "invalid field 'target' must be a key=value pair",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-30 unknown type", "type=foo", "unsupported mount type \"foo\"", KN_INSTR_MOUNT_BIND, false,
     NULL, 0},
    {"E-3 type suggestion", "type=cahce", "unsupported mount type \"cahce\" (did you mean cache?)",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"E-3 sharing suggestion", "type=cache,sharing=privat",
     "unsupported sharing value \"privat\" (did you mean private?)", KN_INSTR_MOUNT_BIND, false,
     NULL, 0},
    {"E-3 key suggestion", "type=bind,targte=/x",
     "unexpected key 'targte' in 'targte=/x' (did you mean target?)", KN_INSTR_MOUNT_BIND, false,
     NULL, 0},
    {"I-31 mode on bind", "type=bind,mode=0755", "mode not allowed for \"bind\" type mounts",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 uid on tmpfs", "type=tmpfs,uid=0", "uid not allowed for \"tmpfs\" type mounts",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 bad gid", "type=cache,mode=0755,uid=1000,gid=x", "invalid value x for gid",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 mode is octal", "type=cache,mode=9", "invalid value 9 for mode", KN_INSTR_MOUNT_BIND,
     false, NULL, 0},
    {"I-31 bad readonly", "readonly=maybe", "invalid value for readonly: maybe",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 secret from", "type=secret,from=x,id=a", "secret mount should not have a from",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 secret sharing", "type=secret,id=a,sharing=shared",
     "secret mount should not define sharing", KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-32 secret needs an id", "type=secret",
     "invalid secret mount. one of source, target required", KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-32 secret source and id", "type=secret,source=a,id=b", "both source and id can't be set",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-31 sharing on bind", "type=bind,sharing=shared", "invalid cache sharing set for bind mount",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"X-16 expansion error", "target=$BAD", "BAD: is not allowed to be unset", KN_INSTR_MOUNT_BIND,
     false, NULL, 0},
    {"I-30 empty", "", "failed to parse csv mounts: EOF", KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-30 bare quote", "a\"b",
     "failed to parse csv mounts: parse error on line 1, column 2: bare \" in non-quoted-field",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-30 unterminated quote", "\"abc",
     "failed to parse csv mounts: parse error on line 1, column 2: extraneous or missing \" in "
     "quoted-field",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
    {"I-30 text after quote", "\"a\"b",
     "failed to parse csv mounts: parse error on line 1, column 3: extraneous or missing \" in "
     "quoted-field",
     KN_INSTR_MOUNT_BIND, false, NULL, 0},
};

static void test_mounts_parse_like_buildkit(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(mount_rows); i++) {
        const struct mount_row *row = &mount_rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_instr_mount m;
        int r = kn_instr_parse_mount(row->raw, test_expand, NULL, &m, &err);
        if (row->err) {
            if (r == 0 || strcmp(err.msg, row->err) != 0)
                fail_msg("[%s] want error %s, got %d %s", row->rule, row->err, r,
                         err.msg ? err.msg : "(none)");
            continue;
        }
        if (r != 0)
            fail_msg("[%s] failed: %s", row->rule, err.msg);
        bool ok = m.type == row->type && m.readonly == row->readonly && m.size == row->size &&
                  ((!m.target && !row->target) ||
                   (m.target && row->target && strcmp(m.target, row->target) == 0));
        if (!ok)
            fail_msg("[%s] got type %d ro %d target %s size %lld", row->rule, m.type, m.readonly,
                     m.target ? m.target : "(null)", (long long)m.size);
        kn_instr_mount_free(&m);
    }
}

static void test_mount_secret_fields(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_instr_mount m;
    assert_int_equal(kn_instr_parse_mount("type=secret,id=npm,required,env=NPM_TOKEN,mode=0440,"
                                          "uid=1000",
                                          test_expand, NULL, &m, &err),
                     0);
    assert_int_equal(m.type, KN_INSTR_MOUNT_SECRET);
    assert_string_equal(m.id, "npm");
    assert_string_equal(m.env, "NPM_TOKEN");
    assert_true(m.required);
    assert_true(m.readonly);
    assert_true(m.has_mode);
    assert_int_equal(m.mode, 0440);
    assert_true(m.has_uid);
    assert_int_equal(m.uid, 1000);
    assert_false(m.has_gid);
    assert_null(m.source);
    kn_instr_mount_free(&m);
    assert_int_equal(
        kn_instr_parse_mount("type=cache,target=/c,sharing=LOCKED", test_expand, NULL, &m, &err),
        0);
    assert_int_equal(m.sharing, KN_INSTR_MOUNT_SHARING_LOCKED);
    kn_instr_mount_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_match_buildkit_with_position),
        cmocka_unit_test(test_accepted_forms_have_typed_fields),
        cmocka_unit_test(test_copy_fields_borrow_flags),
        cmocka_unit_test(test_run_mount_from_read_at_parse_time),
        cmocka_unit_test(test_exec_form_keeps_nul_bytes),
        cmocka_unit_test(test_onbuild_trigger_is_typed),
        cmocka_unit_test(test_stages_group_instructions),
        cmocka_unit_test(test_dockerfile_json_shape),
        cmocka_unit_test(test_json_replaces_invalid_utf8),
        cmocka_unit_test(test_kind_names_round_trip),
        cmocka_unit_test(test_parse_single_node_for_triggers),
        cmocka_unit_test(test_durations_parse_like_go),
        cmocka_unit_test(test_mounts_parse_like_buildkit),
        cmocka_unit_test(test_mount_secret_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
