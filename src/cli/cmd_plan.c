/* kiln plan: which stages a build runs, which it skips, and why. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"
#include "frontend/df.h"
#include "frontend/graph.h"
#include "frontend/instr.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv);

const kn_cmd kn_cmd_plan = {
    "plan",
    "Show which stages a build runs and why, without building",
    "Usage: kiln plan [-f FILE] [--target T]... [--build-arg K=V]... [--build-context N=S]...\n"
    "                 [--format text|json|dot] [CONTEXT]\n"
    "\n"
    "Resolve the Dockerfile's stage graph the way a build would and print, for\n"
    "every stage, whether it is built or skipped and why, then the base images\n"
    "the build needs. Nothing is pulled or run.\n"
    "\n"
    "  -f, --file FILE            the Dockerfile (default CONTEXT/Dockerfile)\n"
    "  --target T                 a stage to build (repeatable; default the last stage)\n"
    "  --build-arg K=V            set a build argument (repeatable; K alone takes $K)\n"
    "  --build-context N=S        replace stage or image N with S: docker-image://REF,\n"
    "                             oci-layout://DIR[:TAG][@DIGEST], target:STAGE, or a\n"
    "                             directory\n"
    "  --format text|json|dot     output format (default text)\n"
    "  -h, --help                 show this help\n"
    "\n"
    "CONTEXT defaults to \".\".\n"
    "Exit status: 0 planned, 2 bad usage or a bad Dockerfile.\n",
    run,
};

static const char *action_name(const kn_graph_stage *s)
{
    return s->is_needed ? "build" : "skip";
}

static void print_text(const kn_graph *g, kn_buf *out)
{
    size_t width = 0;
    for (size_t i = 0; i < g->stages.len; i++) {
        size_t n = strlen(g->stages.items[i].name);
        width = n > width ? n : width;
    }
    size_t n_build = 0;
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        n_build += s->is_needed;
        kn_buf_addf(out, "%-5s  %-*s  %s\n", action_name(s), (int)width, s->name, s->reason);
    }
    kn_buf_adds(out, "\nbase images:\n");
    if (g->images.len == 0)
        kn_buf_adds(out, "  (none)\n");
    for (size_t i = 0; i < g->images.len; i++)
        kn_buf_addf(out, "  %s\n", g->images.items[i]);
    kn_buf_addf(out, "\n%zu of %zu stage%s to build, %zu skipped, %zu base image%s; target%s ",
                n_build, g->stages.len, g->stages.len == 1 ? "" : "s", g->stages.len - n_build,
                g->images.len, g->images.len == 1 ? "" : "s", g->targets.len == 1 ? "" : "s");
    for (size_t t = 0; t < g->targets.len; t++)
        kn_buf_addf(out, "%s%s", t ? ", " : "", g->stages.items[g->targets.items[t]].name);
    kn_buf_adds(out, "\n");
}

/* A Graphviz double-quoted string. */
static void dot_quote(kn_buf *out, const char *s)
{
    kn_buf_addc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            kn_buf_addc(out, '\\');
        if (*s == '\n')
            kn_buf_adds(out, "\\n");
        else
            kn_buf_addc(out, *s);
    }
    kn_buf_addc(out, '"');
}

