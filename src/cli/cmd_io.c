/* kiln load, save and import: images in and out of the store. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/ref.h"
#include "base/vec.h"
#include "frontend/df.h"
#include "frontend/expand.h"
#include "frontend/graph.h"
#include "frontend/instr.h"
#include "image/archive.h"
#include "image/config.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int run_load(int argc, char **argv);
static int run_save(int argc, char **argv);
static int run_import(int argc, char **argv);

const kn_cmd kn_cmd_load = {
    "load",
    "Load images from a docker-archive or OCI archive",
    "Usage: kiln load [-i FILE] [-q]\n"
    "\n"
    "Load the images of a tar archive, as `docker save`, `kiln save` or\n"
    "`skopeo copy ... docker-archive:|oci-archive:` write it (the archive and\n"
    "its layers may be gzip- or zstd-compressed), into the store. Every blob and\n"
    "layer is verified before anything is recorded.\n"
    "  -i, --input FILE  read FILE (default: standard input)\n"
    "  -q, --quiet       print nothing on success\n"
    "  --store DIR       the store (default $KILN_STORE, /var/lib/kiln as root)\n"
    "  -h, --help        show this help\n",
    run_load,
};

const kn_cmd kn_cmd_save = {
    "save",
    "Save images to a docker-archive or OCI archive",
    "Usage: kiln save [-o FILE] [--format docker|oci] IMAGE...\n"
    "\n"
    "Write the images as one tar archive: `docker` (default) is what `docker\n"
    "save` writes and `docker load` reads (manifest.json plus an OCI layout);\n"
    "`oci` is an OCI image layout. The same images give the same bytes.\n"
    "  -o, --output FILE  write FILE (default: standard output, not a terminal)\n"
    "  --format FORMAT    docker (default) or oci\n"
    "  --store DIR        the store\n"
    "  -h, --help         show this help\n",
    run_save,
};

const kn_cmd kn_cmd_import = {
    "import",
    "Import a root filesystem as a one-layer image",
    "Usage: kiln import [-c CHANGE]... [-m MESSAGE] FILE|DIR|- [NAME]\n"
    "\n"
    "Make an image of one layer from a directory or a tar archive (plain, gzip\n"
    "or zstd; - reads standard input) and print its ID.\n"
    "  -c, --change CHANGE  apply a Dockerfile instruction to the config: CMD,\n"
    "                       ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,\n"
    "                       USER, VOLUME, WORKDIR (e.g. --change 'ENV K=V')\n"
    "  -m, --message TEXT   the history comment (default \"Imported from SOURCE\")\n"
    "  --platform OS/ARCH   the config's platform (default: this machine's)\n"
    "  --store DIR          the store\n"
    "  -h, --help           show this help\n",
    run_import,
};

static int load_archive(const char *input, bool quiet, kn_err *err)
{
    kn_autoclose int fd = input ? open(input, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
    if (fd < 0)
        return kn_errf(err, KN_EINPUT, "open %s: %s", input, strerror(errno));
    kn_autostore kn_store *s = kn_cli_store_open(err);
    if (!s)
        return -1;
    kn_autofree char *platform = kn_graph_host_platform();
    kn_platform_want want;
    kn_platform_want_parse(platform, &want);
    kn_loaded *images = NULL;
    size_t n = 0;
    if (kn_archive_load(s, fd, &want, &images, &n, err) < 0)
        return kn_err_wrap(err, "load %s", input ? input : "standard input");
    for (size_t i = 0; i < n && !quiet; i++) {
        for (size_t j = 0; j < images[i].n_names; j++) {
            kn_autofree char *f = kn_ref_familiar_name(images[i].names[j]);
            printf("Loaded image: %s\n", f);
        }
        if (images[i].n_names == 0)
            printf("Loaded image ID: %s\n", images[i].id.str);
    }
    kn_loaded_free(images, n);
    return 0;
}

static int run_load(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        KN_CLI_STORE_OPTION,
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL;
    bool quiet = false, help = false;
    int c;
    while ((c = kn_cli_getopt(&kn_cmd_load, argc, argv, "i:qh", longopts, &help)) != -1) {
        if (c == 'i')
            input = optarg;
        else if (c == 'q')
            quiet = true;
        else if (c == 'S')
            kn_cli_store_dir = optarg;
        else if (c != 'h')
            return KN_EXIT_USAGE;
    }
    if (help) {
        fputs(kn_cmd_load.usage, stdout);
        return KN_EXIT_OK;
    }
    if (optind < argc)
        return kn_cli_usage_error("load", "unexpected argument: %s", argv[optind]);
    if (!input && isatty(STDIN_FILENO))
        return kn_cli_usage_error("load", "requested load from stdin, but stdin is a terminal: "
                                          "use -i FILE or redirect standard input");
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (load_archive(input, quiet, &err) < 0)
        return kn_cli_report(&err);
    return KN_EXIT_OK;
}

static int run_save(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        KN_CLI_STORE_OPTION,
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    kn_archive_format format = KN_ARCHIVE_DOCKER;
    bool help = false;
    int c;
    while ((c = kn_cli_getopt(&kn_cmd_save, argc, argv, "o:h", longopts, &help)) != -1) {
        if (c == 'o') {
            output = optarg;
        } else if (c == 'F') {
            if (!strcmp(optarg, "docker"))
                format = KN_ARCHIVE_DOCKER;
            else if (!strcmp(optarg, "oci"))
                format = KN_ARCHIVE_OCI;
            else
                return kn_cli_usage_error("save", "unknown format %s: use docker or oci", optarg);
        } else if (c == 'S') {
            kn_cli_store_dir = optarg;
        } else if (c != 'h') {
            return KN_EXIT_USAGE;
        }
    }
    if (help) {
        fputs(kn_cmd_save.usage, stdout);
        return KN_EXIT_OK;
    }
    if (optind >= argc)
        return kn_cli_usage_error("save", "save needs at least one image");
    if (!output && isatty(STDOUT_FILENO))
        return kn_cli_usage_error("save", "refusing to write an archive to a terminal: use -o "
                                          "FILE or redirect standard output");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    if (!s)
        return kn_cli_report(&err);
    const char *const *refs = (const char *const *)argv + optind;
    size_t n = (size_t)(argc - optind);
    int rc = kn_archive_save_file(s, refs, n, format, output ? output : "-", &err);
    if (rc < 0)
        return kn_cli_report(&err);
    return KN_EXIT_OK;
}

/* ---- import --change ---- */

