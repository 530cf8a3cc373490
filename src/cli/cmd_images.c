/* kiln images, inspect, tag, rmi, prune and store: looking after the store. */
#include "cli/cli.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/ref.h"
#include "base/vec.h"
#include "image/config.h"
#include "image/manifest.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DOC_MAX (4u << 20) /* manifests and configs are read up to this size */

static int run_images(int argc, char **argv);
static int run_inspect(int argc, char **argv);
static int run_tag(int argc, char **argv);
static int run_rmi(int argc, char **argv);
static int run_prune(int argc, char **argv);
static int run_store(int argc, char **argv);

const kn_cmd kn_cmd_images = {
    "images",
    "List the images in the store",
    "Usage: kiln images [--format table|json] [-q] [--no-trunc]\n"
    "\n"
    "List images as `docker images` does: REPOSITORY TAG IMAGE ID CREATED SIZE,\n"
    "newest first; an image without a name shows as <none>.\n"
    "  --format FORMAT  table (default) or json (one object per line)\n"
    "  -q, --quiet      only image IDs\n"
    "  --no-trunc       full image IDs\n"
    "  --store DIR      the store\n"
    "  -h, --help       show this help\n",
    run_images,
};

const kn_cmd kn_cmd_inspect = {
    "inspect",
    "Show images' configuration as JSON",
    "Usage: kiln inspect IMAGE...\n"
    "\n"
    "Print a JSON array with one object per image, shaped like `docker image\n"
    "inspect`, plus kiln's \"Manifest\" digest. IMAGE is a name, NAME@DIGEST, an\n"
    "image ID or a unique prefix of one.\n"
    "  --store DIR  the store\n"
    "  -h, --help   show this help\n",
    run_inspect,
};

const kn_cmd kn_cmd_tag = {
    "tag",
    "Give an image another name",
    "Usage: kiln tag SOURCE TARGET\n"
    "\n"
    "Point the name TARGET at the image SOURCE (a name or an ID).\n"
    "  --store DIR  the store\n"
    "  -h, --help   show this help\n",
    run_tag,
};

const kn_cmd kn_cmd_rmi = {
    "rmi",
    "Remove image names, and images left without one",
    "Usage: kiln rmi [-f] IMAGE...\n"
    "\n"
    "Remove each name; an image whose last name goes is deleted, and its blobs\n"
    "and layers that no other image uses are freed. By ID, an image with several\n"
    "names needs -f.\n"
    "  -f, --force  remove an image given by ID with all its names\n"
    "  --store DIR  the store\n"
    "  -h, --help   show this help\n",
    run_rmi,
};

const kn_cmd kn_cmd_prune = {
    "prune",
    "Remove unnamed images and unused blobs and layers",
    "Usage: kiln prune\n"
    "\n"
    "Delete images without a name, then every blob and layer tree no image\n"
    "uses, and files that interrupted commands left; print what was freed.\n"
    "  --store DIR  the store\n"
    "  -h, --help   show this help\n",
    run_prune,
};

const kn_cmd kn_cmd_store = {
    "store",
    "Check the store",
    "Usage: kiln store check\n"
    "\n"
    "Verify every blob's digest and size, every image's manifest, config and\n"
    "layers, and index.json. Prints each problem; exit status 1 when there is one.\n"
    "  --store DIR  the store\n"
    "  -h, --help   show this help\n",
    run_store,
};

/* Parses the flags every store command shares (--store, --help) plus
 * `extra` short flags handed back in *flags as a bit per letter. */
static int common_flags(const kn_cmd *cmd, int argc, char **argv, const struct option *extra_long,
                        const char *extra_short, unsigned *flags, const char **format)
{
    struct option longopts[8] = {
        {"help", no_argument, NULL, 'h'},
        KN_CLI_STORE_OPTION,
    };
    size_t n = 2;
    for (size_t i = 0; extra_long && extra_long[i].name && n < KN_ARRAY_LEN(longopts) - 1; i++)
        longopts[n++] = extra_long[i];
    kn_autobuf kn_buf shortopts = KN_BUF_INIT;
    kn_buf_addf(&shortopts, "h%s", extra_short ? extra_short : "");
    bool help = false;
    int c;
    *flags = 0;
    while ((c = kn_cli_getopt(cmd, argc, argv, shortopts.data, longopts, &help)) != -1) {
        if (c == 'h')
            continue;
        if (c == 'S')
            kn_cli_store_dir = optarg;
        else if (c == 'F' && format)
            *format = optarg;
        else if (c >= 'a' && c <= 'z')
            *flags |= 1u << (c - 'a');
        else if (c == 'T')
            *flags |= 1u << 26; /* --no-trunc */
        else
            return KN_EXIT_USAGE;
    }
    if (help) {
        fputs(cmd->usage, stdout);
        return -1;
    }
    return KN_EXIT_OK;
}

