/* libFuzzer harness for word expansion (SEMANTICS part 2): any bytes, in
 * Word and Words mode with both escape characters, with the parser's lexer
 * modes, and as a heredoc body, must expand or fail with a KN_EINPUT
 * message; never crash, hang or leak. */
#include "base/mem.h"
#include "base/vec.h"
#include "frontend/expand.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const fuzz_env[] = {
    "S=abc",    "E=",           "F=xxyy",
    "SP=a  b ", "P=*x?",        "T=$0$$${0}\\",
    "NL=a\nb",  "BAD=\xff\xc3", "K=\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
};

static size_t n_used;

static void count_used(void *ctx, const char *name, bool is_set)
{
    n_used += strlen(name) + is_set;
}

static void check_failure(const kn_err *err)
{
    if (err->code != KN_EINPUT || !err->msg || !*err->msg)
        abort(); /* every failure explains itself as bad input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kn_strvec env = KN_STRVEC_INIT;
    if (env.len == 0)
        for (size_t i = 0; i < KN_ARRAY_LEN(fuzz_env); i++)
            kn_strvec_push(&env, fuzz_env[i]);
    kn_expand_env e = {kn_expand_lookup_kv, count_used, &env};
    kn_autofree char *text = kn_xstrndup((const char *)data, size); /* cut at a NUL */
    static const char escapes[] = {'\\', '`'};

    for (size_t i = 0; i < KN_ARRAY_LEN(escapes); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        char *out = NULL;
        size_t out_len = 0;
        if (kn_expand_word_len((const char *)data, size, escapes[i], &e, &out, &out_len, &err) < 0)
            check_failure(&err);
        else if (!out || out[out_len] != '\0')
            abort(); /* the result is a terminated string of out_len bytes */
        free(out);

        for (int mode = 0; mode < 4; mode++) {
            kn_lex_opts opts = {
                .skip_unset = mode >= 1, .raw_quotes = mode >= 2, .raw_escapes = mode == 3};
            kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
            kn_autoerr kn_err werr = KN_ERR_INIT;
            if (kn_expand_words_opts(text, escapes[i], &e, &opts, &words, &werr) < 0) {
                check_failure(&werr);
                if (words.len != 0)
                    abort(); /* a failure appends nothing */
            }
            for (size_t w = 0; w < words.len; w++)
                if (words.lens[w] == 0)
                    abort(); /* Words mode never makes an empty word */
        }
    }

    kn_autoerr kn_err err = KN_ERR_INIT;
    char *out = NULL;
    if (kn_expand_heredoc(text, &e, &out, &err) < 0)
        check_failure(&err);
    free(out);
    return 0;
}
