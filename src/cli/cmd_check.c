/* kiln check: BuildKit's build checks (SEMANTICS 8.2) over a Dockerfile. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/dockerignore.h"
#include "frontend/instr.h"
#include "frontend/lint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int run(int argc, char **argv);

const kn_cmd kn_cmd_check = {
    "check",
    "Check a Dockerfile against BuildKit's build checks",
    "Usage: kiln check [-f FILE] [--format text|json] [CONTEXT]\n"
    "\n"
    "Run BuildKit's build checks (StageNameCasing, UndefinedVar, ...) and kiln's\n"
    "GlobalArgNotInScope over a Dockerfile, every stage included.\n"
    "  -f, --file FILE   the Dockerfile (default: CONTEXT/Dockerfile)\n"
    "  --format FORMAT   text (default) or json\n"
    "  -h, --help        show this help\n"
    "CONTEXT (default \".\") is the build context; its .dockerignore (or\n"
    "FILE.dockerignore next to FILE) feeds CopyIgnoredFile.\n"
    "Honours `# check=skip=RULE,...`, `# check=skip=all` and `# check=error=true`.\n"
    "\n"
    "Exit status: 0 no findings, 1 a rule fired, 2 the file cannot be parsed.\n",
    run,
};

static void print_text(const char *file, const kn_lint_result *r)
{
    for (size_t i = 0; i < r->findings.len; i++) {
        const kn_lint_finding *f = &r->findings.items[i];
        printf("%s:%d: %s: %s\n", file, f->line, f->rule, f->message);
    }
    size_t n = r->findings.len;
    if (n == 0)
        printf("%s: no problems found\n", file);
    else if (r->error)
        printf("%s: %zu problem%s found; check=error=true makes them fail the build\n", file, n,
               n == 1 ? "" : "s");
    else
        printf("%s: %zu problem%s found\n", file, n, n == 1 ? "" : "s");
}

static int print_json(const kn_lint_result *r)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < r->findings.len; i++) {
        const kn_lint_finding *f = &r->findings.items[i];
        json_t *o = json_object();
        json_object_set_new(o, "rule", json_string(f->rule));
        json_object_set_new(o, "line", json_integer(f->line));
        json_object_set_new(o, "message", json_string(f->message));
        json_object_set_new(o, "url", f->url ? json_string(f->url) : json_null());
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "findings", arr);
    json_object_set_new(root, "error", json_boolean(r->error));
    kn_autofree char *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!out)
        return -1;
    puts(out);
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool help = false;
    const char *file = NULL, *format = "text";
    int c;
    while ((c = kn_cli_getopt(&kn_cmd_check, argc, argv, "+hf:", opts, &help)) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 'F':
            format = optarg;
            break;
        case 'h':
            fputs(kn_cmd_check.usage, stdout);
            return KN_EXIT_OK;
        default:
            return KN_EXIT_USAGE;
        }
    }
    bool is_json = strcmp(format, "json") == 0;
    if (!is_json && strcmp(format, "text") != 0)
        return kn_cli_usage_error("check", "unknown format \"%s\" (use text or json)", format);
    if (optind + 1 < argc)
        return kn_cli_usage_error("check", "check takes at most one CONTEXT");
    const char *context = optind < argc ? argv[optind] : ".";
    kn_autofree char *default_file = NULL;
    if (!file) {
        kn_buf b = KN_BUF_INIT;
        if (strcmp(context, ".") == 0)
            kn_buf_adds(&b, "Dockerfile");
        else
            kn_buf_addf(&b, "%s/Dockerfile", context);
        file = default_file = kn_buf_release(&b);
    }

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse_file(file, &err);
    if (!df)
        return kn_cli_report(&err);
    kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
    if (!d) {
        kn_df_free(df);
        return kn_cli_report(&err);
    }
    kn_dockerignore *ignore = NULL;
    int status = KN_EXIT_OK;
    if (kn_cli_load_dockerignore(context, file, &ignore, &err) < 0) {
        status = kn_cli_report(&err);
        goto out;
    }
    kn_lint_opts lo = {ignore};
    kn_lint_result res;
    if (kn_lint_run(df, d, &lo, &res, &err) < 0) {
        status = kn_cli_report(&err);
        goto out;
    }
    if (is_json) {
        if (print_json(&res) < 0)
            status = KN_EXIT_FAIL;
    } else {
        print_text(df->path, &res);
    }
    if (status == KN_EXIT_OK && res.findings.len > 0)
        status = KN_EXIT_FAIL;
    kn_lint_result_free(&res);
out:
    kn_dockerignore_free(ignore);
    kn_instr_free_dockerfile(d);
    kn_df_free(df);
    if (fflush(stdout) != 0)
        status = KN_EXIT_FAIL;
    return status;
}
