/* Tests for the Dockerfile parser (src/frontend/df.c), SEMANTICS part 1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "frontend/df.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kn_df *parse_ok(const char *text)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse("Dockerfile", text, strlen(text), &err);
    if (!df)
        fail_msg("parse failed: %s (line %d) for:\n%s", err.msg, err.line, text);
    return df;
}

/* Rows of Dockerfile text and the dump BuildKit prints for it. */
struct dump_row {
    const char *rule;
    const char *text;
    const char *dump;
};

static const struct dump_row dump_rows[] = {
    {"P-1 CRLF", "FROM a\r\nRUN b\r\r\n", "(from \"a\")\n(run \"b\")\n"},
    {"P-1 BOM",
     "\xef\xbb\xbf"
     "FROM a\n",
     "(from \"a\")\n"},
    {"P-14 continuation", "RUN a \\\n  b\n", "(run \"a   b\")\n"},
    {"P-15 two escapes end the line", "ENV C x\\\\\nENV D y\n",
     "(env \"C\" \"x\\\\\\\\\" \"\")\n(env \"D\" \"y\" \"\")\n"},
    {"P-17 comment inside continuation", "RUN a \\\n# c\n b\n", "(run \"a  b\")\n"},
    {"P-18 blank line inside continuation", "RUN echo a \\\n\nFROM x\n",
     "(run \"echo a FROM x\")\n"},
    {"P-19 continuation at EOF", "FROM a\nRUN b \\", "(from \"a\")\n(run \"b\")\n"},
    {"P-20 backtick escape", "# escape=`\nFROM a\nCOPY a c:\\\nRUN x `\n y\n",
     "(from \"a\")\n(copy \"a\" \"c:\\\\\")\n(run \"x  y\")\n"},
    {"P-6 directive after blank line is a comment", "\n# escape=`\nRUN a \\\n b\n",
     "(run \"a  b\")\n"},
    {"P-11 hash inside a line is literal", "RUN echo a # b\n", "(run \"echo a # b\")\n"},
    {"P-21 keyword case kept for dump lowercasing", "fRoM a\n", "(from \"a\")\n"},
    {"P-22 unknown keyword", "FROM a\nFRUM b\n", "(from \"a\")\n(frum \"\")\n"},
    {"P-23 flags and --", "COPY --from=x -- --weird /d\n",
     "(copy [\"--from=x\"] \"--weird\" \"/d\")\n"},
    {"P-23 quoted flag", "RUN --mount=\"type=cache,target=/a b\" x\n",
     "(run [\"--mount=type=cache,target=/a b\"] \"x\")\n"},
    {"P-23 empty quoted flag value", "COPY --x=\"\" a b\n", "(copy [\"--x=\"] \"a\" \"b\")\n"},
    {"P-26 FROM words", "FROM a AS b\n", "(from \"a\" \"AS\" \"b\")\n"},
    {"P-26 USER keeps spaces", "USER a b\n", "(user \"a b\")\n"},
    {"P-26 empty RUN", "RUN\n", "(run)\n"},
    {"P-27 ENV pairs", "ENV a=1 b=2\n", "(env \"a\" \"1\" \"=\" \"b\" \"2\" \"=\")\n"},
    {"P-27 ENV legacy", "ENV a b c\n", "(env \"a\" \"b c\" \"\")\n"},
    {"P-28 ARG words", "ARG abc=\"123 456\" def\n", "(arg \"abc=\\\"123 456\\\"\" \"def\")\n"},
    {"P-30 JSON fallback", "CMD ['a']\n", "(cmd \"['a']\")\n"},
    {"P-30 COPY JSON fallback splits", "COPY [ \"a\" \"b\" ]\n",
     "(copy \"[\" \"\\\"a\\\"\" \"\\\"b\\\"\" \"]\")\n"},
    {"P-30 empty JSON array", "CMD []\n", "(cmd)\n"},
    {"P-29 JSON escapes and NUL", "CMD [\"a\\u0000b\", \"\\ud83d\\ude00\"]\n",
     "(cmd \"a\\x00b\" \"\xf0\x9f\x98\x80\")\n"},
    {"P-29 overflowing number falls back", "CMD [1e999]\n", "(cmd \"[1e999]\")\n"},
    {"P-35 ONBUILD", "ONBUILD RUN [\"echo\", \"test\"]\n", "(onbuild (run \"echo\" \"test\"))\n"},
    {"P-35 HEALTHCHECK", "HEALTHCHECK --interval=5s CMD a b\n",
     "(healthcheck [\"--interval=5s\"] \"CMD\" \"a b\")\n"},
    {"P-37 quoting",
     "RUN a\tb\x01\x7f\xff\xc2\xa0"
     "c\xc2\xa0\n",
     "(run \"a\\tb\\x01\\x7f\\xff\\u00a0c\")\n"},
    {"P-33 heredoc body is not an instruction", "RUN <<EOF\nFROM x\nEOF\nRUN b\n",
     "(run \"<<EOF\")\n(run \"b\")\n"},
};

