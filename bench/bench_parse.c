/* Benchmark: parse a Dockerfile and expand every word BuildKit expands
 * (SEMANTICS X-16), many times in one process; prints min and median per
 * iteration. Usage: bench_parse FILE [ITERATIONS] */
#include "base/buf.h"
#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/expand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool is(const char *kw, const char *name)
{
    return strcasecmp(kw, name) == 0;
}

/* Expand what a build expands, with a stage env that ENV updates. */
static int expand_all(const kn_df *df, size_t *n_words, kn_err *err)
{
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    kn_expand_env e = {kn_expand_lookup_kv, NULL, &env};
    for (size_t i = 0; i < df->nodes.len; i++) {
        const kn_df_node *n = df->nodes.items[i];
        const char *kw = n->keyword;
        if (is(kw, "from")) {
            kn_strvec_free(&env);
            kn_strvec_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin");
        }
        if (is(kw, "env") || is(kw, "label")) {
            kn_autostrvec kn_strvec added = KN_STRVEC_INIT;
            for (size_t a = 0; a + 1 < n->args.len; a += 3) {
                kn_autofree char *k = NULL;
                kn_autofree char *v = NULL;
                if (kn_expand_word(n->args.items[a], df->escape, &e, &k, err) < 0 ||
                    kn_expand_word(n->args.items[a + 1], df->escape, &e, &v, err) < 0)
                    return -1;
                kn_buf b = KN_BUF_INIT;
                kn_buf_addf(&b, "%s=%s", k, v);
                kn_strvec_push_owned(&added, kn_buf_release(&b));
                *n_words += 2;
            }
            if (is(kw, "env"))
                for (size_t a = 0; a < added.len; a++)
                    kn_strvec_push(&env, added.items[a]);
        } else if (is(kw, "copy") || is(kw, "add") || is(kw, "workdir") || is(kw, "user") ||
                   is(kw, "volume")) {
            for (size_t a = 0; a < n->args.len; a++) {
                kn_autofree char *out = NULL;
                if (kn_expand_word(n->args.items[a], df->escape, &e, &out, err) < 0)
                    return -1;
                (*n_words)++;
            }
        } else if (is(kw, "expose")) {
            for (size_t a = 0; a < n->args.len; a++) {
                kn_autostrvec kn_strvec out = KN_STRVEC_INIT;
                if (kn_expand_words(n->args.items[a], df->escape, &e, &out, err) < 0)
                    return -1;
                (*n_words)++;
            }
        }
        if (is(kw, "run"))
            continue; /* RUN heredoc bodies are never expanded */
        for (size_t h = 0; h < n->heredocs.len; h++) {
            if (!n->heredocs.items[h].expand)
                continue;
            kn_autofree char *out = NULL;
            if (kn_expand_heredoc(n->heredocs.items[h].content, &e, &out, err) < 0)
                return -1;
            (*n_words)++;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_parse FILE [ITERATIONS]\n");
        return 2;
    }
    int iters = argc > 2 ? atoi(argv[2]) : 50;
    if (iters < 1)
        iters = 1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *probe = kn_df_parse_file(argv[1], &err);
    if (!probe) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    kn_df_free(probe);
    FILE *f = fopen(argv[1], "rb");
    kn_autobuf kn_buf data = KN_BUF_INIT;
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        kn_buf_add(&data, chunk, n);
    if (f)
        fclose(f);

    kn_autofree double *parse_t = kn_xcalloc((size_t)iters, sizeof(double));
    kn_autofree double *total_t = kn_xcalloc((size_t)iters, sizeof(double));
    size_t n_nodes = 0, n_words = 0;
    for (int i = 0; i < iters; i++) {
        double t0 = now();
        kn_df *df = kn_df_parse(argv[1], data.data, data.len, &err);
        if (!df) {
            fprintf(stderr, "parse: %s\n", err.msg);
            return 1;
        }
        double t1 = now();
        n_words = 0;
        if (expand_all(df, &n_words, &err) < 0) {
            fprintf(stderr, "expand: %s\n", err.msg);
            kn_df_free(df);
            return 1;
        }
        double t2 = now();
        parse_t[i] = (t1 - t0) * 1e3;
        total_t[i] = (t2 - t0) * 1e3;
        n_nodes = df->nodes.len;
        kn_df_free(df);
    }
    qsort(parse_t, (size_t)iters, sizeof(double), cmp_double);
    qsort(total_t, (size_t)iters, sizeof(double), cmp_double);
    printf("file: %s (%zu bytes, %zu instructions, %zu expansions)\n", argv[1], data.len, n_nodes,
           n_words);
    printf("parse:          min %.2f ms  median %.2f ms  (%d iterations)\n", parse_t[0],
           parse_t[iters / 2], iters);
    printf("parse + expand: min %.2f ms  median %.2f ms\n", total_t[0], total_t[iters / 2]);
    return 0;
}
