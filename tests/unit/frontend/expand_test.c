/* Tests for word expansion (src/frontend/expand.c), SEMANTICS part 2:
 * BuildKit's shell tables from shared/conformance, then kiln's own rows,
 * each citing the rule it checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "frontend/expand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers --- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        kn_buf_add(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return kn_buf_release(&b);
}

/* The conformance folder, or NULL (with a note) when it is not there. */
static char *shell_table_path(const char *name)
{
    const char *dir = getenv("KN_SHARED_DIR");
    if (!dir || !*dir)
        dir = "../shared";
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%s/conformance/buildkit/shell/%s", dir, name);
    return kn_buf_release(&b);
}

/* Go's strings.TrimSpace, for the table fields. */
static void trim_space(const char **s, size_t *len)
{
    size_t n;
    while (*len > 0 && (n = kn_utf8_space_len(*s, *len)) > 0) {
        *s += n;
        *len -= n;
    }
    for (;;) {
        bool cut = false;
        for (size_t k = 1; k <= 3 && k <= *len; k++) {
            if (kn_utf8_space_len(*s + *len - k, k) == k) {
                *len -= k;
                cut = true;
                break;
            }
        }
        if (!cut)
            break;
    }
}

typedef struct line_iter {
    const char *p, *end;
    int line_no;
} line_iter;

/* Next line without its "\n" (and a "\r" before it, as bufio.Scanner). */
static bool next_line(line_iter *it, const char **line, size_t *len)
{
    if (it->p >= it->end)
        return false;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    *line = it->p;
    *len = (size_t)(stop - it->p);
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    it->p = nl ? nl + 1 : it->end;
    it->line_no++;
    return true;
}

/* Expand in Word mode; returns the result or NULL with *msg set (caller
 * frees both). */
static char *word_or_error(const char *in, char escape, kn_strvec *env, char **msg)
{
    kn_expand_env e = {kn_expand_lookup_kv, NULL, env};
    kn_autoerr kn_err err = KN_ERR_INIT;
    char *out = NULL;
    *msg = NULL;
    if (kn_expand_word(in, escape, &e, &out, &err) < 0) {
        assert_int_equal(err.code, KN_EINPUT);
        assert_non_null(err.msg);
        *msg = kn_xstrdup(err.msg);
        return NULL;
    }
    return out;
}

/* Words mode joined as "w1,w2,..." (or "error"). */
static char *words_joined(const char *in, char escape, kn_strvec *env, const kn_lex_opts *opts)
{
    kn_expand_env e = {kn_expand_lookup_kv, NULL, env};
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
    if (kn_expand_words_opts(in, escape, &e, opts, &words, &err) < 0) {
        assert_int_equal(err.code, KN_EINPUT);
        assert_int_equal(words.len, 0);
        return kn_xstrdup("error");
    }
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < words.len; i++) {
        if (i)
            kn_buf_addc(&b, ',');
        kn_buf_adds(&b, words.items[i]);
    }
    return kn_buf_release(&b);
}

/* --- BuildKit's tables (SEMANTICS V-, X-1 .. X-14) --- */

static void test_expand_matches_buildkit_env_var_table(void **state)
{
    kn_autofree char *path = shell_table_path("envVarTest");
    size_t len;
    kn_autofree char *data = read_file(path, &len);
    if (!data) {
        printf("envVarTest: %s not found (%s): conformance rows skipped\n", path, strerror(errno));
        skip();
    }
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    kn_strvec_push(&env, "PWD=/home");
    kn_strvec_push(&env, "SHELL=bash");
    kn_strvec_push(&env, "KOREAN=\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"); /* 한국어 */
    kn_strvec_push(&env, "NULL=");

    line_iter it = {data, data + len, 0};
    const char *line;
    size_t line_len;
    int ran = 0, skipped = 0, passed = 0, failed = 0;
    while (next_line(&it, &line, &line_len)) {
        if (line_len > 0 && line[0] == '#')
            continue;
        trim_space(&line, &line_len);
        if (line_len == 0)
            continue;
        const char *f[3];
        size_t fl[3];
        size_t n_fields = 0;
        const char *p = line, *end = line + line_len;
        for (;;) {
            const char *bar = memchr(p, '|', (size_t)(end - p));
            const char *stop = bar ? bar : end;
            if (n_fields < 3) {
                f[n_fields] = p;
                fl[n_fields] = (size_t)(stop - p);
            }
            n_fields++;
            if (!bar)
                break;
            p = bar + 1;
        }
        if (n_fields != 3)
            fail_msg("envVarTest:%d: expected 3 fields, got %zu", it.line_no, n_fields);
        for (int i = 0; i < 3; i++)
            trim_space(&f[i], &fl[i]);
        if (fl[0] == 1 && f[0][0] == 'W') {
            skipped++;
            continue;
        }
        if (!(fl[0] == 1 && (f[0][0] == 'A' || f[0][0] == 'U')))
            fail_msg("envVarTest:%d: bad tag %.*s", it.line_no, (int)fl[0], f[0]);
        kn_autofree char *in = kn_xstrndup(f[1], fl[1]);
        kn_autofree char *want = kn_xstrndup(f[2], fl[2]);
        kn_autofree char *msg = NULL;
        kn_autofree char *got = word_or_error(in, '\\', &env, &msg);
        ran++;
        bool ok = strcmp(want, "error") == 0 ? got == NULL : got && strcmp(got, want) == 0;
        if (ok) {
            passed++;
        } else {
            failed++;
            print_error("envVarTest:%d: %s: want [%s], got %s%s%s\n", it.line_no, in, want,
                        got ? "[" : "error: ", got ? got : msg, got ? "]" : "");
        }
    }
    printf("envVarTest: %d rows ran, %d skipped (Windows), %d passed\n", ran, skipped, passed);
    assert_int_equal(failed, 0);
    assert_true(ran > 200);
}