#define FLAG(c) (1u << ((c) - 'a'))

/* go-units HumanSizeWithPrecision(size, 3): decimal units, 3 digits. */
static void human_size(uint64_t size, char *out, size_t len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)size;
    size_t i = 0;
    while (v >= 1000.0 && i + 1 < KN_ARRAY_LEN(units)) {
        v /= 1000.0;
        i++;
    }
    snprintf(out, len, "%.3g%s", v, units[i]);
}

/* go-units HumanDuration, as `docker images` shows CREATED. */
static void human_since(int64_t then, char *out, size_t len)
{
    if (then <= 0) {
        snprintf(out, len, "N/A");
        return;
    }
    double d = difftime(time(NULL), (time_t)then);
    long seconds = (long)d, minutes = (long)(d / 60), hours = (long)(d / 3600 + 0.5);
    if (seconds < 1)
        snprintf(out, len, "Less than a second ago");
    else if (seconds == 1)
        snprintf(out, len, "1 second ago");
    else if (seconds < 60)
        snprintf(out, len, "%ld seconds ago", seconds);
    else if (minutes == 1)
        snprintf(out, len, "About a minute ago");
    else if (minutes < 60)
        snprintf(out, len, "%ld minutes ago", minutes);
    else if (hours == 1)
        snprintf(out, len, "About an hour ago");
    else if (hours < 48)
        snprintf(out, len, "%ld hours ago", hours);
    else if (hours < 24 * 7 * 2)
        snprintf(out, len, "%ld days ago", hours / 24);
    else if (hours < 24 * 30 * 2)
        snprintf(out, len, "%ld weeks ago", hours / 24 / 7);
    else if (hours < 24 * 365 * 2)
        snprintf(out, len, "%ld months ago", hours / 24 / 30);
    else
        snprintf(out, len, "%ld years ago", (long)(d / 3600) / 24 / 365);
}

typedef struct image_row {
    char *repo, *tag, *id, *created, *created_at, *size;
} image_row;

typedef KN_VEC(image_row) image_rows;

static void split_name(const char *name, char **repo, char **tag)
{
    char *f = kn_ref_familiar_name(name);
    char *colon = strrchr(f, ':');
    if (colon && !strchr(colon, '/')) {
        *tag = kn_xstrdup(colon + 1);
        *colon = '\0';
    } else {
        *tag = kn_xstrdup("<none>");
    }
    *repo = f;
}

static void add_rows(const kn_store_entry *e, bool no_trunc, image_rows *rows)
{
    char size[32], since[64], at[64] = "N/A";
    human_size(e->size, size, sizeof(size));
    human_since(e->created, since, sizeof(since));
    if (e->created > 0) {
        time_t t = (time_t)e->created;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    }
    const char *hex = e->config.str + strlen(KN_DIGEST_PREFIX);
    for (size_t i = 0; i < (e->n_names ? e->n_names : 1); i++) {
        image_row r = {0};
        if (e->n_names) {
            split_name(e->names[i], &r.repo, &r.tag);
        } else {
            r.repo = kn_xstrdup("<none>");
            r.tag = kn_xstrdup("<none>");
        }
        r.id = no_trunc ? kn_xstrdup(e->config.str) : kn_xstrndup(hex, 12);
        r.created = kn_xstrdup(since);
        r.created_at = kn_xstrdup(at);
        r.size = kn_xstrdup(size);
        kn_vec_push(rows, r);
    }
}