static int expand_one(const char *word, char escape, json_t *cfg, char **out, kn_err *err)
{
    /* Values may refer to the config's own environment, as in a Dockerfile. */
    kn_strvec env = KN_STRVEC_INIT;
    json_t *list = json_object_get(json_object_get(cfg, "config"), "Env");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v))
            kn_strvec_push(&env, json_string_value(v));
    }
    kn_expand_env e = {kn_expand_lookup_kv, NULL, &env};
    int rc = kn_expand_word(word, escape, &e, out, err);
    kn_strvec_free(&env);
    return rc;
}

static void set_cmdline(json_t *cfg, const kn_instr_cmdline *c, bool is_entrypoint)
{
    const char *argv[3] = {"/bin/sh", "-c", c->text};
    const char *const *args = c->is_exec ? (const char *const *)c->argv.items : argv;
    size_t n = c->is_exec ? c->argv.len : 3;
    if (is_entrypoint)
        kn_config_set_entrypoint(cfg, args, n);
    else
        kn_config_set_cmd(cfg, args, n);
}

static int apply_instr(json_t *cfg, const kn_instr *in, char escape, kn_err *err)
{
    switch (in->kind) {
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT:
        set_cmdline(cfg, &in->cmd, in->kind == KN_INSTR_ENTRYPOINT);
        return 0;
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL:
        for (size_t i = 0; i < in->env.pairs.len; i++) {
            kn_autofree char *key = NULL, *value = NULL;
            if (expand_one(in->env.pairs.items[i].key, escape, cfg, &key, err) < 0 ||
                expand_one(in->env.pairs.items[i].value, escape, cfg, &value, err) < 0)
                return -1;
            if (in->kind == KN_INSTR_ENV)
                kn_config_set_env(cfg, key, value);
            else
                kn_config_set_label(cfg, key, value);
        }
        return 0;
    case KN_INSTR_EXPOSE:
        for (size_t i = 0; i < in->ports.len; i++) {
            kn_autofree char *port = NULL;
            if (expand_one(in->ports.items[i], escape, cfg, &port, err) < 0)
                return -1;
            kn_autobuf kn_buf p = KN_BUF_INIT;
            kn_buf_adds(&p, port);
            if (!strchr(port, '/'))
                kn_buf_adds(&p, "/tcp");
            kn_config_add_exposed_port(cfg, p.data);
        }
        return 0;
    case KN_INSTR_VOLUME:
        for (size_t i = 0; i < in->volumes.len; i++) {
            kn_autofree char *vol = NULL;
            if (expand_one(in->volumes.items[i], escape, cfg, &vol, err) < 0)
                return -1;
            kn_config_add_volume(cfg, vol);
        }
        return 0;
    case KN_INSTR_USER:
    case KN_INSTR_WORKDIR:
    case KN_INSTR_STOPSIGNAL: {
        kn_autofree char *value = NULL;
        if (expand_one(in->value, escape, cfg, &value, err) < 0)
            return -1;
        const char *field = in->kind == KN_INSTR_USER      ? "User"
                            : in->kind == KN_INSTR_WORKDIR ? "WorkingDir"
                                                           : "StopSignal";
        kn_config_set_string(cfg, field, value);
        return 0;
    }
    case KN_INSTR_ONBUILD: {
        json_t *c = json_object_get(cfg, "config");
        json_t *list = json_object_get(c, "OnBuild");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(c, "OnBuild", list);
        }
        json_array_append_new(list, json_string(in->onbuild.expression));
        return 0;
    }
    default:
        return kn_errf(err, KN_EINPUT,
                       "%s is not supported by --change (use CMD, ENTRYPOINT, ENV, EXPOSE, "
                       "LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)",
                       kn_instr_kind_name(in->kind));
    }
}