static void test_expand_matches_buildkit_words_table(void **state)
{
    kn_autofree char *path = shell_table_path("wordsTest");
    size_t len;
    kn_autofree char *data = read_file(path, &len);
    if (!data) {
        printf("wordsTest: %s not found (%s): conformance rows skipped\n", path, strerror(errno));
        skip();
    }
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    line_iter it = {data, data + len, 0};
    const char *line;
    size_t line_len;
    int ran = 0, passed = 0, failed = 0, n_env = 0;
    while (next_line(&it, &line, &line_len)) {
        if (line_len > 0 && line[0] == '#')
            continue;
        if (line_len >= 4 && memcmp(line, "ENV ", 4) == 0) {
            const char *kv = line + 3;
            size_t kv_len = line_len - 3;
            while (kv_len > 0 && *kv == ' ') {
                kv++;
                kv_len--;
            }
            kn_strvec_pushn(&env, kv, kv_len);
            n_env++;
            continue;
        }
        if (line_len == 0)
            continue;
        const char *bar = memchr(line, '|', line_len);
        if (!bar || memchr(bar + 1, '|', line_len - (size_t)(bar + 1 - line)))
            fail_msg("wordsTest:%d: expected exactly one '|'", it.line_no);
        const char *in_p = line;
        size_t in_len = (size_t)(bar - line);
        trim_space(&in_p, &in_len);
        const char *want_p = bar + 1;
        size_t want_len = line_len - (size_t)(want_p - line);
        while (want_len > 0 && *want_p == ' ') {
            want_p++;
            want_len--;
        }
        kn_autofree char *in = kn_xstrndup(in_p, in_len);
        kn_autofree char *want = kn_xstrndup(want_p, want_len);
        kn_autofree char *got = words_joined(in, '\\', &env, NULL);
        ran++;
        if (strcmp(got, want) == 0) {
            passed++;
        } else {
            failed++;
            print_error("wordsTest:%d: %s: want [%s], got [%s]\n", it.line_no, in, want, got);
        }
    }
    printf("wordsTest: %d rows ran (%d ENV lines), 0 skipped, %d passed\n", ran, n_env, passed);
    assert_int_equal(failed, 0);
    assert_true(ran > 20);
}

/* --- kiln's rows --- */

/* Environment of the rows: S set, E set and empty, U unset. */
static const char *const row_env[] = {
    "S=abc",
    "E=",
    "F=xxyy",
    "PWD=/home",
    "A=/path",
    "SP=abc  def",
    "L=  ab c",
    "SL=/x/y",
    "BR=[a]x",
    "NL=a\nb",
    "T=<$0|$$|$1|${0}>",
    "STAR=*",
    "KOREAN=\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
    "\xed\x95\x9c=han",
    "BAD=\xff",
};

static void make_row_env(kn_strvec *env)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(row_env); i++)
        kn_strvec_push(env, row_env[i]);
}

struct word_row {
    const char *in;
    char escape;      /* 0: backslash */
    const char *want; /* NULL: must fail with err */
    const char *err;
};

