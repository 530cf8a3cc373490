/* kiln: the entry point and command dispatch. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/ref.h"
#include "base/str.h"
#include "base/vec.h"
#include "frontend/dockerignore.h"
#include "store/store.h"

#include <stdarg.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kn_cmd *const commands[] = {
    &kn_cmd_parse, &kn_cmd_check,  &kn_cmd_build,  &kn_cmd_plan,    &kn_cmd_load,
    &kn_cmd_save,  &kn_cmd_import, &kn_cmd_images, &kn_cmd_inspect, &kn_cmd_tag,
    &kn_cmd_rmi,   &kn_cmd_prune,  &kn_cmd_store,
};

const char *kn_cli_store_dir;

struct kn_store *kn_cli_store_open(kn_err *err)
{
    kn_autofree char *path =
        kn_cli_store_dir ? kn_xstrdup(kn_cli_store_dir) : kn_store_default_path();
    return kn_store_open(path, err);
}

/* F-27: FILE.dockerignore next to the Dockerfile, else CONTEXT/.dockerignore. */
int kn_cli_load_dockerignore(const char *context, const char *file, kn_dockerignore **out,
                             kn_err *err)
{
    *out = NULL;
    if (strcmp(file, "-") != 0) {
        const char *slash = strrchr(file, '/');
        kn_autofree char *dir =
            slash ? kn_xstrndup(file, (size_t)(slash - file) + 1) : kn_xstrdup(".");
        kn_autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            kn_autobuf kn_buf name = KN_BUF_INIT;
            kn_buf_addf(&name, "%s.dockerignore", slash ? slash + 1 : file);
            if (kn_dockerignore_load(dfd, name.data, out, err) < 0)
                return -1;
            if (*out)
                return 0;
        }
    }
    kn_autoclose int cfd = open(context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return kn_errf(err, KN_EUSAGE, "build context %s: %s", context, strerror(errno));
    return kn_dockerignore_load(cfd, ".dockerignore", out, err);
}

void kn_cli_push_build_arg(kn_strvec *args, const char *value)
{
    if (strchr(value, '=')) {
        kn_strvec_push(args, value);
    } else if (getenv(value)) {
        kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s=%s", value, getenv(value));
        kn_strvec_push_owned(args, kn_buf_release(&b));
    }
}

char *kn_cli_image_name(const char *name, kn_err *err)
{
    kn_ref r = KN_REF_INIT;
    if (kn_ref_parse(name, &r, err) < 0)
        return kn_err_wrap(err, "image name %s", name), NULL;
    if (r.digest) {
        kn_ref_free(&r);
        kn_errf(err, KN_EINPUT, "image name %s: a tag cannot hold a digest", name);
        return NULL;
    }
    kn_ref_default_tag(&r);
    char *full = kn_ref_string(&r);
    kn_ref_free(&r);
    return full;
}

static void print_help(FILE *f)
{
    fputs("Usage: kiln [--version] [--help] [--store DIR] COMMAND [ARGS]\n"
          "\n"
          "kiln builds container images from Dockerfiles, without a daemon.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < KN_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\nRun 'kiln COMMAND --help' for more on a command.\n", f);
}

int kn_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kiln: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nRun 'kiln %s --help' for usage.\n", cmd);
    else
        fputs("\nRun 'kiln --help' for usage.\n", stderr);
    return KN_EXIT_USAGE;
}

int kn_cli_report(const kn_err *err)
{
    kn_autofree char *msg = kn_err_format(err);
    fprintf(stderr, "kiln: %s\n", msg);
    return err->code == KN_EINPUT || err->code == KN_EUSAGE ? KN_EXIT_USAGE : KN_EXIT_FAIL;
}

int kn_cli_getopt(const kn_cmd *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts, bool *help)
{
    opterr = 0;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'h') {
        *help = true;
        return c;
    }
    if (c != '?')
        return c;
    const char *bad = argv[optind - 1];
    if (optopt) {
        /* A known option missing its argument, or an unknown short one. */
        for (const struct option *o = longopts; o->name; o++)
            if (o->val == optopt && o->has_arg == required_argument)
                return kn_cli_usage_error(cmd->name, "flag needs an argument: %s", bad), '?';
        if (strchr(shortopts, optopt))
            return kn_cli_usage_error(cmd->name, "flag needs an argument: -%c", optopt), '?';
        return kn_cli_usage_error(cmd->name, "unknown flag: -%c", optopt), '?';
    }
    /* An unknown long option: suggest the closest known one. */
    kn_autofree char *name = kn_xstrdup(bad + (strncmp(bad, "--", 2) == 0 ? 2 : 0));
    char *eq = strchr(name, '=');
    if (eq)
        *eq = '\0';
    size_t n = 0;
    while (longopts[n].name)
        n++;
    const char **names = kn_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        names[i] = longopts[i].name;
    const char *best = kn_str_suggest(name, names, n, 2);
    if (best)
        kn_cli_usage_error(cmd->name, "unknown flag: --%s (did you mean --%s?)", name, best);
    else
        kn_cli_usage_error(cmd->name, "unknown flag: --%s", name);
    free(names);
    return '?';
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return KN_EXIT_USAGE;
    }
    /* Global flags before the command. */
    while (argc > 1 && argv[1][0] == '-') {
        if (!strcmp(argv[1], "--store") && argc > 2) {
            kn_cli_store_dir = argv[2];
            argc -= 2;
            argv += 2;
        } else if (!strncmp(argv[1], "--store=", 8)) {
            kn_cli_store_dir = argv[1] + 8;
            argc--;
            argv++;
        } else {
            break;
        }
    }
    if (argc < 2) {
        print_help(stderr);
        return KN_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return KN_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("kiln version %s\n", KN_VERSION);
        return KN_EXIT_OK;
    }
    if (name[0] == '-')
        return kn_cli_usage_error(NULL, "unknown flag: %s", name);
    const char *names[KN_ARRAY_LEN(commands)];
    for (size_t i = 0; i < KN_ARRAY_LEN(commands); i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i]->run(argc - 1, argv + 1);
        names[i] = commands[i]->name;
    }
    const char *best = kn_str_suggest(name, names, KN_ARRAY_LEN(commands), 2);
    if (best)
        return kn_cli_usage_error(NULL, "unknown command \"%s\" (did you mean %s?)", name, best);
    return kn_cli_usage_error(NULL, "unknown command \"%s\"", name);
}