static int run_images(int argc, char **argv)
{
    static const struct option extra[] = {
        {"format", required_argument, NULL, 'F'},
        {"quiet", no_argument, NULL, 'q'},
        {"no-trunc", no_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    unsigned flags;
    const char *format = "table";
    int rc = common_flags(&kn_cmd_images, argc, argv, extra, "q", &flags, &format);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (optind < argc)
        return kn_cli_usage_error("images", "unexpected argument: %s", argv[optind]);
    bool is_json = !strcmp(format, "json");
    if (!is_json && strcmp(format, "table"))
        return kn_cli_usage_error("images", "unknown format %s: use table or json", format);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    kn_store_entry *entries = NULL;
    size_t n = 0;
    if (!s || kn_store_image_list(s, &entries, &n, &err) < 0)
        return kn_cli_report(&err);
    image_rows rows = {0};
    for (size_t i = 0; i < n; i++)
        add_rows(&entries[i], flags & (1u << 26), &rows);
    const char *head[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
    size_t w[5];
    for (size_t c = 0; c < 5; c++)
        w[c] = strlen(head[c]);
    for (size_t i = 0; i < rows.len; i++) {
        const char *cells[] = {rows.items[i].repo, rows.items[i].tag, rows.items[i].id,
                               rows.items[i].created, rows.items[i].size};
        for (size_t c = 0; c < 5; c++)
            if (strlen(cells[c]) > w[c])
                w[c] = strlen(cells[c]);
    }
    if (!is_json && !(flags & FLAG('q')))
        printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int)w[0], head[0], (int)w[1], head[1],
               (int)w[2], head[2], (int)w[3], head[3], head[4]);
    for (size_t i = 0; i < rows.len; i++) {
        image_row *r = &rows.items[i];
        if (flags & FLAG('q')) {
            printf("%s\n", r->id);
        } else if (is_json) {
            json_t *o = json_object();
            json_object_set_new(o, "Containers", json_string("N/A"));
            json_object_set_new(o, "CreatedAt", json_string(r->created_at));
            json_object_set_new(o, "CreatedSince", json_string(r->created));
            json_object_set_new(o, "Digest", json_string("<none>"));
            json_object_set_new(o, "ID", json_string(r->id));
            json_object_set_new(o, "Repository", json_string(r->repo));
            json_object_set_new(o, "SharedSize", json_string("N/A"));
            json_object_set_new(o, "Size", json_string(r->size));
            json_object_set_new(o, "Tag", json_string(r->tag));
            json_object_set_new(o, "UniqueSize", json_string("N/A"));
            json_object_set_new(o, "VirtualSize", json_string(r->size));
            char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("%s\n", text);
            free(text);
            json_decref(o);
        } else {
            printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int)w[0], r->repo, (int)w[1], r->tag,
                   (int)w[2], r->id, (int)w[3], r->created, r->size);
        }
        free(r->repo);
        free(r->tag);
        free(r->id);
        free(r->created);
        free(r->created_at);
        free(r->size);
    }
    kn_vec_free(&rows);
    for (size_t i = 0; i < n; i++)
        kn_store_entry_free(&entries[i]);
    free(entries);
    return KN_EXIT_OK;
}

static json_t *inspect_one(kn_store *s, const char *ref, kn_err *err)
{
    kn_store_entry e;
    if (kn_store_image_find(s, ref, &e, err) < 0)
        return NULL;
    kn_autofree char *data = NULL;
    size_t len = 0;
    json_t *cfg = NULL, *out = NULL;
    if (kn_store_blob_read(s, &e.config, DOC_MAX, &data, &len, err) == 0 &&
        kn_config_parse(data, len, &cfg, err) == 0) {
        kn_strvec tags = KN_STRVEC_INIT, digests = KN_STRVEC_INIT;
        for (size_t i = 0; i < e.n_names; i++) {
            kn_strvec_push_owned(&tags, kn_ref_familiar_name(e.names[i]));
            kn_autofree char *repo = kn_xstrdup(tags.items[i]);
            char *colon = strrchr(repo, ':');
            if (colon && !strchr(colon, '/'))
                *colon = '\0';
            kn_autobuf kn_buf d = KN_BUF_INIT;
            kn_buf_addf(&d, "%s@%s", repo, e.manifest.str);
            if (kn_strvec_find(&digests, d.data) < 0)
                kn_strvec_push(&digests, d.data);
        }
        int64_t last_tag = 0;
        for (size_t i = 0; i < e.n_names; i++)
            if (e.tagged_at[i] > last_tag)
                last_tag = e.tagged_at[i];
        kn_inspect_info info = {
            .config_digest = &e.config,
            .manifest_digest = &e.manifest,
            .repo_tags = (const char *const *)tags.items,
            .n_repo_tags = tags.len,
            .repo_digests = (const char *const *)digests.items,
            .n_repo_digests = digests.len,
            .size = (int64_t)e.size,
            .last_tag_time = last_tag,
        };
        out = kn_image_inspect(cfg, &info);
        kn_strvec_free(&tags);
        kn_strvec_free(&digests);
        json_decref(cfg);
    }
    kn_store_entry_free(&e);
    return out;
}

