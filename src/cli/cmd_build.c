/* kiln build: build the target stages of a Dockerfile into the store. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"
#include "frontend/df.h"
#include "frontend/dockerignore.h"
#include "frontend/graph.h"
#include "frontend/instr.h"
#include "solver/build.h"
#include "solver/export.h"
#include "store/store.h"

#include "cli/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int run(int argc, char **argv);

const kn_cmd kn_cmd_build = {
    "build",
    "Build images from a Dockerfile",
    "Usage: kiln build [-f FILE] [-t NAME]... [--target STAGE]... [--build-arg K=V]...\n"
    "                  [--build-context NAME=SRC]... [-o SPEC]...\n"
    "                  [--progress MODE] [-q] [--network host|none]\n"
    "                  [--runtime PATH] [--jobs N] [--no-cache] [CONTEXT]\n"
    "\n"
    "Build the target stages (default: the last stage) and what they need, each\n"
    "stage once, and record the results in the store.\n"
    "  -f, --file FILE        the Dockerfile (default: CONTEXT/Dockerfile)\n"
    "  -t, --tag NAME         name the image of the target given before it (or the\n"
    "                         only target); several allowed\n"
    "  --target STAGE         a stage to build; several build in one run\n"
    "  -o, --output SPEC      also write the image of the target given before it:\n"
    "                         type=docker|oci,dest=F.tar (- for stdout),\n"
    "                         type=oci-layout,dest=DIR, type=local,dest=DIR (or just\n"
    "                         DIR), type=image,name=NAME\n"
    "  --build-arg K=V        a build argument (K alone: from the environment)\n"
    "  --build-context NAME=SRC  replace the stage or image NAME everywhere with SRC:\n"
    "                         docker-image://REF (in the store),\n"
    "                         oci-layout://DIR[:TAG][@DIGEST], target:STAGE, or a\n"
    "                         local directory (with its own .dockerignore)\n"
    "  --progress MODE        auto (default: tty on a terminal, else plain), plain\n"
    "                         (BuildKit-style lines), tty (a live view), json (one\n"
    "                         event per line) or quiet (only a failing step's output)\n"
    "  -q, --quiet            print only the image IDs\n"
    "  --network MODE         host (default) or none for every RUN\n"
    "  --runtime PATH         the OCI runtime (default: crun, else runc)\n"
    "  --jobs N               stages built side by side (default: the number of\n"
    "                         CPUs); a failing step cancels the others\n"
    "  --no-cache             run every step (kiln has no build cache yet, so\n"
    "                         every step runs anyway)\n"
    "  --store DIR            the store\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 built, 1 a step failed, 2 bad usage or a bad Dockerfile,\n"
    "130 interrupted (SIGINT), 143 terminated (SIGTERM).\n",
    run,
};

/* ---- SIGINT and SIGTERM ----
 *
 * The handler only records the signal. The build polls the flag (through
 * kn_build_opts.cancel): it kills the running container, unmounts its
 * snapshots, removes its work directory and fails, and kiln then exits
 * 128 + the signal's number, as a shell reports a command killed by it. */

static volatile sig_atomic_t interrupted; /* the signal's number, 0 before one */

static void on_signal(int sig)
{
    interrupted = sig;
}

/* No SA_RESTART: a blocking call returns EINTR and the build sees the flag
 * at once. A second signal while cleaning up changes nothing. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- targets and tags ---- */

/* A -t name or an --output, for the target given just before it. */
typedef struct tag {
    long target;          /* position in the --target list, -1 before any */
    char *name;           /* -t: normalised; NULL for an --output */
    kn_export_spec *spec; /* --output; NULL for a -t */
} tag;

static long find_stage(const kn_graph *g, const char *name)
{
    for (size_t i = 0; i < g->stages.len; i++)
        if (!strcasecmp(g->stages.items[i].name, name))
            return (long)i;
    return -1;
}

/* Builds the targets; bo carries the flags. Takes progress (the renderer
 * bo's events go to) and frees it when the build ends, so its last lines
 * come before the results. */