static void print_dot(const kn_graph *g, kn_buf *out)
{
    kn_buf_adds(out, "digraph plan {\n"
                     "  rankdir=LR;\n"
                     "  node [shape=box];\n");
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        kn_buf_addf(out, "  s%zu [label=", i);
        dot_quote(out, s->name);
        kn_buf_adds(out, s->is_needed ? "];\n" : ", style=dashed, color=gray50];\n");
    }
    for (size_t i = 0; i < g->images.len; i++) {
        kn_buf_addf(out, "  i%zu [shape=ellipse, label=", i);
        dot_quote(out, g->images.items[i]);
        kn_buf_adds(out, "];\n");
    }
    for (size_t i = 0; i < g->stages.len; i++) {
        const kn_graph_stage *s = &g->stages.items[i];
        for (size_t k = 0; k < s->edges.len; k++) {
            const kn_graph_edge *e = &s->edges.items[k];
            const char *label = e->kind == KN_GRAPH_EDGE_FROM   ? "FROM"
                                : e->kind == KN_GRAPH_EDGE_COPY ? "COPY --from"
                                                                : "RUN --mount";
            if (e->stage >= 0) {
                kn_buf_addf(out, "  s%ld -> s%zu", e->stage, i);
            } else if (e->image) {
                long idx = -1;
                for (size_t m = 0; m < g->images.len && idx < 0; m++)
                    if (strcmp(g->images.items[m], e->image) == 0)
                        idx = (long)m;
                if (idx < 0) { /* an image only a skipped stage needs */
                    kn_buf_addf(out, "  \"%zu:%zu\" [shape=ellipse, style=dashed, label=", i, k);
                    dot_quote(out, e->image);
                    kn_buf_addf(out, "];\n  \"%zu:%zu\" -> s%zu", i, k, i);
                } else {
                    kn_buf_addf(out, "  i%ld -> s%zu", idx, i);
                }
            } else {
                continue; /* a local or OCI context: nothing to draw */
            }
            kn_buf_adds(out, " [label=");
            dot_quote(out, label);
            kn_buf_adds(out, s->is_needed ? "];\n" : ", style=dashed, color=gray50];\n");
        }
    }
    kn_buf_adds(out, "}\n");
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"target", required_argument, NULL, 't'},
        {"build-arg", required_argument, NULL, 'a'},
        {"build-context", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool help = false;
    const char *file = NULL, *format = "text";
    kn_autostrvec kn_strvec targets = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec build_args = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec contexts = KN_STRVEC_INIT;
    int c;
    while ((c = kn_cli_getopt(&kn_cmd_plan, argc, argv, "+hf:", opts, &help)) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 't':
            kn_strvec_push(&targets, optarg);
            break;
        case 'a':
            kn_cli_push_build_arg(&build_args, optarg);
            break;
        case 'c':
            kn_strvec_push(&contexts, optarg);
            break;
        case 'F':
            format = optarg;
            break;
        case 'h':
            fputs(kn_cmd_plan.usage, stdout);
            return KN_EXIT_OK;
        default:
            return KN_EXIT_USAGE;
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "dot") != 0)
        return kn_cli_usage_error("plan", "unknown format \"%s\" (use text, json or dot)", format);
    if (argc - optind > 1)
        return kn_cli_usage_error("plan", "plan takes at most one CONTEXT");
    const char *context = optind < argc ? argv[optind] : ".";
    kn_autofree char *default_file = NULL;
    if (!file) {
        kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s/Dockerfile", context);
        default_file = kn_buf_release(&b);
        file = default_file;
    }

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse_file(file, &err);
    if (!df)
        return kn_cli_report(&err);
    int status = KN_EXIT_OK;
    kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
    kn_graph *g = NULL;
    if (!d) {
        status = kn_cli_report(&err);
        goto out;
    }
    kn_graph_opts go = {
        (const char *const *)build_args.items,
        build_args.len,
        (const char *const *)contexts.items,
        contexts.len,
        (const char *const *)targets.items,
        targets.len,
        NULL,
    };
    g = kn_graph_build(d, &go, &err);
    if (!g) {
        status = kn_cli_report(&err);
        goto out;
    }
    for (size_t i = 0; i < g->warnings.len; i++)
        fprintf(stderr, "%s\n", g->warnings.items[i]);
    if (strcmp(format, "json") == 0) {
        kn_buf out = KN_BUF_INIT;
        kn_graph_write_json(g, &out);
        fwrite(out.data, 1, out.len, stdout);
        kn_buf_free(&out);
    } else {
        kn_buf out = KN_BUF_INIT;
        if (strcmp(format, "dot") == 0)
            print_dot(g, &out);
        else
            print_text(g, &out);
        fwrite(out.data, 1, out.len, stdout);
        kn_buf_free(&out);
    }
out:
    kn_graph_free(g);
    kn_instr_free_dockerfile(d);
    kn_df_free(df);
    if (fflush(stdout) != 0)
        status = KN_EXIT_FAIL;
    return status;
}