static int run_inspect(int argc, char **argv)
{
    unsigned flags;
    int rc = common_flags(&kn_cmd_inspect, argc, argv, NULL, NULL, &flags, NULL);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (optind >= argc)
        return kn_cli_usage_error("inspect", "inspect needs at least one image");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    if (!s)
        return kn_cli_report(&err);
    json_t *all = json_array();
    int status = KN_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        json_t *one = inspect_one(s, argv[i], &err);
        if (!one) {
            status = kn_cli_report(&err);
            kn_err_clear(&err);
            continue;
        }
        json_array_append_new(all, one);
    }
    char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(all);
    return status;
}

static int run_tag(int argc, char **argv)
{
    unsigned flags;
    int rc = common_flags(&kn_cmd_tag, argc, argv, NULL, NULL, &flags, NULL);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (argc - optind != 2)
        return kn_cli_usage_error("tag", "tag needs exactly two arguments: SOURCE TARGET");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *target = kn_cli_image_name(argv[optind + 1], &err);
    if (!target)
        return kn_cli_report(&err);
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    kn_store_entry e;
    if (!s || kn_store_image_find(s, argv[optind], &e, &err) < 0)
        return kn_cli_report(&err);
    rc = kn_store_tag(s, &e.manifest, target, &err);
    kn_store_entry_free(&e);
    return rc < 0 ? kn_cli_report(&err) : KN_EXIT_OK;
}

static void print_line(void *ctx, const char *what)
{
    printf("%s%s\n", (const char *)ctx, what);
}

/* Removes one IMAGE argument: a name untags; an ID removes the image. */
static int remove_one(kn_store *s, const char *ref, bool force, kn_err *err)
{
    kn_store_entry e;
    if (kn_store_image_find(s, ref, &e, err) < 0)
        return -1;
    kn_autofree char *full = NULL;
    kn_ref r = KN_REF_INIT;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    if (kn_ref_parse(ref, &r, &ignored) == 0 && !r.digest) {
        kn_ref_default_tag(&r);
        full = kn_ref_string(&r);
    }
    kn_ref_free(&r);
    bool is_name = false;
    for (size_t i = 0; full && i < e.n_names; i++)
        is_name |= !strcmp(e.names[i], full);
    int rc = 0;
    if (is_name) {
        bool removed = false;
        rc = kn_store_untag(s, full, &e.manifest, &removed, err);
        if (rc == 0) {
            kn_autofree char *f = kn_ref_familiar_name(full);
            printf("Untagged: %s\n", f);
            if (removed)
                printf("Deleted: %s\n", e.config.str);
        }
    } else if (e.n_names > 1 && !force) {
        rc = kn_errf(err, KN_EINPUT,
                     "image %s has %zu names: remove them one by one, or use -f to remove "
                     "the image with all of them",
                     ref, e.n_names);
    } else {
        rc = kn_store_image_remove(s, &e.manifest, err);
        for (size_t i = 0; rc == 0 && i < e.n_names; i++) {
            kn_autofree char *f = kn_ref_familiar_name(e.names[i]);
            printf("Untagged: %s\n", f);
        }
        if (rc == 0)
            printf("Deleted: %s\n", e.config.str);
    }
    kn_store_entry_free(&e);
    return rc;
}

static int run_rmi(int argc, char **argv)
{
    static const struct option extra[] = {
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    unsigned flags;
    int rc = common_flags(&kn_cmd_rmi, argc, argv, extra, "f", &flags, NULL);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (optind >= argc)
        return kn_cli_usage_error("rmi", "rmi needs at least one image");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    if (!s)
        return kn_cli_report(&err);
    int status = KN_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        if (remove_one(s, argv[i], flags & FLAG('f'), &err) < 0) {
            status = kn_cli_report(&err);
            kn_err_clear(&err);
        }
    }
    /* Free what the removed images used; when another kiln holds the store,
     * leave it to a later prune rather than wait. */
    bool ran;
    kn_gc_stats stats;
    if (kn_store_gc(s, false, false, &ran, NULL, NULL, &stats, &err) < 0)
        status = kn_cli_report(&err);
    return status;
}

