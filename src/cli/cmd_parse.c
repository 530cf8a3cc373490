/* kiln parse: show how kiln reads a Dockerfile. */
#include "cli/cli.h"

#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/instr.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>

static int run(int argc, char **argv);

const kn_cmd kn_cmd_parse = {
    "parse",
    "Parse a Dockerfile and print its instructions",
    "Usage: kiln parse [--dump | --format json] FILE\n"
    "\n"
    "Parse FILE (\"-\" for standard input) and print it:\n"
    "  --dump          BuildKit's parse-tree dump, one line per instruction\n"
    "  --format json   the typed instructions grouped by stage (the default)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 parsed, 2 the file is not a valid Dockerfile.\n",
    run,
};

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dump", no_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool dump = false, help = false;
    const char *format = "json";
    int c;
    while ((c = kn_cli_getopt(&kn_cmd_parse, argc, argv, "+h", opts, &help)) != -1) {
        switch (c) {
        case 'd':
            dump = true;
            break;
        case 'f':
            format = optarg;
            break;
        case 'h':
            fputs(kn_cmd_parse.usage, stdout);
            return KN_EXIT_OK;
        default:
            return KN_EXIT_USAGE;
        }
    }
    if (strcmp(format, "json") != 0)
        return kn_cli_usage_error("parse", "unknown format \"%s\" (use json)", format);
    if (optind + 1 != argc)
        return kn_cli_usage_error("parse", "parse needs exactly one FILE");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse_file(argv[optind], &err);
    if (!df)
        return kn_cli_report(&err);
    int status = KN_EXIT_OK;
    if (dump) {
        kn_autofree char *out = kn_df_dump(df);
        fputs(out, stdout);
    } else {
        kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
        if (!d) {
            status = kn_cli_report(&err);
        } else {
            json_t *j = kn_instr_dockerfile_to_json(d);
            kn_autofree char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            if (out)
                puts(out);
            else
                status = KN_EXIT_FAIL;
            json_decref(j);
            kn_instr_free_dockerfile(d);
        }
    }
    kn_df_free(df);
    if (fflush(stdout) != 0)
        status = KN_EXIT_FAIL;
    return status;
}