static void check_word_rows(const struct word_row *rows, size_t n, const char *what)
{
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    make_row_env(&env);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct word_row *r = &rows[i];
        kn_autofree char *msg = NULL;
        kn_autofree char *got = word_or_error(r->in, r->escape ? r->escape : '\\', &env, &msg);
        bool ok = r->want ? got && strcmp(got, r->want) == 0
                          : !got && (!r->err || strcmp(msg, r->err) == 0);
        if (!ok) {
            failed++;
            print_error("%s row %zu: %s: want %s[%s], got %s[%s]\n", what, i, r->in,
                        r->want ? "" : "error ", r->want ? r->want : (r->err ? r->err : ""),
                        got ? "" : "error ", got ? got : msg);
        }
    }
    assert_int_equal(failed, 0);
}

static const struct word_row quoting_rows[] = {
    /* X-3 examples */
    {"he'll'o", 0, "hello", NULL},                       /* X-3 */
    {"he\\'llo", 0, "he'llo", NULL},                     /* X-3 */
    {"abc\\tdef", 0, "abctdef", NULL},                   /* X-3 */
    {"\"abc\\tdef\"", 0, "abc\\tdef", NULL},             /* X-3 */
    {"hello\\\\", 0, "hello\\", NULL},                   /* X-3 */
    {"'hello\\'", 0, "hello\\", NULL},                   /* X-3 */
    {"he\\$PWD", 0, "he$PWD", NULL},                     /* X-3 */
    {"he\\\\$PWD", 0, "he\\/home", NULL},                /* X-3 */
    {"\"he'$PWD'\"", 0, "he'/home'", NULL},              /* X-3 */
    {"'$PWD'", 0, "$PWD", NULL},                         /* X-3 */
    {"hello\\", 0, "hello", NULL},                       /* X-2 final lone ESC */
    {"\"a\\\"b\\$c\\\\d\\e\"", 0, "a\"b$c\\d\\e", NULL}, /* X-2 ESC in "" */
    {"a \t b", 0, "a \t b", NULL},                       /* X-1 whitespace kept */
    {"'unterminated", 0, NULL,                           /* X-3 */
     "unexpected end of statement while looking for matching single-quote"},
    {"\"unterminated", 0, NULL, /* X-3 */
     "unexpected end of statement while looking for matching double-quote"},
    {"\"ends in escape\\", 0, NULL, /* X-3 */
     "unexpected end of statement while looking for matching double-quote"},
    /* X-1: backtick escape (ESC after # escape=`) */
    {"`$S", '`', "$S", NULL},                       /* X-2 */
    {"C:\\path\\$S", '`', "C:\\path\\abc", NULL},   /* X-2: \ is literal */
    {"\"a`\"b`$S``c`d\"", '`', "a\"b$S`c`d", NULL}, /* X-2 */
    {"a``b`", '`', "a`b", NULL},                    /* X-2 */
    {"`'x`'", '`', "'x'", NULL},                    /* X-2 */
    {"${F#x`}y}", '`', "xxyy", NULL},               /* X-10: `} does not close */
    {"${STAR#\\*}", '`', "", NULL},                 /* X-10: pattern ESC is \ */
    /* Reading text as Go runes: a leading BOM is dropped, invalid bytes of
     * the word become U+FFFD, values are copied as they are. */
    {"\xef\xbb\xbf"
     "abc",
     0, "abc", NULL},                      /* X-1 */
    {"a\xffz", 0, "a\xef\xbf\xbdz", NULL}, /* X-1 */
    {"$BAD", 0, "\xff", NULL},             /* X-1 */
};

static void test_expand_quotes_and_escapes(void **state)
{
    check_word_rows(quoting_rows, KN_ARRAY_LEN(quoting_rows), "quoting");
}