static void test_dump_matches_buildkit_rows(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(dump_rows); i++) {
        const struct dump_row *row = &dump_rows[i];
        kn_df *df = parse_ok(row->text);
        kn_autofree char *dump = kn_df_dump(df);
        if (strcmp(dump, row->dump) != 0)
            fail_msg("row %zu (%s): got\n%swant\n%s", i, row->rule, dump, row->dump);
        kn_df_free(df);
    }
}

/* Rows that must fail, with the message fragment and line. */
struct error_row {
    const char *rule;
    const char *text;
    const char *msg;
    int line;
};

static const struct error_row error_rows[] = {
    {"P-4 empty", "", "the Dockerfile cannot be empty", 1},
    {"P-4 only comments", "# a\n\n# b\n", "file with no instructions", 3},
    {"P-7 directive twice", "# escape=`\n# escape=\\\nFROM a\n",
     "only one escape parser directive can be used", 2},
    {"P-8 bad escape", "# escape=x\nFROM a\n", "invalid escape token 'x' does not match ` or \\",
     1},
    {"P-27 ENV one word", "FROM a\nENV PATH\n", "ENV must have two arguments", 2},
    {"P-27 ENV missing =", "FROM a\nLABEL a=b c\n",
     "Syntax error - can't find = in \"c\". Must be of the form: name=value", 2},
    {"P-30 non-string JSON", "FROM a\nCMD [\"a\", 1]\n",
     "when using JSON array syntax, arrays must be comprised of strings only", 2},
    {"P-33 unterminated heredoc", "FROM a\nRUN <<EOF\nhello\n", "unterminated heredoc", 2},
    {"P-19 empty continuation at EOF", "FROM a\n\\\n\n", "empty continuation at end of file", 2},
};

static void test_parse_rejects_bad_input_with_line(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(error_rows); i++) {
        const struct error_row *row = &error_rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_df *df = kn_df_parse("Dockerfile", row->text, strlen(row->text), &err);
        if (df)
            fail_msg("row %zu (%s): parsed, want error %s", i, row->rule, row->msg);
        if (!err.msg || !strstr(err.msg, row->msg))
            fail_msg("row %zu (%s): error %s, want %s", i, row->rule, err.msg, row->msg);
        if (err.line != row->line || !err.file || strcmp(err.file, "Dockerfile") != 0)
            fail_msg("row %zu (%s): at %s:%d, want Dockerfile:%d", i, row->rule, err.file, err.line,
                     row->line);
        if (err.code != KN_EINPUT)
            fail_msg("row %zu (%s): code %d, want KN_EINPUT", i, row->rule, err.code);
    }
}

