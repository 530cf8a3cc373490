/* In-process timing of `kiln plan`'s phases on one Dockerfile: parse,
 * instructions, stage graph, JSON (bench/run.sh). */
#include "frontend/df.h"
#include "base/buf.h"
#include "frontend/graph.h"
#include "frontend/instr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_plan DOCKERFILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    double t_df = 0, t_instr = 0, t_graph = 0, t_json = 0;
    for (int i = 0; i < runs; i++) {
        kn_err err = KN_ERR_INIT;
        double t0 = now_ms();
        kn_df *df = kn_df_parse_file(argv[1], &err);
        double t1 = now_ms();
        kn_dockerfile *d = df ? kn_instr_parse_dockerfile(df, &err) : NULL;
        double t2 = now_ms();
        kn_graph_opts o = {NULL, 0, NULL, 0, NULL, 0, NULL};
        kn_graph *g = d ? kn_graph_build(d, &o, &err) : NULL;
        double t3 = now_ms();
        if (!g) {
            fprintf(stderr, "bench_plan: %s\n", err.msg ? err.msg : "failed");
            return 1;
        }
        kn_buf out = KN_BUF_INIT;
        kn_graph_write_json(g, &out);
        double t4 = now_ms();
        kn_buf_free(&out);
        kn_graph_free(g);
        kn_instr_free_dockerfile(d);
        kn_df_free(df);
        t_df += t1 - t0, t_instr += t2 - t1, t_graph += t3 - t2, t_json += t4 - t3;
    }
    printf("mean of %d runs: parse %.2f ms, instructions %.2f ms, graph %.2f ms, json %.2f ms\n",
           runs, t_df / runs, t_instr / runs, t_graph / runs, t_json / runs);
    return 0;
}