static const struct word_row dollar_rows[] = {
    {"he$1x", 0, "hex", NULL},                                      /* X-4 */
    {"$@@@", 0, "@@", NULL},                                        /* X-4 */
    {"$001x", 0, "x", NULL},                                        /* X-4 */
    {"$KOREAN!", 0, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4!", NULL}, /* X-4 */
    {"${KOREAN}", 0, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", NULL}, /* X-4 */
    {"$\xed\x95\x9c-", 0, "han-", NULL},                            /* X-4 Unicode name */
    {"$S\xc2\xb7", 0, "abc\xc2\xb7", NULL},                         /* X-4: U+00B7 ends a name */
    {"a$", 0, "a$", NULL},                                          /* X-5 */
    {"$.", 0, "$.", NULL},                                          /* X-5 */
    {"$U-$S", 0, "-abc", NULL},                                     /* X-5, X-19 */
    {"$A/$B", 0, "/path/", NULL},                                   /* X-19 */
    {"${", 0, NULL, "syntax error: missing '}'"},                   /* X-6 */
    {"${}", 0, NULL, "syntax error: bad substitution"},             /* X-6 */
    {"${:-x}", 0, NULL, "syntax error: bad substitution"},          /* X-6 */
    {"${{S}", 0, NULL, "syntax error: bad substitution"},           /* X-6 */
    {"${S", 0, NULL, "syntax error: missing '}'"},                  /* X-8 */
    {"${S:-x", 0, NULL, "syntax error: missing '}'"},               /* X-8 */
    {"${S:-'x}", 0, NULL, "syntax error: missing '}'"},             /* X-8: quote runs to the end */
    {"${S:#x}", 0, NULL, "unsupported modifier (:#) in substitution"}, /* X-8 */
    {"${S:%x}", 0, NULL, "unsupported modifier (:%) in substitution"}, /* X-8 */
    {"${S=w}", 0, NULL, "unsupported modifier (=) in substitution"},   /* X-8 */
    {"${S:=w}", 0, NULL, "unsupported modifier (:=) in substitution"}, /* X-8 */
    {"${S.}", 0, NULL, "unsupported modifier (.) in substitution"},    /* X-8 */
    {"${S\xc3\xa9}", 0, "", NULL},                                     /* X-4: é is a letter */
    {"${S\xc2\xb7}", 0, NULL, "unsupported modifier (\xc2\xb7) in substitution"},         /* X-8 */
    {"${F//ww}", 0, NULL, "syntax error: missing '/' in ${}"},                            /* X-8 */
    {"${F/x/y", 0, NULL, "syntax error: missing '}'"},                                    /* X-8 */
    {"${F#\\x}", 0, NULL, "invalid pattern (\\x) in substitution: invalid escape '\\x'"}, /* X-10 */
    {"${U#\\x}", 0, NULL, "invalid pattern (\\x) in substitution: invalid escape '\\x'"}, /* X-10 */
    /* X-10: suffix patterns are reported reversed, as BuildKit does */
    {"${F%a\\x}", 0, NULL, "invalid pattern (\\xa) in substitution: invalid escape '\\x'"},
    {"${F/\\q/z}", 0, NULL, "invalid pattern (\\q) in substitution: invalid escape '\\q'"},
};

static void test_expand_dollar_forms_and_errors(void **state)
{
    check_word_rows(dollar_rows, KN_ARRAY_LEN(dollar_rows), "dollar");
}

/* X-7: every modifier for an unset (U), empty (E) and set (S) variable. */
static const struct word_row modifier_rows[] = {
    {"[${U}]", 0, "[]", NULL},                                  /* X-7 u */
    {"[${E}]", 0, "[]", NULL},                                  /* X-7 e */
    {"[${S}]", 0, "[abc]", NULL},                               /* X-7 v */
    {"[${U-w}]", 0, "[w]", NULL},                               /* X-7 u */
    {"[${E-w}]", 0, "[]", NULL},                                /* X-7 e */
    {"[${S-w}]", 0, "[abc]", NULL},                             /* X-7 v */
    {"[${U:-w}]", 0, "[w]", NULL},                              /* X-7 u */
    {"[${E:-w}]", 0, "[w]", NULL},                              /* X-7 e */
    {"[${S:-w}]", 0, "[abc]", NULL},                            /* X-7 v */
    {"[${U+w}]", 0, "[]", NULL},                                /* X-7 u */
    {"[${E+w}]", 0, "[w]", NULL},                               /* X-7 e */
    {"[${S+w}]", 0, "[w]", NULL},                               /* X-7 v */
    {"[${U:+w}]", 0, "[]", NULL},                               /* X-7 u */
    {"[${E:+w}]", 0, "[]", NULL},                               /* X-7 e */
    {"[${S:+w}]", 0, "[w]", NULL},                              /* X-7 v */
    {"[${U?m}]", 0, NULL, "U: m"},                              /* X-7 u */
    {"[${E?m}]", 0, "[]", NULL},                                /* X-7 e */
    {"[${S?m}]", 0, "[abc]", NULL},                             /* X-7 v */
    {"[${U:?m}]", 0, NULL, "U: m"},                             /* X-7 u */
    {"[${E:?m}]", 0, NULL, "E: m"},                             /* X-7 e */
    {"[${S:?m}]", 0, "[abc]", NULL},                            /* X-7 v */
    {"${U?}", 0, NULL, "U: is not allowed to be unset"},        /* X-7 */
    {"${U:?}", 0, NULL, "U: is not allowed to be unset"},       /* X-7 */
    {"${E:?}", 0, NULL, "E: is not allowed to be empty"},       /* X-7 */
    {"${U:?a $S b}", 0, NULL, "U: a abc b"},                    /* X-7, X-9 */
    {"[${U#x}]", 0, "[]", NULL},                                /* X-7 u */
    {"[${E#x}]", 0, "[]", NULL},                                /* X-7 e */
    {"[${F#x}]", 0, "[xyy]", NULL},                             /* X-7 v */
    {"[${U##*x}]", 0, "[]", NULL},                              /* X-7 u */
    {"[${E##*x}]", 0, "[]", NULL},                              /* X-7 e */
    {"[${F##*x}]", 0, "[yy]", NULL},                            /* X-7 v, X-13 */
    {"[${U%y}]", 0, "[]", NULL},                                /* X-7 u */
    {"[${E%y}]", 0, "[]", NULL},                                /* X-7 e */
    {"[${F%y}]", 0, "[xxy]", NULL},                             /* X-7 v */
    {"[${U%%y*}]", 0, "[]", NULL},                              /* X-7 u */
    {"[${E%%y*}]", 0, "[]", NULL},                              /* X-7 e */
    {"[${F%%y*}]", 0, "[xx]", NULL},                            /* X-7 v */
    {"[${F%y*}]", 0, "[xxy]", NULL},                            /* X-7 v */
    {"[${U/x/z}]", 0, "[]", NULL},                              /* X-7 u */
    {"[${E/x/z}]", 0, "[]", NULL},                              /* X-7 e */
    {"[${F/x/z}]", 0, "[zxyy]", NULL},                          /* X-7 v */
    {"[${U//x/z}]", 0, "[]", NULL},                             /* X-7 u */
    {"[${E//x/z}]", 0, "[]", NULL},                             /* X-7 e */
    {"[${F//x/z}]", 0, "[zzyy]", NULL},                         /* X-7 v */
    {"[${F//x}]", 0, NULL, "syntax error: missing '/' in ${}"}, /* X-8 */
    {"[${F///}]", 0, "[xxyy]", NULL},                           /* X-7 */
};

static void test_expand_modifiers_unset_empty_set(void **state)
{
    check_word_rows(modifier_rows, KN_ARRAY_LEN(modifier_rows), "modifier");
}

static const struct word_row pattern_rows[] = {
    {"${a:-b}}", 0, "b}", NULL},              /* X-9 */
    {"${a:-b {c}", 0, "b {c", NULL},          /* X-9 */
    {"${U:-'}'\"}\"\\}}", 0, "}}}", NULL},    /* X-9 quotes in the word */
    {"${U:-${U:-${S}}}", 0, "abc", NULL},     /* X-9 nested */
    {"${S:-${U:?boom}}", 0, NULL, "U: boom"}, /* X-9 quirk: evaluated anyway */
    {"${S:+${U:?boom}}", 0, NULL, "U: boom"}, /* X-9 quirk */
    {"${S#${U:?boom}}", 0, NULL, "U: boom"},  /* X-9 quirk */
    {"${F#*x*y}", 0, "y", NULL},              /* X-13 */
    {"${F##*x}", 0, "yy", NULL},              /* X-13 */
    {"${F%x}", 0, "xxyy", NULL},              /* X-13 no match */
    {"${F#?}", 0, "xyy", NULL},               /* X-10 ? */
    {"${F#*}", 0, "xxyy", NULL},              /* X-10 shortest * */
    {"${F##*}", 0, "", NULL},                 /* X-10 longest * */
    {"${BR#[a]}", 0, "x", NULL},              /* X-10 [ ] literal */
    {"${SL#\\/}", 0, "x/y", NULL},            /* X-10 \/ */
    {"${SL//\\//-}", 0, "-x-y", NULL},        /* X-10 \/ */
    {"${STAR#\\*}", 0, "", NULL},             /* X-10 \* */
    {"${F#\\?}", 0, "xxyy", NULL},            /* X-10 \? literal */
    {"${NL#*b}", 0, "a\nb", NULL},            /* X-10: * stops at newline */
    {"${NL#a?b}", 0, "a\nb", NULL},           /* X-10: ? is not a newline */
    {"${NL#a\n}", 0, "b", NULL},              /* X-10 */
    {"${NL//*/z}", 0, "z\nz", NULL},          /* X-10 */
    {"${F%%\\**}", 0, "xxyy", NULL},          /* X-10 reversed \* */
    {"${KOREAN%\xec\x96\xb4}", 0, "\xed\x95\x9c\xea\xb5\xad", NULL}, /* X-10 by character */
    {"${KOREAN#?}", 0, "\xea\xb5\xad\xec\x96\xb4", NULL},            /* X-10 ? is a character */
    {"${BAD%x}", 0, "\xef\xbf\xbd", NULL},          /* X-10: suffix goes by runes */
    {"${BAD#x}", 0, "\xff", NULL},                  /* X-10 */
    {"${F/$E/ww}", 0, "wwxxyy", NULL},              /* X-11 */
    {"${F#$E}", 0, "xxyy", NULL},                   /* X-11 */
    {"${F%%$E}", 0, "xxyy", NULL},                  /* X-11 */
    {"${F//$E/-}", 0, "-x-x-y-y-", NULL},           /* X-11 */
    {"${E//$E/-}", 0, "-", NULL},                   /* X-11 */
    {"${F//x/$T}", 0, "<x|$||x><x|$||x>yy", NULL},  /* X-12 template */
    {"${F/x/$T}", 0, "<$0|$$|$1|${0}>xyy", NULL},   /* X-12 literal for / */
    {"${F//x/\\$0\\$}", 0, "\\x\\$\\x\\$yy", NULL}, /* X-12 */
    {"${SL//\\//\\/}", 0, "\\/x\\/y", NULL},        /* X-12 \/ keeps its \ */
    {"${F//?/[$1]}", 0, "[][][][]", NULL},          /* X-12: $1 lexed first */
    {"${F//*/z}", 0, "z", NULL},                    /* X-10 greedy in // */
    {"${F//x*/z}", 0, "z", NULL},                   /* X-10 */
    {"${F/y/z}", 0, "xxzy", NULL},                  /* X-7 first match */
};

static void test_expand_patterns_and_quirks(void **state)
{
    check_word_rows(pattern_rows, KN_ARRAY_LEN(pattern_rows), "pattern");
}

struct words_row {
    const char *in;
    const char *want; /* words joined with ',' or "error" */
    kn_lex_opts opts;
};

static void check_words_rows(const struct words_row *rows, size_t n, const char *what)
{
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    make_row_env(&env);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        kn_autofree char *got = words_joined(rows[i].in, '\\', &env, &rows[i].opts);
        if (strcmp(got, rows[i].want) != 0) {
            failed++;
            print_error("%s row %zu: %s: want [%s], got [%s]\n", what, i, rows[i].in, rows[i].want,
                        got);
        }
    }
    assert_int_equal(failed, 0);
}

static const struct words_row words_rows[] = {
    {"hello${SP}bye", "helloabc,defbye", {0}},      /* X-14 */
    {"hello\"${SP}\"bye", "helloabc  defbye", {0}}, /* X-14 */
    {"hello${L}def", "hello,ab,cdef", {0}},         /* X-14 */
    {"hello\\ there", "hello there", {0}},          /* X-14 */
    {"a\tb\nc\vd\fe\rf", "a,b,c,d,e,f", {0}},       /* X-14 Unicode spaces */
    {"a\xc2\xa0"
     "b",
     "a,b",
     {0}},                               /* X-14 U+00A0 splits */
    {"a '' b", "a,b", {0}},              /* X-14 empty quotes */
    {"'' \"\"", "", {0}},                /* X-14 */
    {"\"\"x", "x", {0}},                 /* X-14 */
    {"'a b' c", "a b,c", {0}},           /* X-14 */
    {"80 8080/tcp", "80,8080/tcp", {0}}, /* X-16 EXPOSE */
    {"$U $E x", "x", {0}},               /* X-14 */
    {"he'llo", "error", {0}},            /* X-3 */
    /* [quirk] BuildKit shares one word buffer between nesting levels and
     * each ${...} word empties it: what came before in the word is lost. */
    {"a b${U:-c}d", "a,cd", {0}}, /* X-14 quirk */
    {"ab\"${U:-c}\"", "c", {0}},  /* X-14 quirk */
    {"ab${F/x/z}", "zxyy", {0}},  /* X-14 quirk */
    {"ab${S}cd", "ababccd", {0}}, /* X-14 no quirk for ${S} */
    /* `<<` and the blanks after it stay in one word (parser heredocs). */
    {"cat <<  EOF x", "cat,<<  EOF,x", {0}}, /* P-33 */
    {"a<b", "a<b", {0}},                     /* P-33 */
    /* Lexer modes of BuildKit's parser (heredoc detection). */
    {"$U ${U} ${U:-w} ${U//a/b}", "$U,${U},${U:-w},${U/a/b}", {.skip_unset = true}},
    {"${U:=w}", "${U:=w}", {.skip_unset = true}},
    {"$S${S:+x}", "x", {.skip_unset = true}}, /* X-14 quirk */
    {"'a'\"b\"", "'a'\"b\"", {.raw_quotes = true}},
    {"a\\ b \"\\t\"", "a\\ b,\"\\\\t\"", {.raw_quotes = true, .raw_escapes = true}},
};

static void test_expand_words_split(void **state)
{
    check_words_rows(words_rows, KN_ARRAY_LEN(words_rows), "words");
}

/* X-18: COPY/ADD heredoc bodies with an unquoted delimiter. */
static void test_expand_heredoc_body(void **state)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"\\$HOME", "$HOME"},                 /* X-18 */
        {"Hello '${N}'", "Hello 'world'"},    /* X-18 */
        {"say \"$N\"\n", "say \"world\"\n"},  /* X-18 quotes literal */
        {"a\\qb\\\\c\\\"d", "aqb\\c\"d"},     /* X-18 \x gives x */
        {"line1 \\\nline2", "line1 \nline2"}, /* X-18 */
        {"trailing\\", "trailing"},           /* X-18 */
        {"${U:-dflt} $U.", "dflt ."},         /* X-18, X-19 */
        {"'unterminated", "'unterminated"},   /* X-18 */
        {"cat <<EOF", "cat <<EOF"},           /* X-18 */
    };
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    kn_strvec_push(&env, "N=world");
    kn_expand_env e = {kn_expand_lookup_kv, NULL, &env};
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_autofree char *out = NULL;
        if (kn_expand_heredoc(rows[i].in, &e, &out, &err) < 0)
            fail_msg("heredoc row %zu: %s: %s", i, rows[i].in, err.msg);
        if (strcmp(out, rows[i].want) != 0)
            fail_msg("heredoc row %zu: %s: want [%s], got [%s]", i, rows[i].in, rows[i].want, out);
    }
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *out = NULL;
    assert_int_equal(kn_expand_heredoc("${U:?gone}", &e, &out, &err), -1); /* X-7 */
    assert_string_equal(err.msg, "U: gone");
}