static int do_build(const char *file, const char *context, const kn_strvec *targets,
                    const kn_strvec *build_args, const kn_strvec *contexts, tag *tags,
                    size_t n_tags, kn_build_opts *bo, kn_progress *progress, bool quiet,
                    kn_err *err)
{
    int rc = -1;
    kn_df *df = kn_df_parse_file(file, err);
    if (!df) {
        kn_progress_free(progress);
        return -1;
    }
    kn_dockerfile *d = kn_instr_parse_dockerfile(df, err);
    kn_graph *g = NULL;
    kn_store *s = NULL;
    kn_build_output *outputs = NULL;
    kn_digest *ids = NULL;
    kn_dockerignore *ignore = NULL;
    kn_autoclose int ctx = open(context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!d)
        goto out;
    if (ctx < 0) {
        kn_errf(err, KN_EUSAGE, "build context %s: not a directory", context);
        goto out;
    }
    kn_graph_opts go = {(const char *const *)build_args->items,
                        build_args->len,
                        (const char *const *)contexts->items,
                        contexts->len,
                        (const char *const *)targets->items,
                        targets->len,
                        NULL};
    if (!(g = kn_graph_build(d, &go, err)))
        goto out;
    for (size_t i = 0; i < g->warnings.len; i++)
        kn_progress_warning(progress, g->warnings.items[i]);
    size_t n = targets->len ? targets->len : 1;
    outputs = kn_xcalloc(n, sizeof(*outputs));
    ids = kn_xcalloc(n, sizeof(*ids));
    const char ***names = kn_xcalloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        long st = targets->len ? find_stage(g, targets->items[i]) : (long)g->targets.items[0];
        outputs[i].stage = (size_t)(st < 0 ? (long)g->targets.items[0] : st);
        names[i] = kn_xcalloc(n_tags + 1, sizeof(char *));
        for (size_t k = 0; k < n_tags; k++) {
            long t = tags[k].target < 0 ? 0 : tags[k].target;
            const char *name = tags[k].spec ? tags[k].spec->name : tags[k].name;
            if ((size_t)t == i && name)
                names[i][outputs[i].n_names++] = name;
        }
        outputs[i].names = names[i];
    }
    bo->graph = g;
    bo->context_fd = ctx;
    bo->outputs = outputs;
    bo->n_outputs = n;
    if (kn_cli_load_dockerignore(context, file, &ignore, err) == 0) {
        bo->ignore = ignore;
        if ((s = kn_cli_store_open(err)))
            rc = kn_build_run(s, bo, ids, err);
    }
    /* --output: by a name when the image has one, so archives carry it. */
    for (size_t k = 0; rc == 0 && k < n_tags; k++) {
        size_t t = tags[k].target < 0 ? 0 : (size_t)tags[k].target;
        if (tags[k].spec && t < n)
            rc = kn_export_run(s, outputs[t].n_names ? outputs[t].names[0] : ids[t].str,
                               tags[k].spec, err);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (quiet)
            printf("%s\n", ids[i].str); /* -q: the IDs alone */
        else
            kn_progress_image(progress, ids[i].str, outputs[i].names, outputs[i].n_names);
    }
    kn_progress_free(kn_steal_pointer(&progress));
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
out:
    kn_dockerignore_free(ignore);
    kn_progress_free(progress);
    free(outputs);
    free(ids);
    kn_store_close(s);
    kn_graph_free(g);
    if (d)
        kn_instr_free_dockerfile(d);
    kn_df_free(df);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"tag", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"target", required_argument, NULL, 'T'},
        {"build-arg", required_argument, NULL, 'a'},
        {"build-context", required_argument, NULL, 'c'},
        {"progress", required_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"network", required_argument, NULL, 'n'},
        {"runtime", required_argument, NULL, 'r'},
        {"no-cache", no_argument, NULL, 'N'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        KN_CLI_STORE_OPTION,
        {NULL, 0, NULL, 0},
    };
    bool help = false, quiet = false;
    const char *file = NULL, *mode_name = "auto";
    kn_autostrvec kn_strvec targets = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec build_args = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec contexts = KN_STRVEC_INIT;
    KN_VEC(tag) tags = {0};
    kn_build_opts bo = {0};
    int c, status = KN_EXIT_OK;
    kn_autoerr kn_err err = KN_ERR_INIT;
    while (status == KN_EXIT_OK &&
           (c = kn_cli_getopt(&kn_cmd_build, argc, argv, "+hf:t:o:q", opts, &help)) != -1) {
        if (c == 'f') {
            file = optarg;
        } else if (c == 'T') {
            kn_strvec_push(&targets, optarg);
        } else if (c == 't') {
            char *name = kn_cli_image_name(optarg, &err);
            if (!name) {
                status = kn_cli_report(&err);
                break;
            }
            tag t = {(long)targets.len - 1, name, NULL};
            kn_vec_push(&tags, t);
        } else if (c == 'o') {
            kn_export_spec *spec = kn_xcalloc(1, sizeof(*spec));
            if (kn_export_parse(optarg, spec, &err) < 0) {
                free(spec);
                status = kn_cli_report(&err);
                break;
            }
            tag t = {(long)targets.len - 1, NULL, spec};
            kn_vec_push(&tags, t);
        } else if (c == 'c') {
            kn_strvec_push(&contexts, optarg);
        } else if (c == 'a') {
            kn_cli_push_build_arg(&build_args, optarg);
        } else if (c == 'P') {
            mode_name = optarg;
        } else if (c == 'q') {
            quiet = true;
        } else if (c == 'n') {
            if (strcmp(optarg, "host") && strcmp(optarg, "none") && strcmp(optarg, "default"))
                status =
                    kn_cli_usage_error("build", "unknown network %s: use host or none", optarg);
            bo.network_none = !strcmp(optarg, "none");
        } else if (c == 'r') {
            bo.runtime = optarg;
        } else if (c == 'j') {
            char *end = NULL;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (!*optarg || *end || errno || n == 0 || n > 1024)
                status =
                    kn_cli_usage_error("build", "--jobs %s: give a number from 1 to 1024", optarg);
            bo.jobs = (size_t)n;
        } else if (c == 'S') {
            kn_cli_store_dir = optarg;
        } else if (c == 'N') {
            /* No build cache yet: every step runs anyway. */
        } else if (c != 'h') {
            status = KN_EXIT_USAGE;
        }
    }
    kn_progress_mode mode = KN_PROGRESS_PLAIN;
    if (status != KN_EXIT_OK || help) {
        if (help)
            fputs(kn_cmd_build.usage, stdout);
    } else if (kn_progress_parse_mode(mode_name, isatty(STDERR_FILENO), &mode, &err) < 0) {
        status = kn_cli_usage_error("build", "%s", err.msg);
    } else if (argc - optind > 1) {
        status = kn_cli_usage_error("build", "build takes at most one CONTEXT");
    } else {
        const char *context = optind < argc ? argv[optind] : ".";
        kn_autofree char *default_file = NULL;
        if (!file) {
            kn_buf b = KN_BUF_INIT;
            kn_buf_addf(&b, "%s/Dockerfile", context);
            file = default_file = kn_buf_release(&b);
        }
        kn_progress *p = kn_progress_new(quiet ? KN_PROGRESS_QUIET : mode, stderr);
        bo.build_args = (const char *const *)build_args.items;
        bo.n_build_args = build_args.len;
        bo.cancel = &interrupted;
        bo.event = kn_progress_event;
        bo.event_ctx = p;
        catch_signals();
        int rc = do_build(file, context, &targets, &build_args, &contexts, tags.items, tags.len,
                          &bo, p, quiet, &err);
        if (rc < 0 && interrupted) {
            /* The build has cleaned up after itself; the signal decides the status. */
            fprintf(stderr, "kiln: %s\n", interrupted == SIGINT ? "interrupted" : "terminated");
            status = 128 + interrupted;
        } else if (rc < 0) {
            status = kn_cli_report(&err);
        }
    }
    for (size_t i = 0; i < tags.len; i++) {
        free(tags.items[i].name);
        if (tags.items[i].spec)
            kn_export_spec_free(tags.items[i].spec);
        free(tags.items[i].spec);
    }
    kn_vec_free(&tags);
    return status;
}