static void test_parse_rejects_line_over_64k(void **state)
{
    /* P-3: 65535 bytes of content are fine, 65536 are not. */
    size_t n = 65535;
    char *text = kn_xmalloc(n + 16);
    memcpy(text, "RUN ", 4);
    memset(text + 4, 'a', n - 4);
    strcpy(text + n, "\n");
    kn_df *df = parse_ok(text);
    kn_df_free(df);

    text = kn_xrealloc(text, n + 17);
    memset(text + 4, 'a', n - 3);
    strcpy(text + n + 1, "\n");
    kn_autoerr kn_err err = KN_ERR_INIT;
    df = kn_df_parse("Dockerfile", text, strlen(text), &err);
    assert_null(df);
    assert_non_null(strstr(err.msg, "dockerfile line greater than max allowed size of 65535"));
    free(text);
}

static void test_node_line_range_covers_continuations_and_heredocs(void **state)
{
    kn_df *df = parse_ok("# c\nFROM a\nRUN x \\\n  y \\\n\n  z\nCOPY <<EOF /f\nbody\nEOF\n"
                         "RUN last\n");
    assert_int_equal(df->nodes.len, 4);
    assert_int_equal(df->nodes.items[0]->start_line, 2);
    assert_int_equal(df->nodes.items[0]->end_line, 2);
    assert_int_equal(df->nodes.items[1]->start_line, 3);
    assert_int_equal(df->nodes.items[1]->end_line, 6);
    assert_int_equal(df->nodes.items[2]->start_line, 7);
    assert_int_equal(df->nodes.items[2]->end_line, 9);
    assert_int_equal(df->nodes.items[3]->start_line, 10);
    /* P-18: the blank line inside the continuation gives a warning. */
    assert_int_equal(df->warnings.len, 1);
    assert_non_null(strstr(df->warnings.items[0].msg, "Empty continuation line"));
    kn_df_free(df);
}

static void test_heredoc_forms(void **state)
{
    /* P-32, P-33, P-34 */
    kn_df *df = parse_ok("FROM a\n"
                         "RUN <<EOF\necho hi\nEOF\n"
                         "RUN <<-'END'\n\techo $x\n\tEND\n"
                         "COPY <<X <<Y /d\nY\nX\nX\nY\n"
                         "RUN 3<<E\"O\"F cat\nq\nEOF\n"
                         "RUN <<- EOF\n"
                         "RUN cat << EOT\nz\nEOT\n");
    assert_int_equal(df->nodes.len, 7);
    kn_df_node *n = df->nodes.items[1];
    assert_int_equal(n->heredocs.len, 1);
    assert_string_equal(n->heredocs.items[0].name, "EOF");
    assert_string_equal(n->heredocs.items[0].content, "echo hi\n");
    assert_true(n->heredocs.items[0].expand);
    assert_false(n->heredocs.items[0].chomp);

    n = df->nodes.items[2];
    assert_int_equal(n->heredocs.len, 1);
    assert_string_equal(n->heredocs.items[0].name, "END");
    assert_false(n->heredocs.items[0].expand);
    assert_true(n->heredocs.items[0].chomp);
    assert_string_equal(n->heredocs.items[0].content, "\techo $x\n");

    n = df->nodes.items[3];
    assert_int_equal(n->heredocs.len, 2);
    assert_string_equal(n->heredocs.items[0].name, "X");
    assert_string_equal(n->heredocs.items[0].content, "Y\n");
    assert_string_equal(n->heredocs.items[1].name, "Y");
    assert_string_equal(n->heredocs.items[1].content, "X\n");

    n = df->nodes.items[4];
    assert_int_equal(n->heredocs.len, 1);
    assert_string_equal(n->heredocs.items[0].name, "EOF");
    assert_int_equal(n->heredocs.items[0].fd, 3);
    assert_false(n->heredocs.items[0].expand);

    /* [quirk] `<<- EOF` is not a heredoc. */
    assert_int_equal(df->nodes.items[5]->heredocs.len, 0);

    /* `<< EOT`: blanks between << and the word are allowed. */
    n = df->nodes.items[6];
    assert_int_equal(n->heredocs.len, 1);
    assert_string_equal(n->heredocs.items[0].name, "EOT");
    kn_df_free(df);
}