/* `used` reports every lookup, in BuildKit's order (lint, L-11). */
struct used_log {
    kn_strvec *env;
    kn_buf log;
};

static const char *log_lookup(void *ctx, const char *name)
{
    struct used_log *l = ctx;
    return kn_expand_lookup_kv(l->env, name);
}

static void log_used(void *ctx, const char *name, bool is_set)
{
    struct used_log *l = ctx;
    kn_buf_addf(&l->log, "%s%s;", name, is_set ? "" : "?");
}

static void test_expand_used_reports_names(void **state)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"x", ""},                        /* X-4 */
        {"$S ${U} $1 $@", "S;U?;1?;@?;"}, /* X-4, L-11 */
        {"${U:-$S}", "S;U?;"},            /* X-9: word first */
        {"${S:-${U}}", "U?;S;"},          /* X-9: unused word too */
        {"${F//$S/${E}}", "S;E;F;"},      /* X-9 */
        {"'$S' \"$E\"", "E;"},            /* X-2 */
        {"$.", ""},                       /* X-5 */
    };
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    make_row_env(&env);
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        struct used_log l = {&env, KN_BUF_INIT};
        kn_expand_env e = {log_lookup, log_used, &l};
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_autofree char *out = NULL;
        if (kn_expand_word(rows[i].in, '\\', &e, &out, &err) < 0)
            fail_msg("used row %zu: %s: %s", i, rows[i].in, err.msg);
        if (strcmp(l.log.data, rows[i].want) != 0)
            fail_msg("used row %zu: %s: want [%s], got [%s]", i, rows[i].in, rows[i].want,
                     l.log.data);
        kn_buf_free(&l.log);
    }
}