static int run_prune(int argc, char **argv)
{
    unsigned flags;
    int rc = common_flags(&kn_cmd_prune, argc, argv, NULL, NULL, &flags, NULL);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (optind < argc)
        return kn_cli_usage_error("prune", "unexpected argument: %s", argv[optind]);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    if (!s)
        return kn_cli_report(&err);
    bool ran;
    kn_gc_stats stats;
    if (kn_store_gc(s, true, true, &ran, print_line, "", &stats, &err) < 0)
        return kn_cli_report(&err);
    char size[32];
    human_size(stats.bytes, size, sizeof(size));
    printf("Total reclaimed space: %s\n", size);
    return KN_EXIT_OK;
}

/* The records of an image against its manifest and config blobs. */
static void check_image(kn_store *s, const kn_store_entry *e, size_t *n_problems)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *mdata = NULL, *cdata = NULL;
    size_t mlen = 0, clen = 0;
    kn_manifest m = {0};
    json_t *cfg = NULL;
    kn_store_layer *layers = NULL;
    size_t n_layers = 0;
    kn_autofree kn_digest *diff_ids = NULL;
    size_t n_diff_ids = 0;
    const char *problem = NULL;
    if (kn_store_blob_read(s, &e->manifest, DOC_MAX, &mdata, &mlen, &err) < 0 ||
        kn_manifest_parse(mdata, mlen, &m, &err) < 0 ||
        kn_store_blob_read(s, &e->config, DOC_MAX, &cdata, &clen, &err) < 0 ||
        kn_config_parse(cdata, clen, &cfg, &err) < 0 ||
        kn_config_diff_ids(cfg, &diff_ids, &n_diff_ids, &err) < 0 ||
        kn_store_image_layers(s, &e->manifest, &layers, &n_layers, &err) < 0) {
        problem = err.msg;
    } else if (!kn_digest_eq(&m.config.digest, &e->config)) {
        problem = "the manifest names another config";
    } else if (m.n_layers != n_layers || n_diff_ids != n_layers) {
        problem = "the manifest, the config and the records disagree on the layer count";
    } else {
        for (size_t i = 0; i < n_layers && !problem; i++)
            if (!kn_digest_eq(&m.layers[i].digest, &layers[i].blob) ||
                !kn_digest_eq(&diff_ids[i], &layers[i].diff_id))
                problem = "a layer in the records is not the one the manifest and config name";
    }
    if (problem) {
        printf("image %s: %s\n", e->manifest.str, problem);
        (*n_problems)++;
    }
    kn_manifest_free(&m);
    json_decref(cfg);
    kn_store_layers_free(layers, n_layers);
}

static int run_store(int argc, char **argv)
{
    unsigned flags;
    int rc = common_flags(&kn_cmd_store, argc, argv, NULL, NULL, &flags, NULL);
    if (rc != KN_EXIT_OK)
        return rc < 0 ? KN_EXIT_OK : rc;
    if (argc - optind != 1 || strcmp(argv[optind], "check"))
        return kn_cli_usage_error("store", "the store command takes one subcommand: check");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autostore kn_store *s = kn_cli_store_open(&err);
    if (!s)
        return kn_cli_report(&err);
    size_t n_problems = 0;
    if (kn_store_check(s, print_line, "", &n_problems, &err) < 0)
        return kn_cli_report(&err);
    kn_store_entry *entries = NULL;
    size_t n = 0;
    if (kn_store_image_list(s, &entries, &n, &err) < 0)
        return kn_cli_report(&err);
    for (size_t i = 0; i < n; i++) {
        check_image(s, &entries[i], &n_problems);
        kn_store_entry_free(&entries[i]);
    }
    free(entries);
    if (n_problems) {
        printf("%zu problem%s found in %s\n", n_problems, n_problems == 1 ? "" : "s", s->path);
        return KN_EXIT_FAIL;
    }
    printf("store %s: %zu image%s, no problems\n", s->path, n, n == 1 ? "" : "s");
    return KN_EXIT_OK;
}