static int apply_change(json_t *cfg, const char *change, kn_err *err)
{
    kn_df *df = kn_df_parse("--change", change, strlen(change), err);
    if (!df)
        return -1;
    int rc = 0;
    if (df->nodes.len != 1)
        rc = kn_errf(err, KN_EINPUT, "--change %s: give exactly one instruction", change);
    kn_instr *in = rc == 0 ? kn_instr_parse(df->nodes.items[0], "--change", err) : NULL;
    if (rc == 0 && !in)
        rc = -1;
    if (rc == 0 && !json_is_object(json_object_get(cfg, "config")))
        json_object_set_new(cfg, "config", json_object());
    if (rc == 0)
        rc = apply_instr(cfg, in, df->escape, err);
    kn_instr_free(in);
    kn_df_free(df);
    return rc;
}

/* Imports `source` as `name` (may be NULL) with the --change lines. */
static int import_image(const char *source, const char *name_arg, const kn_strvec *changes,
                        const char *message, const char *platform_flag, kn_err *err)
{
    kn_autofree char *name = NULL, *platform = NULL;
    if (name_arg && !(name = kn_cli_image_name(name_arg, err)))
        return -1;
    kn_autofree char *host = kn_graph_host_platform();
    if (kn_graph_parse_platform(platform_flag ? platform_flag : host, host, &platform, err) < 0)
        return -1;
    kn_platform_want want;
    kn_platform_want_parse(platform, &want);
    kn_autojson json_t *cfg = kn_config_new(want.os, want.arch, want.variant, (int64_t)time(NULL));
    for (size_t i = 0; i < changes->len; i++)
        if (apply_change(cfg, changes->items[i], err) < 0)
            return -1;
    bool is_dir = false;
    kn_autoclose int fd = -1;
    if (!strcmp(source, "-")) {
        fd = dup(STDIN_FILENO);
    } else {
        fd = open(source, O_RDONLY | O_CLOEXEC);
        struct stat st;
        is_dir = fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (fd < 0)
        return kn_errf(err, KN_EINPUT, "import %s: %s", source, strerror(errno));
    kn_autostore kn_store *s = kn_cli_store_open(err);
    if (!s)
        return -1;
    kn_autobuf kn_buf comment = KN_BUF_INIT;
    /* -m replaces the default comment, as docker's does. */
    if (message)
        kn_buf_adds(&comment, message);
    else
        kn_buf_addf(&comment, "Imported from %s", source);
    kn_digest id;
    const char *names[1] = {name};
    if (kn_image_import(s, fd, is_dir, comment.data, cfg, names, name ? 1 : 0, &id, err) < 0)
        return kn_err_wrap(err, "import %s", source);
    printf("%s\n", id.str);
    return 0;
}

static int run_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"change", required_argument, NULL, 'c'},
        {"message", required_argument, NULL, 'm'},
        {"platform", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        KN_CLI_STORE_OPTION,
        {NULL, 0, NULL, 0},
    };
    kn_strvec changes = KN_STRVEC_INIT;
    const char *message = NULL, *platform = NULL;
    bool help = false;
    int c, status = KN_EXIT_OK;
    while ((c = kn_cli_getopt(&kn_cmd_import, argc, argv, "c:m:h", longopts, &help)) != -1) {
        if (c == 'c')
            kn_strvec_push(&changes, optarg);
        else if (c == 'm')
            message = optarg;
        else if (c == 'P')
            platform = optarg;
        else if (c == 'S')
            kn_cli_store_dir = optarg;
        else if (c != 'h')
            status = KN_EXIT_USAGE;
    }
    if (status == KN_EXIT_OK && help) {
        fputs(kn_cmd_import.usage, stdout);
    } else if (status == KN_EXIT_OK && (optind >= argc || argc - optind > 2)) {
        status = kn_cli_usage_error("import", "import needs a source and at most one name");
    } else if (status == KN_EXIT_OK) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (import_image(argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &changes,
                         message, platform, &err) < 0)
            status = kn_cli_report(&err);
    }
    kn_strvec_free(&changes);
    return status;
}