static void test_expand_lookup_kv_last_entry_wins(void **state)
{
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    kn_strvec_push(&env, "A=1");
    kn_strvec_push(&env, "AB=2");
    kn_strvec_push(&env, "A=3");
    kn_strvec_push(&env, "FLAG");
    assert_string_equal(kn_expand_lookup_kv(&env, "A"), "3");
    assert_string_equal(kn_expand_lookup_kv(&env, "AB"), "2");
    assert_string_equal(kn_expand_lookup_kv(&env, "FLAG"), "");
    assert_null(kn_expand_lookup_kv(&env, "B"));
    assert_null(kn_expand_lookup_kv(&env, "FLA"));
}

/* Outside bytes: NUL kept (kn_expand_word_len), no env at all, limits. */
static void test_expand_limits_and_odd_input(void **state)
{
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    make_row_env(&env);
    kn_expand_env e = {kn_expand_lookup_kv, NULL, &env};
    kn_autoerr kn_err err = KN_ERR_INIT;

    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(kn_expand_word_len("a\0$S", 4, '\\', &e, &out, &out_len, &err), 0);
    assert_int_equal(out_len, 5);
    assert_memory_equal(out, "a\0abc", 5);
    free(out);

    kn_expand_env none = {NULL, NULL, NULL};
    assert_int_equal(kn_expand_word("[$S${S:-d}]", '\\', &none, &out, &err), 0);
    assert_string_equal(out, "[d]");
    free(out);

    assert_int_equal(kn_expand_word("x", 'x', &e, &out, &err), -1);
    assert_int_equal(err.code, KN_EINPUT);

    /* 64 nested ${} words are fine; 65 fail instead of deepening the stack. */
    for (int depth = 64; depth <= 65; depth++) {
        kn_buf w = KN_BUF_INIT;
        for (int i = 0; i < depth; i++)
            kn_buf_adds(&w, "${U:-");
        kn_buf_adds(&w, "x");
        for (int i = 0; i < depth; i++)
            kn_buf_adds(&w, "}");
        int r = kn_expand_word(w.data, '\\', &e, &out, &err);
        if (depth == 64) {
            assert_int_equal(r, 0);
            assert_string_equal(out, "x");
            free(out);
        } else {
            assert_int_equal(r, -1);
            assert_non_null(strstr(err.msg, "nested more than 64"));
        }
        kn_buf_free(&w);
    }

    /* Results past 16 MiB fail: each level multiplies the size by 4. */
    kn_buf w = KN_BUF_INIT;
    kn_buf_adds(&w, "${F//?/");
    for (int i = 0; i < 14; i++)
        kn_buf_adds(&w, "${F//?/");
    kn_buf_adds(&w, "ab");
    for (int i = 0; i < 15; i++)
        kn_buf_adds(&w, "}");
    assert_int_equal(kn_expand_word(w.data, '\\', &e, &out, &err), -1);
    assert_non_null(strstr(err.msg, "larger than"));
    kn_buf_free(&w);

    /* Words mode appends nothing on failure. */
    kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
    kn_strvec_push(&words, "keep");
    assert_int_equal(kn_expand_words("a b 'c", '\\', &e, &words, &err), -1);
    assert_int_equal(words.len, 1);
    assert_null(words.items[1]);
}