static void test_heredoc_not_in_json_or_other_instructions(void **state)
{
    /* P-31 */
    kn_df *df =
        parse_ok("FROM a\nRUN [\"cat\", \"<<EOF\"]\nENV a=<<EOF\nONBUILD RUN <<EOF\nx\nEOF\n");
    assert_int_equal(df->nodes.items[1]->heredocs.len, 0);
    assert_int_equal(df->nodes.items[2]->heredocs.len, 0);
    assert_int_equal(df->nodes.items[3]->heredocs.len, 1);
    assert_string_equal(df->nodes.items[3]->heredocs.items[0].content, "x\n");
    kn_df_free(df);
}

static void test_heredoc_crlf_terminator(void **state)
{
    kn_df *df = parse_ok("FROM a\r\nRUN <<EOF\r\nhi\r\nEOF\r\n");
    assert_string_equal(df->nodes.items[1]->heredocs.items[0].content, "hi\r\n");
    kn_df_free(df);
}

static void test_doc_comments_collected(void **state)
{
    /* P-13: comments accumulate, a bare # clears, blank lines do not. */
    kn_df *df =
        parse_ok("# syntax=docker/dockerfile:1\n\n# one\n\n# two\nFROM a\n# x\n#\n# y\nRUN b\n");
    kn_df_node *from = df->nodes.items[0];
    assert_int_equal(from->comments.len, 2);
    assert_string_equal(from->comments.items[0], "one");
    assert_string_equal(from->comments.items[1], "two");
    kn_df_node *run = df->nodes.items[1];
    assert_int_equal(run->comments.len, 1);
    assert_string_equal(run->comments.items[0], "y");
    assert_string_equal(kn_df_directive_value(df, "syntax"), "docker/dockerfile:1");
    kn_df_free(df);
}

static void test_directives_read_only_at_top(void **state)
{
    /* P-5, P-6 */
    kn_df *df = parse_ok("  #  ESCAPE = `  \n# check=error=true\nFROM a\n# syntax=x\nRUN b\n");
    assert_int_equal(df->escape, '`');
    assert_string_equal(kn_df_directive_value(df, "check"), "error=true");
    assert_null(kn_df_directive_value(df, "syntax"));
    kn_df_free(df);
}

static void test_parse_handles_any_bytes(void **state)
{
    /* No byte sequence crashes the parser; NUL bytes survive into args. */
    const char text[] = "FROM a\nRUN x\0y\nCMD [\"\xff\"]\n";
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse("Dockerfile", text, sizeof(text) - 1, &err);
    assert_non_null(df);
    assert_int_equal(df->nodes.items[1]->args.lens[0], 3);
    assert_true(kn_strvec_has_nul(&df->nodes.items[1]->args, 0));
    /* P-29: Go decodes invalid UTF-8 in JSON strings as U+FFFD. */
    assert_string_equal(df->nodes.items[2]->args.items[0], "\xef\xbf\xbd");
    kn_df_free(df);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_matches_buildkit_rows),
        cmocka_unit_test(test_parse_rejects_bad_input_with_line),
        cmocka_unit_test(test_parse_rejects_line_over_64k),
        cmocka_unit_test(test_node_line_range_covers_continuations_and_heredocs),
        cmocka_unit_test(test_heredoc_forms),
        cmocka_unit_test(test_heredoc_not_in_json_or_other_instructions),
        cmocka_unit_test(test_heredoc_crlf_terminator),
        cmocka_unit_test(test_doc_comments_collected),
        cmocka_unit_test(test_directives_read_only_at_top),
        cmocka_unit_test(test_parse_handles_any_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