/* A long pattern on a long value stays well inside a test's time. */
static void test_expand_pattern_cost_is_bounded(void **state)
{
    kn_buf val = KN_BUF_INIT, word = KN_BUF_INIT;
    kn_buf_adds(&val, "V=");
    for (int i = 0; i < 20000; i++)
        kn_buf_addc(&val, 'a');
    kn_buf_adds(&word, "${V//");
    for (int i = 0; i < 200; i++)
        kn_buf_adds(&word, "*a");
    kn_buf_adds(&word, "b/x}");
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    kn_strvec_push(&env, val.data);
    kn_expand_env e = {kn_expand_lookup_kv, NULL, &env};
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *out = NULL;
    assert_int_equal(kn_expand_word(word.data, '\\', &e, &out, &err), 0);
    assert_string_equal(out, val.data + 2); /* no b: unchanged */
    kn_buf_free(&val);
    kn_buf_free(&word);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_matches_buildkit_env_var_table),
        cmocka_unit_test(test_expand_matches_buildkit_words_table),
        cmocka_unit_test(test_expand_quotes_and_escapes),
        cmocka_unit_test(test_expand_dollar_forms_and_errors),
        cmocka_unit_test(test_expand_modifiers_unset_empty_set),
        cmocka_unit_test(test_expand_patterns_and_quirks),
        cmocka_unit_test(test_expand_words_split),
        cmocka_unit_test(test_expand_heredoc_body),
        cmocka_unit_test(test_expand_used_reports_names),
        cmocka_unit_test(test_expand_lookup_kv_last_entry_wins),
        cmocka_unit_test(test_expand_limits_and_odd_input),
        cmocka_unit_test(test_expand_pattern_cost_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
