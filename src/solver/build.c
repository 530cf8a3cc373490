#include "solver/build.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/vec.h"
#include "frontend/df.h"
#include "frontend/dockerignore.h"
#include "frontend/expand.h"
#include "frontend/instr.h"
#include "image/archive.h"
#include "image/config.h"
#include "image/manifest.h"
#include "worker/copy.h"
#include "worker/runtime.h"
#include "worker/snapshot.h"

#define DOC_MAX (8u << 20)
#define HISTORY_COMMENT "buildkit.dockerfile.v0"
/* SEMANTICS C-4 */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef KN_VEC(kn_store_layer) layer_vec;

/* What a stage has become so far. */
typedef struct stage_state {
    json_t *cfg;            /* the image config being built; owned */
    layer_vec layers;       /* bottom first; media types owned */
    kn_strvec env;          /* the stage env: config Env, then ARG values (A-5, A-6) */
    kn_strvec args;         /* declared ARG keys, first declaration order (C-15) */
    kn_strvec arg_defaults; /* default text per args[i] ("" when none) */
    bool is_cmd_set;        /* CMD given in this stage (C-6) */
    kn_strvec triggers;     /* the base image's ONBUILD triggers, run after FROM (G-24) */
} stage_state;

/* Shared by the workers that build stages side by side. One lock guards all
 * they share (the store's connection, the stage states, the counters): a
 * worker holds it except while its container runs, which is where a build
 * spends its time, so independent stages' RUN steps overlap and nothing else
 * needs locking of its own. The event sink has a lock of its own, taken
 * after that one or alone: a running step's output, and the ticks that move
 * a live view's timers, never wait for another stage's COPY. */
typedef enum stage_status { STAGE_UNNEEDED, STAGE_WAITING, STAGE_RUNNING, STAGE_DONE } stage_status;

typedef struct sched {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a stage finished or a worker left */
    stage_status *status;   /* per graph stage */
    size_t *order;          /* the needed stages, dependencies first (what one worker runs) */
    size_t n_order;
    pthread_mutex_t events; /* the event sink, n_workers */
    pthread_cond_t done;    /* a worker left */
    size_t n_workers;       /* still running */
    size_t n_threads;       /* started */
    size_t n_early; /* workers in a stage started before its COPY --from stages were built */
    int last_step;
    atomic_int stop; /* a step failed or the build was cancelled; read by running steps */
    bool is_failed;
    kn_err err; /* the first failure */
} sched;

/* The build, as one worker sees it: everything but the step being run is
 * shared (read-only, or guarded by sched.lock). */
typedef struct build {
    sched *sch;
    kn_store *s;
    const kn_build_opts *o;
    const kn_graph *g;
    stage_state *states; /* one per graph stage */
    /* per --build-context: a local directory's fd and .dockerignore, else -1 and NULL */
    int *context_fds;
    kn_dockerignore **context_ignores;
    kn_map *layout_images; /* "<context index> <platform>": the ID an OCI layout's image got */
    kn_strvec build_args;
    char *runtime;
    int64_t now;
    int64_t epoch; /* SOURCE_DATE_EPOCH (C-19), or -1 */
    int step;
    /* the step being run, for output events */
    const char *stage_name;
    size_t index, count;
    const char *text;
} build;

static void layers_free(layer_vec *v)
{
    for (size_t i = 0; i < v->len; i++)
        free((char *)v->items[i].media_type);
    kn_vec_free(v);
}

static void state_free(stage_state *st)
{
    json_decref(st->cfg);
    layers_free(&st->layers);
    kn_strvec_free(&st->env);
    kn_strvec_free(&st->args);
    kn_strvec_free(&st->arg_defaults);
    kn_strvec_free(&st->triggers);
}

static void emit(build *b, kn_build_event_kind kind, const char *data, size_t len, double secs,
                 const char *message)
{
    if (!b->o->event)
        return;
    kn_build_event ev = {kind,    b->step, b->stage_name, b->index, b->count,
                         b->text, data,    len,           secs,     message};
    pthread_mutex_lock(&b->sch->events);
    b->o->event(b->o->event_ctx, &ev);
    pthread_mutex_unlock(&b->sch->events);
}

/* Called while the container runs, without the scheduler's lock: only this
 * worker's fields are read. */
static void on_output(void *ctx, const char *data, size_t len)
{
    emit(ctx, KN_BUILD_STEP_OUTPUT, data, len, 0, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *build_arg(const build *b, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = b->build_args.len; i-- > 0;) {
        const char *e = b->build_args.items[i];
        if (!strncmp(e, key, n) && (e[n] == '=' || e[n] == '\0'))
            return e[n] == '=' ? e + n + 1 : "";
    }
    return NULL;
}

static int expand(stage_state *st, const char *word, char escape, char **out, kn_err *err)
{
    kn_expand_env env = {kn_expand_lookup_kv, NULL, &st->env};
    return kn_expand_word(word, escape, &env, out, err);
}

static json_t *config_obj(json_t *cfg)
{
    json_t *c = json_object_get(cfg, "config");
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(cfg, "config", c);
    }
    return c;
}

static const char *config_string(json_t *cfg, const char *field)
{
    return json_string_value(json_object_get(config_obj(cfg), field));
}

static void env_set(stage_state *st, const char *key, const char *value)
{
    kn_autobuf kn_buf kv = KN_BUF_INIT;
    kn_buf_addf(&kv, "%s=%s", key, value);
    kn_strvec_push(&st->env, kv.data);
}

/* ---- stage start (C-1 .. C-4) ---- */

static int copy_layers(layer_vec *dst, const kn_store_layer *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kn_store_layer l = src[i];
        l.media_type = kn_xstrdup(src[i].media_type);
        kn_vec_push(dst, l);
    }
    return 0;
}

/* Appends the strings of a JSON array (anything else is skipped). */
static void push_strings(kn_strvec *out, json_t *arr)
{
    size_t k;
    json_t *v;
    json_array_foreach(arr, k, v)
    {
        if (json_is_string(v))
            kn_strvec_push(out, json_string_value(v));
    }
}

static int start_from_image(build *b, stage_state *st, const char *ref, kn_err *err)
{
    kn_store_entry e;
    if (kn_store_image_find(b->s, ref, &e, err) < 0) {
        kn_err_clear(err);
        return kn_errf(err, KN_EFAILED,
                       "base image %s is not in the store: load it with `kiln load` or build it",
                       ref);
    }
    kn_autofree char *data = NULL;
    size_t len = 0;
    kn_store_layer *layers = NULL;
    size_t n = 0;
    int rc = kn_store_blob_read(b->s, &e.config, DOC_MAX, &data, &len, err);
    if (rc == 0)
        rc = kn_config_parse(data, len, &st->cfg, err);
    if (rc == 0)
        rc = kn_store_image_layers(b->s, &e.manifest, &layers, &n, err);
    if (rc == 0)
        copy_layers(&st->layers, layers, n);
    kn_store_layers_free(layers, n);
    kn_store_entry_free(&e);
    if (rc < 0)
        return kn_err_wrap(err, "base image %s", ref);
    json_object_del(st->cfg, "created"); /* C-1 */
    /* G-24: the base's triggers run in this stage, and the child's config
     * does not carry them on. */
    push_strings(&st->triggers, json_object_get(config_obj(st->cfg), "OnBuild"));
    json_object_del(config_obj(st->cfg), "OnBuild");
    return 0;
}

static void start_scratch(stage_state *st, const char *platform)
{
    kn_autofree char *p = kn_xstrdup(platform);
    kn_platform_want want;
    kn_platform_want_parse(p, &want);
    st->cfg = kn_config_new(want.os, want.arch, want.variant, 0);
    json_object_del(st->cfg, "created");
    json_t *history = json_object_get(st->cfg, "history");
    if (history)
        json_array_clear(history);
    kn_config_set_string(st->cfg, "WorkingDir", "/"); /* C-2 */
}

/* C-3, A-9: the earlier stage's config, env and declared args. */
static void start_from_stage(stage_state *st, const stage_state *from)
{
    st->cfg = json_deep_copy(from->cfg);
    json_object_del(config_obj(st->cfg), "OnBuild");
    copy_layers(&st->layers, from->layers.items, from->layers.len);
    for (size_t k = 0; k < from->env.len; k++)
        kn_strvec_push(&st->env, from->env.items[k]);
    for (size_t k = 0; k < from->args.len; k++) {
        kn_strvec_push(&st->args, from->args.items[k]);
        kn_strvec_push(&st->arg_defaults, from->arg_defaults.items[k]);
    }
}

/* oci-layout://DIR[:TAG][@sha256:DIGEST] (G-17): a digest wins over a tag,
 * and the tag is "latest" when neither is given. */
static void split_layout_source(const char *source, char **dir, char **tag, char **digest)
{
    const char *spec = source + strlen("oci-layout://");
    const char *at = NULL;
    for (const char *p = strstr(spec, "@sha256:"); p; p = strstr(p + 1, "@sha256:"))
        at = p;
    const char *end = at ? at : spec + strlen(spec);
    const char *colon = NULL;
    for (const char *p = spec; p < end; p++) {
        if (*p == '/')
            colon = NULL;
        else if (*p == ':')
            colon = p;
    }
    *dir = kn_xstrndup(spec, (size_t)((colon ? colon : end) - spec));
    *tag = colon ? kn_xstrndup(colon + 1, (size_t)(end - colon - 1)) : kn_xstrdup("latest");
    *digest = at ? kn_xstrdup(at + 1) : NULL;
}

/* The image a docker-image:// or oci-layout:// context stands for, as a
 * store reference. An OCI layout's image is loaded into the store (without
 * a name) the first time a stage of that platform needs it: an index in the
 * layout gives each platform its own image. */
static int context_image(build *b, long ctx, const char *platform, const char **out, kn_err *err)
{
    const kn_graph_context *c = &b->g->contexts.items[ctx];
    if (c->kind == KN_GRAPH_CONTEXT_IMAGE) {
        *out = c->image;
        return 0;
    }
    if (c->kind != KN_GRAPH_CONTEXT_OCI_LAYOUT)
        return kn_errf(err, KN_EINPUT,
                       "build context %s=%s: git and URL sources are not supported; use a local "
                       "directory, docker-image://, oci-layout:// or target:",
                       c->name, c->source);
    kn_autobuf kn_buf key = KN_BUF_INIT;
    kn_buf_addf(&key, "%ld %s", ctx, platform);
    const char *known = kn_map_get(b->layout_images, key.data);
    if (!known) {
        kn_autofree char *dir = NULL, *tag = NULL, *digest = NULL;
        split_layout_source(c->source, &dir, &tag, &digest);
        kn_autofree char *want_text = kn_xstrdup(platform);
        kn_platform_want want;
        kn_platform_want_parse(want_text, &want);
        kn_autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        kn_digest id;
        if (fd < 0)
            return kn_errf(err, KN_EINPUT, "build context %s=%s: %s", c->name, c->source,
                           strerror(errno));
        if (kn_layout_load(b->s, fd, tag, digest, &want, &id, err) < 0) {
            /* A layout that is not what it says is bad input (exit 2);
             * a full disk or an I/O error stays a failure. */
            if (err->code == KN_ECORRUPT || err->code == ENOENT || err->code == ENOTDIR ||
                err->code == ELOOP || err->code == EXDEV)
                err->code = KN_EINPUT;
            return kn_err_wrap(err, "build context %s=%s", c->name, c->source);
        }
        known = kn_xstrdup(id.str);
        kn_map_set(b->layout_images, key.data, (void *)known);
    }
    *out = known;
    return 0;
}

/* ---- history ---- */

static void history(build *b, stage_state *st, const char *created_by)
{
    kn_config_add_empty_history(st->cfg, b->now, created_by, HISTORY_COMMENT);
}

static void add_layer(build *b, stage_state *st, const kn_store_layer *l, bool is_empty,
                      const char *created_by)
{
    if (is_empty) {
        history(b, st, created_by);
        return;
    }
    kn_store_layer copy = *l;
    copy.media_type = kn_xstrdup(l->media_type);
    kn_vec_push(&st->layers, copy);
    kn_config_add_layer(st->cfg, &l->diff_id, b->now, created_by, HISTORY_COMMENT);
}

/* ---- filesystem steps ---- */

static int mount_stage(build *b, const layer_vec *layers, kn_snapshot **out, kn_err *err)
{
    kn_autofree kn_digest *ids = kn_xcalloc(layers->len + 1, sizeof(*ids));
    for (size_t i = 0; i < layers->len; i++)
        ids[i] = layers->items[i].diff_id;
    *out = kn_snapshot_mount(b->s, ids, layers->len, err);
    return *out ? 0 : -1;
}

/* Unmounts and turns the snapshot into the step's layer. */
static int finish_snapshot(build *b, stage_state *st, kn_snapshot *snap, const char *created_by,
                           kn_err *err)
{
    kn_store_layer l = {0};
    bool is_empty = false;
    if (kn_snapshot_unmount(snap, err) < 0 ||
        kn_snapshot_commit(b->s, snap, b->epoch, true, &l, &is_empty, err) < 0)
        return -1;
    add_layer(b, st, &l, is_empty, created_by);
    return 0;
}

static char *join_argv(const char *const *argv, size_t n)
{
    kn_buf out = KN_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        kn_buf_addf(&out, "%s%s", i ? " " : "", argv[i]);
    return kn_buf_release(&out);
}

/* The RUN argv (I-22, I-26). */
static void run_argv(stage_state *st, const kn_instr *in, kn_strvec *argv)
{
    if (in->run.cmd.is_exec) {
        for (size_t i = 0; i < in->run.cmd.argv.len; i++)
            kn_strvec_push(argv, in->run.cmd.argv.items[i]);
        return;
    }
    json_t *shell = json_object_get(config_obj(st->cfg), "Shell");
    if (json_is_array(shell) && json_array_size(shell) > 0) {
        size_t i;
        json_t *v;
        json_array_foreach(shell, i, v) kn_strvec_push(argv, json_string_value(v));
    } else {
        kn_strvec_push(argv, "/bin/sh");
        kn_strvec_push(argv, "-c");
    }
    const char *text = in->run.cmd.text;
    if (in->n_heredocs == 1 && text[0] == '<' && text[1] == '<' && !strchr(text, ' ')) {
        /* I-26: exactly one heredoc: its body is the script. */
        kn_strvec_push(argv, in->heredocs[0].content);
        return;
    }
    kn_autobuf kn_buf t = KN_BUF_INIT;
    kn_buf_adds(&t, text);
    for (size_t i = 0; i < in->n_heredocs; i++)
        kn_buf_addf(&t, "\n%s%s", in->heredocs[i].content, in->heredocs[i].name);
    kn_strvec_push(argv, t.data);
}

/* C-15: "RUN |N K=V ... argv # buildkit". */
static char *run_history(stage_state *st, const kn_strvec *argv)
{
    kn_buf out = KN_BUF_INIT;
    kn_buf_adds(&out, "RUN ");
    if (st->args.len) {
        kn_buf_addf(&out, "|%zu ", st->args.len);
        for (size_t i = 0; i < st->args.len; i++) {
            const char *v = kn_expand_lookup_kv(&st->env, st->args.items[i]);
            kn_buf_addf(&out, "%s=%s ", st->args.items[i], v ? v : st->arg_defaults.items[i]);
        }
    }
    kn_autofree char *cmd = join_argv((const char *const *)argv->items, argv->len);
    kn_buf_addf(&out, "%s # buildkit", cmd);
    return kn_buf_release(&out);
}

static int open_dir_path(const char *path, kn_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", path);
    return fd;
}

/* A private directory for the runtime's bundle (absolute path). */
static char *run_work_dir(build *b, kn_err *err)
{
    kn_autofree char *name = kn_store_work_name(b->s, "run");
    if (mkdirat(b->s->workfd, name, 0700) < 0) {
        kn_errf(err, errno, "create a run directory");
        return NULL;
    }
    kn_autofree char *root = realpath(b->s->path, NULL);
    if (!root) {
        kn_errf(err, errno, "resolve %s", b->s->path);
        return NULL;
    }
    kn_buf p = KN_BUF_INIT;
    kn_buf_addf(&p, "%s/tmp/%s/%s", root, b->s->work_name, name);
    return kn_buf_release(&p);
}

/* A build arg by name in any case, the lowercase spelling first (A-12). */
static const char *proxy_arg(const build *b, const char *upper, const char *lower)
{
    const char *v = build_arg(b, lower);
    if (v)
        return v;
    size_t n = strlen(upper);
    const char *found = NULL;
    for (size_t i = 0; i < b->build_args.len; i++) {
        const char *e = b->build_args.items[i];
        if (!strncasecmp(e, upper, n) && (e[n] == '=' || e[n] == '\0'))
            found = e[n] == '=' ? e + n + 1 : "";
    }
    return found;
}

/* I-23: the stage env, then the proxy build args (A-12) in both cases,
 * which reach RUN without an ARG and never the config or history. */
static void run_env(const build *b, const stage_state *st, kn_strvec *env)
{
    static const char *const proxies[][2] = {{"HTTP_PROXY", "http_proxy"},
                                             {"HTTPS_PROXY", "https_proxy"},
                                             {"FTP_PROXY", "ftp_proxy"},
                                             {"NO_PROXY", "no_proxy"},
                                             {"ALL_PROXY", "all_proxy"}};
    for (size_t i = 0; i < st->env.len; i++)
        kn_strvec_push(env, st->env.items[i]);
    for (size_t i = 0; i < KN_ARRAY_LEN(proxies); i++) {
        const char *v = proxy_arg(b, proxies[i][0], proxies[i][1]);
        for (size_t k = 0; v && k < 2; k++) {
            if (kn_expand_lookup_kv((void *)&st->env, proxies[i][k]))
                continue; /* an ARG of that name already put it there */
            kn_autobuf kn_buf kv = KN_BUF_INIT;
            kn_buf_addf(&kv, "%s=%s", proxies[i][k], v);
            kn_strvec_push(env, kv.data);
        }
    }
}

static int do_run(build *b, stage_state *st, const kn_instr *in, kn_err *err)
{
    kn_strvec argv = KN_STRVEC_INIT;
    run_argv(st, in, &argv);
    if (argv.len == 0) {
        kn_strvec_free(&argv);
        return kn_errf(err, KN_EFAILED, "process \"\" did not complete successfully: no command");
    }
    kn_autofree char *created_by = run_history(st, &argv);
    kn_autostrvec kn_strvec env = KN_STRVEC_INIT;
    run_env(b, st, &env);
    kn_snapshot *snap = NULL;
    kn_autofree char *work = NULL;
    uint32_t uid = 0, gid = 0;
    uint32_t *groups = NULL;
    size_t n_groups = 0;
    int code = 0;
    int rc = mount_stage(b, &st->layers, &snap, err);
    if (rc == 0) {
        kn_autoclose int rootfd = open_dir_path(snap->merged, err);
        const char *user = config_string(st->cfg, "User");
        rc = rootfd < 0 ? -1
                        : kn_runtime_resolve_user(rootfd, user ? user : "", &uid, &gid, &groups,
                                                  &n_groups, err);
    }
    if (rc == 0 && !(work = run_work_dir(b, err)))
        rc = -1;
    if (rc == 0) {
        const char *cwd = config_string(st->cfg, "WorkingDir");
        bool network_none =
            b->o->network_none || (in->run.network && !strcmp(in->run.network, "none"));
        kn_run_spec spec = {
            .rootfs = snap->merged,
            .argv = (const char *const *)argv.items,
            .argc = argv.len,
            .env = (const char *const *)env.items,
            .n_env = env.len,
            .cwd = cwd && *cwd ? cwd : "/",
            .uid = uid,
            .gid = gid,
            .groups = groups,
            .n_groups = n_groups,
            .network_none = network_none,
            .hostname = build_arg(b, "BUILDKIT_SANDBOX_HOSTNAME"), /* A-14 */
            .runtime = b->runtime,
            .work_dir = work,
            .cancel = &b->sch->stop,
            .output = on_output,
            .output_ctx = b,
        };
        pthread_mutex_unlock(&b->sch->lock);
        rc = kn_runtime_run(&spec, &code, err);
        pthread_mutex_lock(&b->sch->lock);
    }
    if (rc == 0 && code != 0) {
        kn_autofree char *cmd = join_argv((const char *const *)argv.items, argv.len);
        rc = kn_errf(err, KN_EFAILED, "process \"%s\" did not complete successfully: exit code: %d",
                     cmd, code);
    }
    if (rc == 0)
        rc = finish_snapshot(b, st, snap, created_by, err);
    kn_snapshot_free(snap);
    free(groups);
    kn_strvec_free(&argv);
    return rc;
}

static char *abs_in_workdir(stage_state *st, const char *path)
{
    const char *wd = config_string(st->cfg, "WorkingDir");
    kn_autofree char *joined =
        path[0] == '/' ? kn_xstrdup(path) : kn_path_join(wd && *wd ? wd : "/", path);
    return kn_path_clean(joined);
}

static int do_workdir(build *b, stage_state *st, const kn_instr *in, char escape, kn_err *err)
{
    kn_autofree char *value = NULL;
    if (expand(st, in->value, escape, &value, err) < 0)
        return -1;
    kn_autofree char *path = abs_in_workdir(st, value);
    kn_config_set_string(st->cfg, "WorkingDir", path);
    kn_autobuf kn_buf created_by = KN_BUF_INIT;
    kn_buf_addf(&created_by, "WORKDIR %s", path);
    if (!strcmp(path, "/")) {
        history(b, st, created_by.data);
        return 0;
    }
    /* F-25: mkdir -p, 0755; a layer of its own. */
    kn_snapshot *snap = NULL;
    if (mount_stage(b, &st->layers, &snap, err) < 0)
        return -1;
    kn_autoclose int rootfd = open_dir_path(snap->merged, err);
    int rc = rootfd < 0 ? -1 : kn_mkdirat_p(rootfd, path, 0755, err);
    if (rootfd >= 0)
        close(kn_steal_fd(&rootfd)); /* an open fd keeps the mount busy */
    if (rc == 0)
        rc = finish_snapshot(b, st, snap, created_by.data, err);
    kn_snapshot_free(snap);
    return rc;
}

/* --chown (F-15, F-16): unknown names give 0. */
static void resolve_chown(int rootfd, const char *value, kn_copy_opts *o)
{
    o->has_chown = true;
    uint32_t *groups = NULL;
    size_t n = 0;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    if (kn_runtime_resolve_user(rootfd, value, &o->uid, &o->gid, &groups, &n, &ignored) < 0)
        o->uid = o->gid = 0;
    free(groups);
}

static int copy_sources(build *b, stage_state *st, const kn_instr *in, int srcroot, int dstroot,
                        const char *dest, bool dest_is_dir, const kn_copy_opts *o, char escape,
                        kn_buf *created_by, kn_err *err)
{
    for (size_t i = 0; i < in->copy.sources.len; i++) {
        kn_autofree char *src = NULL;
        if (expand(st, in->copy.sources.items[i], escape, &src, err) < 0)
            return -1;
        kn_buf_addf(created_by, " %s", src);
        kn_strvec matches = KN_STRVEC_INIT;
        int rc = kn_copy_expand(srcroot, src, o, &matches, err);
        for (size_t k = 0; k < matches.len && rc == 0; k++) {
            bool is_archive = false;
            /* F-22: ADD extracts a local tar into dest (unless --unpack=false). */
            if (in->kind == KN_INSTR_ADD && !(in->copy.has_unpack && !in->copy.unpack))
                rc = kn_copy_unpack(srcroot, matches.items[k], dstroot, dest, o, &is_archive, err);
            if (rc == 0 && !is_archive)
                rc = kn_copy(srcroot, matches.items[k], dstroot, dest, dest_is_dir, o, err);
        }
        kn_strvec_free(&matches);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* F-14: each heredoc is a file named after its delimiter, written into a
 * scratch root and copied from there like any source (mode 0644). */
static int copy_heredocs(build *b, stage_state *st, const kn_instr *in, int dstroot,
                         const char *dest, bool dest_is_dir, const kn_copy_opts *o,
                         kn_buf *created_by, kn_err *err)
{
    kn_autofree char *work = kn_store_work_name(b->s, "heredoc");
    if (mkdirat(b->s->workfd, work, 0700) < 0)
        return kn_errf(err, errno, "create a heredoc directory");
    kn_autoclose int dir = openat(b->s->workfd, work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    kn_copy_opts ho = *o;
    ho.keep_owner = false;
    ho.is_excluded = NULL;
    int rc = dir < 0 ? kn_errf(err, errno, "open a heredoc directory") : 0;
    for (size_t i = 0; i < in->copy.heredocs.len && rc == 0; i++) {
        const kn_instr_heredoc_src *h = &in->copy.heredocs.items[i];
        kn_autofree char *body = NULL;
        if (h->expand) {
            kn_expand_env env = {kn_expand_lookup_kv, NULL, &st->env};
            rc = kn_expand_heredoc(h->data ? h->data : "", &env, &body, err);
        } else {
            body = kn_xstrdup(h->data ? h->data : "");
        }
        kn_buf_addf(created_by, " <<%s", h->name);
        if (rc == 0)
            rc = kn_write_file_atomic(dir, h->name, body, strlen(body), 0644, err);
        if (rc == 0)
            rc = kn_copy(dir, h->name, dstroot, dest, dest_is_dir, &ho, err);
    }
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_remove_tree(b->s->workfd, work, &ignored);
    return rc;
}

static bool is_ignored(void *ctx, const char *path)
{
    return kn_dockerignore_matches(ctx, path);
}

/* The root a COPY --from reads: a stage's or an image's filesystem
 * (*snap), or a local named context (*ctx, its index). */
static int mount_source(build *b, size_t st_index, const kn_instr *in, kn_snapshot **snap,
                        long *ctx, stage_state *tmp, kn_err *err)
{
    /* The graph already resolved --from (G-11, G-16): a stage, a named
     * context, else an image. */
    const kn_graph_stage *gs = &b->g->stages.items[st_index];
    long stage = -1;
    const char *image = in->copy.from;
    *ctx = -1;
    for (size_t i = 0; i < gs->edges.len; i++) {
        const kn_graph_edge *e = &gs->edges.items[i];
        if (e->instr == in && e->kind == KN_GRAPH_EDGE_COPY) {
            stage = e->stage;
            *ctx = e->context;
            if (e->image)
                image = e->image;
        }
    }
    if (*ctx >= 0 && stage < 0) {
        if (b->g->contexts.items[*ctx].kind == KN_GRAPH_CONTEXT_LOCAL)
            return 0;
        if (context_image(b, *ctx, gs->platform, &image, err) < 0)
            return -1;
    }
    *ctx = -1;
    if (stage >= 0)
        return mount_stage(b, &b->states[stage].layers, snap, err);
    if (start_from_image(b, tmp, image, err) < 0)
        return -1;
    return mount_stage(b, &tmp->layers, snap, err);
}

static int do_copy(build *b, stage_state *st, const kn_instr *in, int context_fd, char escape,
                   kn_err *err)
{
    for (size_t i = 0; in->kind == KN_INSTR_ADD && i < in->copy.sources.len; i++) {
        const char *src = in->copy.sources.items[i];
        if (strstr(src, "://") || !strncmp(src, "git@", 4))
            return kn_errf(err, KN_EINPUT, "ADD of URLs and git sources is not built yet: %s", src);
    }
    kn_autofree char *dest_raw = NULL;
    if (expand(st, in->copy.dest, escape, &dest_raw, err) < 0)
        return -1;
    size_t dl = strlen(dest_raw);
    bool dest_is_dir = dl == 0 || dest_raw[dl - 1] == '/' || !strcmp(dest_raw, ".") ||
                       (dl >= 2 && !strcmp(dest_raw + dl - 2, "/."));
    kn_autofree char *dest = abs_in_workdir(st, dest_raw);
    kn_autobuf kn_buf created_by = KN_BUF_INIT;
    kn_buf_adds(&created_by, in->kind == KN_INSTR_ADD ? "ADD" : "COPY");
    kn_copy_opts o = {.cancel = &b->sch->stop};
    kn_snapshot *snap = NULL, *src_snap = NULL;
    stage_state tmp = {0};
    if (mount_stage(b, &st->layers, &snap, err) < 0)
        return -1;
    kn_autoclose int rootfd = open_dir_path(snap->merged, err);
    int rc = rootfd < 0 ? -1 : 0;
    if (rc == 0 && in->copy.chown) {
        kn_autofree char *chown = NULL;
        rc = expand(st, in->copy.chown, escape, &chown, err);
        if (rc == 0) {
            resolve_chown(rootfd, chown, &o);
            kn_buf_addf(&created_by, " --chown=%s", chown);
        }
    }
    if (rc == 0 && in->copy.chmod) {
        kn_autofree char *chmod = NULL;
        rc = expand(st, in->copy.chmod, escape, &chmod, err);
        /* F-18; an empty value (after expansion) sets nothing, as in BuildKit. */
        if (rc == 0 && *chmod)
            rc = kn_chmod_parse(chmod, &o.chmod, err);
        if (rc == 0 && *chmod) {
            o.has_chmod = true;
            kn_buf_addf(&created_by, " --chmod=%s", chmod);
        }
    }
    int srcroot = context_fd;
    if (b->o->ignore && !in->copy.from) {
        o.is_excluded = is_ignored;
        o.exclude_ctx = (void *)b->o->ignore;
        o.may_reinclude = kn_dockerignore_has_exclusions(b->o->ignore);
    }
    kn_autoclose int src_fd = -1;
    long ctx = -1;
    if (rc == 0 && in->copy.from)
        rc = mount_source(b, (size_t)(st - b->states), in, &src_snap, &ctx, &tmp, err);
    if (rc == 0 && ctx >= 0) {
        /* A local named context: like the build context, with its own
         * .dockerignore (G-17). */
        srcroot = b->context_fds[ctx];
        kn_dockerignore *ignore = b->context_ignores[ctx];
        o.is_excluded = ignore ? is_ignored : NULL;
        o.exclude_ctx = ignore;
        o.may_reinclude = ignore && kn_dockerignore_has_exclusions(ignore);
    } else if (rc == 0 && in->copy.from) {
        o.keep_owner = true;
        o.is_excluded = NULL;
        if ((src_fd = open_dir_path(src_snap->merged, err)) < 0)
            rc = -1;
        srcroot = src_fd;
    }
    if (rc == 0)
        rc = copy_sources(b, st, in, srcroot, rootfd, dest, dest_is_dir, &o, escape, &created_by,
                          err);
    if (rc == 0 && in->copy.heredocs.len)
        rc = copy_heredocs(b, st, in, rootfd, dest, dest_is_dir, &o, &created_by, err);
    /* Open fds keep the mounts busy: unmounting would wait, then detach. */
    if (rootfd >= 0)
        close(kn_steal_fd(&rootfd));
    if (src_fd >= 0)
        close(kn_steal_fd(&src_fd));
    if (rc == 0) {
        kn_buf_addf(&created_by, " %s # buildkit", dest_raw);
        rc = finish_snapshot(b, st, snap, created_by.data, err);
    }
    kn_snapshot_free(src_snap);
    kn_snapshot_free(snap);
    state_free(&tmp);
    return rc;
}

/* A local directory as a base (G-16: its files, no config), as BuildKit
 * takes a local source for a root: one layer of its files but those its
 * .dockerignore excludes, owners kept. */
static int start_from_dir(build *b, stage_state *st, const kn_graph_stage *gs, long ctx,
                          kn_err *err)
{
    start_scratch(st, gs->platform);
    kn_dockerignore *ignore = b->context_ignores[ctx];
    kn_copy_opts o = {.cancel = &b->sch->stop,
                      .keep_owner = true,
                      .is_excluded = ignore ? is_ignored : NULL,
                      .exclude_ctx = ignore,
                      .may_reinclude = ignore && kn_dockerignore_has_exclusions(ignore)};
    kn_snapshot *snap = NULL;
    if (mount_stage(b, &st->layers, &snap, err) < 0)
        return -1;
    kn_autoclose int rootfd = open_dir_path(snap->merged, err);
    int rc = rootfd < 0 ? -1 : kn_copy(b->context_fds[ctx], ".", rootfd, "/", true, &o, err);
    if (rootfd >= 0)
        close(kn_steal_fd(&rootfd)); /* an open fd keeps the mount busy */
    if (rc == 0) {
        kn_autobuf kn_buf created_by = KN_BUF_INIT;
        kn_buf_addf(&created_by, "build context %s", b->g->contexts.items[ctx].name);
        rc = finish_snapshot(b, st, snap, created_by.data, err);
    }
    kn_snapshot_free(snap);
    return rc;
}

static int start_stage(build *b, size_t i, kn_err *err)
{
    const kn_graph_stage *gs = &b->g->stages.items[i];
    stage_state *st = &b->states[i];
    const kn_graph_context *ctx =
        gs->base_kind == KN_GRAPH_BASE_CONTEXT ? &b->g->contexts.items[gs->context] : NULL;
    if (gs->base_kind == KN_GRAPH_BASE_STAGE) {
        start_from_stage(st, &b->states[gs->base_stage]);
        return 0;
    }
    if (ctx && ctx->kind == KN_GRAPH_CONTEXT_TARGET) {
        start_from_stage(st, &b->states[ctx->stage]);
        return 0;
    }
    int rc = 0;
    if (gs->base_kind == KN_GRAPH_BASE_IMAGE)
        rc = start_from_image(b, st, gs->base_full, err);
    else if (gs->base_kind == KN_GRAPH_BASE_SCRATCH)
        start_scratch(st, gs->platform);
    else if (ctx->kind == KN_GRAPH_CONTEXT_LOCAL)
        rc = start_from_dir(b, st, gs, gs->context, err);
    else {
        const char *image = NULL;
        rc = context_image(b, gs->context, gs->platform, &image, err);
        if (rc == 0)
            rc = start_from_image(b, st, image, err);
    }
    if (rc < 0)
        return -1;
    /* C-4: PATH is added to the config when missing; Env seeds the stage env. */
    if (!kn_config_get_env(st->cfg, "PATH"))
        kn_config_set_env(st->cfg, "PATH", DEFAULT_PATH);
    push_strings(&st->env, json_object_get(config_obj(st->cfg), "Env"));
    return 0;
}

/* ---- config steps (C-5 .. C-13) ---- */

static void json_argv(json_t *c, const char *field, const kn_instr_cmdline *cmd, json_t *cfg)
{
    json_t *arr = json_array();
    if (cmd->is_exec) {
        for (size_t i = 0; i < cmd->argv.len; i++)
            json_array_append_new(arr, kn_json_string_lossy(cmd->argv.items[i]));
    } else {
        json_t *shell = json_object_get(config_obj(cfg), "Shell");
        if (json_is_array(shell) && json_array_size(shell)) {
            size_t i;
            json_t *v;
            json_array_foreach(shell, i, v) json_array_append(arr, v);
        } else {
            json_array_append_new(arr, json_string("/bin/sh"));
            json_array_append_new(arr, json_string("-c"));
        }
        json_array_append_new(arr, kn_json_string_lossy(cmd->text));
    }
    json_object_set_new(c, field, arr);
}

static char *quoted_argv(json_t *arr)
{
    kn_buf out = KN_BUF_INIT;
    kn_buf_adds(&out, "[");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) kn_buf_addf(&out, "%s\"%s\"", i ? " " : "", json_string_value(v));
    kn_buf_adds(&out, "]");
    return kn_buf_release(&out);
}

static int do_arg(build *b, stage_state *st, const kn_instr *in, char escape, kn_buf *created_by,
                  kn_err *err)
{
    kn_buf_adds(created_by, "ARG");
    for (size_t i = 0; i < in->arg.defs.len; i++) {
        const kn_instr_arg_def *def = &in->arg.defs.items[i];
        /* A-4: build arg, else default, else the global value, else unset. */
        const char *given = build_arg(b, def->key);
        kn_autofree char *value = NULL;
        if (given) {
            value = kn_xstrdup(given);
        } else if (def->value) {
            if (expand(st, def->value, escape, &value, err) < 0)
                return -1;
        } else {
            const char *global = kn_expand_lookup_kv((void *)&b->g->global_scope, def->key);
            if (global)
                value = kn_xstrdup(global);
        }
        if (value)
            env_set(st, def->key, value);
        if (kn_strvec_find(&st->args, def->key) < 0) {
            kn_strvec_push(&st->args, def->key);
            kn_strvec_push(&st->arg_defaults, def->value ? def->value : "");
        }
        if (value)
            kn_buf_addf(created_by, " %s=%s", def->key, value);
        else
            kn_buf_addf(created_by, " %s", def->key);
    }
    return 0;
}

static int do_expose(stage_state *st, const kn_instr *in, char escape, kn_buf *created_by,
                     kn_err *err)
{
    kn_strvec ports = KN_STRVEC_INIT;
    kn_expand_env env = {kn_expand_lookup_kv, NULL, &st->env};
    int rc = 0;
    for (size_t i = 0; i < in->ports.len && rc == 0; i++)
        rc = kn_expand_words(in->ports.items[i], escape, &env, &ports, err);
    kn_buf_adds(created_by, "EXPOSE [");
    for (size_t i = 0; i < ports.len && rc == 0; i++) {
        kn_autobuf kn_buf key = KN_BUF_INIT;
        kn_buf_adds(&key, ports.items[i]);
        if (!strchr(ports.items[i], '/'))
            kn_buf_adds(&key, "/tcp");
        for (char *p = key.data; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        kn_config_add_exposed_port(st->cfg, key.data);
        kn_buf_addf(created_by, "%s%s", i ? " " : "", key.data);
    }
    kn_buf_adds(created_by, "]");
    kn_strvec_free(&ports);
    return rc;
}

static int do_config(build *b, stage_state *st, const kn_instr *in, char escape, kn_err *err)
{
    kn_autobuf kn_buf created_by = KN_BUF_INIT;
    json_t *c = config_obj(st->cfg);
    switch (in->kind) {
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL: {
        bool is_env = in->kind == KN_INSTR_ENV;
        kn_buf_adds(&created_by, is_env ? "ENV" : "LABEL");
        /* X-15: every pair sees the env from before the instruction. */
        stage_state before = {.env = KN_STRVEC_INIT};
        for (size_t i = 0; i < st->env.len; i++)
            kn_strvec_push(&before.env, st->env.items[i]);
        int rc = 0;
        for (size_t i = 0; i < in->env.pairs.len && rc == 0; i++) {
            kn_autofree char *key = NULL, *value = NULL;
            rc = expand(&before, in->env.pairs.items[i].key, escape, &key, err);
            if (rc == 0)
                rc = expand(&before, in->env.pairs.items[i].value, escape, &value, err);
            if (rc < 0)
                break;
            if (is_env) {
                kn_config_set_env(st->cfg, key, value);
                env_set(st, key, value);
            } else {
                kn_config_set_label(st->cfg, key, value);
            }
            kn_buf_addf(&created_by, " %s=%s", key, value);
        }
        kn_strvec_free(&before.env);
        if (rc < 0)
            return -1;
        break;
    }
    case KN_INSTR_ARG:
        if (do_arg(b, st, in, escape, &created_by, err) < 0)
            return -1;
        break;
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT: {
        bool is_cmd = in->kind == KN_INSTR_CMD;
        json_argv(c, is_cmd ? "Cmd" : "Entrypoint", &in->cmd, st->cfg);
        if (is_cmd)
            st->is_cmd_set = true;
        else if (!st->is_cmd_set)
            json_object_set_new(c, "Cmd", json_null()); /* C-6 */
        kn_autofree char *q = quoted_argv(json_object_get(c, is_cmd ? "Cmd" : "Entrypoint"));
        kn_buf_addf(&created_by, "%s %s", is_cmd ? "CMD" : "ENTRYPOINT", q);
        break;
    }
    case KN_INSTR_SHELL: {
        json_t *arr = json_array();
        for (size_t i = 0; i < in->shell.argv.len; i++)
            json_array_append_new(arr, kn_json_string_lossy(in->shell.argv.items[i]));
        json_object_set_new(c, "Shell", arr);
        kn_autofree char *joined =
            join_argv((const char *const *)in->shell.argv.items, in->shell.argv.len);
        kn_buf_addf(&created_by, "SHELL [%s]", joined);
        break;
    }
    case KN_INSTR_USER:
    case KN_INSTR_STOPSIGNAL: {
        kn_autofree char *value = NULL;
        if (expand(st, in->value, escape, &value, err) < 0)
            return -1;
        bool is_user = in->kind == KN_INSTR_USER;
        kn_config_set_string(st->cfg, is_user ? "User" : "StopSignal", value);
        kn_buf_addf(&created_by, "%s %s", is_user ? "USER" : "STOPSIGNAL", value);
        break;
    }
    case KN_INSTR_MAINTAINER:
        json_object_set_new(st->cfg, "author", kn_json_string_lossy(in->value));
        kn_buf_addf(&created_by, "MAINTAINER %s", in->value);
        break;
    case KN_INSTR_VOLUME:
        kn_buf_adds(&created_by, "VOLUME [");
        for (size_t i = 0; i < in->volumes.len; i++) {
            kn_autofree char *v = NULL;
            if (expand(st, in->volumes.items[i], escape, &v, err) < 0)
                return -1;
            kn_config_add_volume(st->cfg, v);
            kn_buf_addf(&created_by, "%s%s", i ? " " : "", v);
        }
        kn_buf_adds(&created_by, "]");
        break;
    case KN_INSTR_EXPOSE:
        if (do_expose(st, in, escape, &created_by, err) < 0)
            return -1;
        break;
    case KN_INSTR_ONBUILD: {
        json_t *list = json_object_get(c, "OnBuild");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(c, "OnBuild", list);
        }
        json_array_append_new(list, kn_json_string_lossy(in->onbuild.expression));
        return 0; /* C-11: ONBUILD adds no history */
    }
    case KN_INSTR_HEALTHCHECK: {
        json_t *h = json_object();
        json_t *test = json_array();
        for (size_t i = 0; i < in->health.test.len; i++)
            json_array_append_new(test, kn_json_string_lossy(in->health.test.items[i]));
        json_object_set_new(h, "Test", test);
        const struct {
            const char *key;
            int64_t v;
        } durations[] = {{"Interval", in->health.interval},
                         {"Timeout", in->health.timeout},
                         {"StartPeriod", in->health.start_period},
                         {"StartInterval", in->health.start_interval}};
        for (size_t i = 0; i < KN_ARRAY_LEN(durations); i++)
            if (durations[i].v)
                json_object_set_new(h, durations[i].key, json_integer(durations[i].v));
        if (in->health.retries)
            json_object_set_new(h, "Retries", json_integer(in->health.retries));
        json_object_set_new(c, "Healthcheck", h);
        kn_buf_addf(&created_by, "HEALTHCHECK %s", in->node->original);
        break;
    }
    default:
        return kn_errf(err, KN_EINPUT, "%s is not built yet", kn_instr_kind_name(in->kind));
    }
    history(b, st, created_by.data);
    return 0;
}

/* ---- stages ---- */

static int run_instr(build *b, stage_state *st, const kn_instr *in, char escape, kn_err *err)
{
    switch (in->kind) {
    case KN_INSTR_RUN:
        return do_run(b, st, in, err);
    case KN_INSTR_WORKDIR:
        return do_workdir(b, st, in, escape, err);
    case KN_INSTR_COPY:
    case KN_INSTR_ADD:
        return do_copy(b, st, in, b->o->context_fd, escape, err);
    default:
        return do_config(b, st, in, escape, err);
    }
}

static int step(build *b, size_t index, const char *text, const char *file, int line,
                int (*fn)(build *, void *, kn_err *), void *arg, kn_err *err)
{
    if (b->sch->stop)
        return kn_errf(err, EINTR, "interrupted");
    b->step = ++b->sch->last_step;
    b->index = index;
    b->text = text;
    emit(b, KN_BUILD_STEP_START, NULL, 0, 0, NULL);
    double start = now_seconds();
    if (fn(b, arg, err) < 0) {
        if (!err->file)
            kn_err_set_pos(err, file, line);
        if (b->sch->stop && err->code == EINTR) /* stopped by another step or a signal */
            emit(b, KN_BUILD_STEP_CANCELED, NULL, 0, now_seconds() - start, NULL);
        else
            emit(b, KN_BUILD_STEP_ERROR, NULL, 0, now_seconds() - start, err->msg);
        return -1;
    }
    emit(b, KN_BUILD_STEP_DONE, NULL, 0, now_seconds() - start, NULL);
    return 0;
}

typedef struct instr_step {
    stage_state *st;
    const kn_instr *in;
    char escape;
} instr_step;

static int instr_fn(build *b, void *arg, kn_err *err)
{
    instr_step *s = arg;
    return run_instr(b, s->st, s->in, s->escape, err);
}

static int from_fn(build *b, void *arg, kn_err *err)
{
    return start_stage(b, *(size_t *)arg, err);
}

/* An ONBUILD trigger of the base image, parsed now (G-24) and run as a step
 * at the FROM line. */
static int run_trigger(build *b, stage_state *st, const char *text, const char *file, int line,
                       kn_err *err)
{
    kn_df *df = kn_df_parse(file, text, strlen(text), err);
    if (!df)
        return kn_err_set_pos(err, file, line), -1;
    int rc = 0;
    kn_instr *in = NULL;
    if (df->nodes.len != 1)
        rc = kn_errf(err, KN_EINPUT, "ONBUILD trigger %s: not one instruction", text);
    else if (!(in = kn_instr_parse(df->nodes.items[0], file, err)))
        rc = -1;
    if (rc == 0) {
        kn_autobuf kn_buf shown = KN_BUF_INIT;
        kn_buf_addf(&shown, "ONBUILD %s", text);
        instr_step s = {st, in, df->escape};
        rc = step(b, 1, shown.data, file, line, instr_fn, &s, err);
    } else {
        kn_err_set_pos(err, file, line);
    }
    kn_instr_free(in);
    kn_df_free(df);
    return rc;
}

static bool is_dep(size_t self, long dep)
{
    return dep >= 0 && (size_t)dep != self;
}

/* Before instruction `in` of stage i: waits until the stages it copies or
 * mounts from are built (a stage started early), or the build stops. */
static int wait_for_sources(build *b, size_t i, const kn_instr *in, kn_err *err)
{
    sched *sc = b->sch;
    const kn_graph_stage *gs = &b->g->stages.items[i];
    for (size_t k = 0; k < gs->edges.len; k++) {
        const kn_graph_edge *e = &gs->edges.items[k];
        if (e->instr != in || !is_dep(i, e->stage))
            continue;
        while (sc->status[e->stage] != STAGE_DONE && !sc->stop)
            pthread_cond_wait(&sc->changed, &sc->lock);
        if (sc->stop)
            return kn_errf(err, EINTR, "interrupted");
    }
    return 0;
}

static int build_stage(build *b, size_t i, kn_err *err)
{
    const kn_graph_stage *gs = &b->g->stages.items[i];
    const kn_instr_stage *is = gs->stage;
    const kn_df *df = b->g->d->df;
    b->stage_name = gs->name;
    b->count = gs->is_replaced ? 1 : is->instrs.len + 1;
    kn_autobuf kn_buf from_text = KN_BUF_INIT;
    bool is_context = gs->base_kind == KN_GRAPH_BASE_CONTEXT;
    kn_buf_addf(&from_text, "FROM %s", gs->base_full && !is_context ? gs->base_full : gs->base_ref);
    if (step(b, 1, from_text.data, df->path, is->from->line, from_fn, &i, err) < 0)
        return -1;
    stage_state *st = &b->states[i];
    for (size_t k = 0; k < st->triggers.len && !gs->is_replaced; k++) {
        b->stage_name = gs->name;
        if (run_trigger(b, st, st->triggers.items[k], df->path, is->from->line, err) < 0)
            return -1;
    }
    /* G-24: a base stage's ONBUILD triggers too, as the graph parsed them,
     * so that their --from edges are found like any instruction's. */
    const kn_instr_stage *base =
        gs->base_kind == KN_GRAPH_BASE_STAGE ? b->g->stages.items[gs->base_stage].stage : NULL;
    for (size_t k = 0; base && k < base->instrs.len && !gs->is_replaced; k++) {
        const kn_instr *on = base->instrs.items[k];
        if (on->kind != KN_INSTR_ONBUILD || !on->onbuild.trigger)
            continue;
        if (wait_for_sources(b, i, on->onbuild.trigger, err) < 0)
            return -1;
        b->stage_name = gs->name;
        instr_step s = {st, on->onbuild.trigger, df->escape};
        if (step(b, 1, on->node->original, df->path, is->from->line, instr_fn, &s, err) < 0)
            return -1;
    }
    /* G-16: a stage a named context replaces runs none of its instructions. */
    for (size_t k = 0; k < is->instrs.len && !gs->is_replaced; k++) {
        const kn_instr *in = is->instrs.items[k];
        if (wait_for_sources(b, i, in, err) < 0)
            return -1;
        b->stage_name = gs->name;
        b->count = is->instrs.len + 1;
        instr_step s = {st, in, df->escape};
        if (step(b, k + 2, in->node->original, df->path, in->line, instr_fn, &s, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- the scheduler ---- */

/* Post-order from the outputs: every stage after the ones it needs. */
static void add_needed(sched *sc, const kn_graph *g, size_t i)
{
    if (sc->status[i] != STAGE_UNNEEDED)
        return;
    sc->status[i] = STAGE_WAITING;
    const kn_graph_stage *gs = &g->stages.items[i];
    for (size_t k = 0; k < gs->edges.len; k++)
        if (is_dep(i, gs->edges.items[k].stage))
            add_needed(sc, g, (size_t)gs->edges.items[k].stage);
    sc->order[sc->n_order++] = i;
}

/* Whether the stages stage i needs are built: all of them, or only its base
 * (is_base_only). */
static bool is_ready(const sched *sc, const kn_graph *g, size_t i, bool is_base_only)
{
    const kn_graph_stage *gs = &g->stages.items[i];
    for (size_t k = 0; k < gs->edges.len; k++) {
        const kn_graph_edge *e = &gs->edges.items[k];
        if (is_base_only && e->kind != KN_GRAPH_EDGE_FROM)
            continue;
        if (is_dep(i, e->stage) && sc->status[e->stage] != STAGE_DONE)
            return false;
    }
    return true;
}

/* The first waiting stage in `order` whose dependencies are built; else,
 * like BuildKit, which runs steps rather than stages, the first whose base is
 * built, so that its steps before a COPY --from run meanwhile (*is_early).
 * Such a stage waits at that COPY, so one worker is always kept for stages
 * that can run to their end: with it, every wait ends. -1 when no stage can
 * start (*is_waiting: some stage still waits). */
static long pick_stage(const sched *sc, const kn_graph *g, bool *is_waiting, bool *is_early)
{
    *is_waiting = false;
    *is_early = false;
    for (size_t k = 0; k < sc->n_order; k++) {
        size_t i = sc->order[k];
        if (sc->status[i] != STAGE_WAITING)
            continue;
        *is_waiting = true;
        if (is_ready(sc, g, i, false))
            return (long)i;
    }
    if (sc->n_early + 1 >= sc->n_threads)
        return -1;
    for (size_t k = 0; k < sc->n_order; k++) {
        size_t i = sc->order[k];
        if (sc->status[i] == STAGE_WAITING && is_ready(sc, g, i, true)) {
            *is_early = true;
            return (long)i;
        }
    }
    return -1;
}

static bool is_any_running(const sched *sc)
{
    for (size_t k = 0; k < sc->n_order; k++)
        if (sc->status[sc->order[k]] == STAGE_RUNNING)
            return true;
    return false;
}

/* A worker thread: builds ready stages until none is left or the build
 * stops. SIGINT and SIGTERM are left to the main thread. */
static void *worker(void *arg)
{
    build *b = arg;
    sched *sc = b->sch;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    pthread_mutex_lock(&sc->lock);
    while (!sc->stop) {
        bool is_waiting, is_early;
        long i = pick_stage(sc, b->g, &is_waiting, &is_early);
        if (i < 0) {
            if (!is_waiting || !is_any_running(sc))
                break;
            pthread_cond_wait(&sc->changed, &sc->lock);
            continue;
        }
        sc->status[i] = STAGE_RUNNING;
        sc->n_early += is_early;
        kn_err err = KN_ERR_INIT;
        int rc = build_stage(b, (size_t)i, &err);
        sc->n_early -= is_early;
        if (rc == 0) {
            sc->status[i] = STAGE_DONE;
        } else {
            /* The first failure is the build's; the rest are its echoes. */
            if (!sc->is_failed) {
                sc->is_failed = true;
                sc->err = err;
            } else {
                kn_err_clear(&err);
            }
            sc->stop = 1;
        }
        pthread_cond_broadcast(&sc->changed);
    }
    pthread_mutex_lock(&sc->events);
    sc->n_workers--;
    pthread_cond_signal(&sc->done);
    pthread_mutex_unlock(&sc->events);
    pthread_cond_broadcast(&sc->changed);
    pthread_mutex_unlock(&sc->lock);
    return NULL;
}

static size_t default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* Builds the outputs' stages with up to `jobs` workers; the calling thread
 * meanwhile watches for a cancel (a signal handler's flag) and ticks, with
 * the events lock only, so neither waits for a step that holds the
 * scheduler's lock. */
static int run_workers(build *b, size_t jobs, kn_err *err)
{
    sched *sc = b->sch;
    size_t n = jobs < sc->n_order ? jobs : sc->n_order;
    build *workers = kn_xcalloc(n + 1, sizeof(*workers));
    pthread_t *threads = kn_xcalloc(n + 1, sizeof(*threads));
    size_t started = 0;
    pthread_mutex_lock(&sc->lock);
    for (size_t k = 0; k < n; k++) {
        workers[k] = *b;
        if (pthread_create(&threads[k], NULL, worker, &workers[k]) != 0)
            break;
        started++;
        pthread_mutex_lock(&sc->events);
        sc->n_workers++;
        pthread_mutex_unlock(&sc->events);
        sc->n_threads++;
    }
    pthread_mutex_unlock(&sc->lock);
    if (started == 0) {
        free(workers);
        free(threads);
        return kn_errf(err, EAGAIN, "start a build worker");
    }
    pthread_mutex_lock(&sc->events);
    while (sc->n_workers > 0) {
        if (b->o->cancel && *b->o->cancel && !atomic_exchange(&sc->stop, 1)) {
            /* Seen at once by running steps; stages waiting for others
             * need the broadcast, under the scheduler's lock (taken before
             * the events lock, never after). */
            pthread_mutex_unlock(&sc->events);
            pthread_mutex_lock(&sc->lock);
            pthread_cond_broadcast(&sc->changed);
            pthread_mutex_unlock(&sc->lock);
            pthread_mutex_lock(&sc->events);
        }
        if (b->o->event) {
            kn_build_event tick = {.kind = KN_BUILD_TICK};
            b->o->event(b->o->event_ctx, &tick);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L; /* a signal is noticed within 50 ms */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sc->done, &sc->events, &until);
    }
    pthread_mutex_unlock(&sc->events);
    for (size_t k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    free(workers);
    free(threads);
    if (sc->is_failed) {
        *err = sc->err;
        sc->err = (kn_err)KN_ERR_INIT;
        return -1;
    }
    if (b->o->cancel && *b->o->cancel)
        return kn_errf(err, EINTR, "interrupted");
    return 0;
}

/* ---- output ---- */

static int record_output(build *b, const kn_build_output *out, kn_digest *id, kn_err *err)
{
    stage_state *st = &b->states[out->stage];
    kn_config_set_created(st->cfg, b->now);
    size_t config_len = 0, manifest_len = 0;
    kn_autofree char *config = kn_config_encode(st->cfg, &config_len);
    kn_digest config_digest, manifest_digest;
    if (kn_store_blob_put(b->s, config, config_len, &config_digest, err) < 0)
        return -1;
    kn_manifest m = {0};
    m.media_type = (char *)KN_MT_OCI_MANIFEST;
    m.config.media_type = (char *)KN_MT_OCI_CONFIG;
    m.config.digest = config_digest;
    m.config.size = (int64_t)config_len;
    m.layers = kn_xcalloc(st->layers.len + 1, sizeof(*m.layers));
    m.n_layers = st->layers.len;
    for (size_t i = 0; i < st->layers.len; i++) {
        m.layers[i].media_type = (char *)st->layers.items[i].media_type;
        m.layers[i].digest = st->layers.items[i].blob;
        m.layers[i].size = (int64_t)st->layers.items[i].blob_size;
    }
    kn_autofree char *manifest = kn_manifest_encode(&m, &manifest_len);
    free(m.layers);
    if (kn_store_blob_put(b->s, manifest, manifest_len, &manifest_digest, err) < 0)
        return -1;
    const char *os = json_string_value(json_object_get(st->cfg, "os"));
    const char *arch = json_string_value(json_object_get(st->cfg, "architecture"));
    kn_store_image img = {
        .manifest = manifest_digest,
        .manifest_size = manifest_len,
        .manifest_media_type = KN_MT_OCI_MANIFEST,
        .config = config_digest,
        .config_size = config_len,
        .config_media_type = KN_MT_OCI_CONFIG,
        .layers = st->layers.items,
        .n_layers = st->layers.len,
        .created = b->now,
        .os = os ? os : "",
        .arch = arch ? arch : "",
        .variant = json_string_value(json_object_get(st->cfg, "variant")),
        .names = out->names,
        .n_names = out->n_names,
    };
    if (kn_store_image_add(b->s, &img, 1, NULL, err) < 0)
        return -1;
    *id = config_digest;
    return 0;
}

int kn_build_run(kn_store *s, const kn_build_opts *o, kn_digest *ids, kn_err *err)
{
    sched sc = {.lock = PTHREAD_MUTEX_INITIALIZER,
                .changed = PTHREAD_COND_INITIALIZER,
                .events = PTHREAD_MUTEX_INITIALIZER,
                .done = PTHREAD_COND_INITIALIZER,
                .err = KN_ERR_INIT};
    build b = {.sch = &sc, .s = s, .o = o, .g = o->graph, .now = (int64_t)time(NULL), .epoch = -1};
    if (kn_store_hold(s, err) < 0)
        return -1;
    kn_snapshot_sweep_mounts(s);
    b.runtime = o->runtime ? kn_xstrdup(o->runtime) : kn_runtime_find(err);
    if (!b.runtime)
        return -1;
    for (size_t i = 0; i < o->n_build_args; i++)
        kn_strvec_push(&b.build_args, o->build_args[i]);
    /* C-19: SOURCE_DATE_EPOCH from a build arg or a global ARG default sets
     * history and image times and clamps the layers' mtimes. */
    const char *epoch = build_arg(&b, "SOURCE_DATE_EPOCH");
    if (!epoch || !*epoch)
        epoch = kn_expand_lookup_kv((void *)&b.g->global_scope, "SOURCE_DATE_EPOCH");
    if (epoch && *epoch) {
        char *end = NULL;
        long long v = strtoll(epoch, &end, 10);
        if (*end || v < 0) {
            kn_strvec_free(&b.build_args);
            free(b.runtime);
            return kn_errf(err, KN_EINPUT, "invalid SOURCE_DATE_EPOCH: %s", epoch);
        }
        b.epoch = b.now = (int64_t)v;
    }
    b.states = kn_xcalloc(b.g->stages.len + 1, sizeof(*b.states));
    size_t n_ctx = b.g->contexts.len;
    b.context_fds = kn_xcalloc(n_ctx + 1, sizeof(*b.context_fds));
    b.context_ignores = kn_xcalloc(n_ctx + 1, sizeof(*b.context_ignores));
    kn_map layout_images;
    kn_map_init(&layout_images, free);
    b.layout_images = &layout_images;
    int rc = 0;
    for (size_t i = 0; i < n_ctx; i++) {
        const kn_graph_context *c = &b.g->contexts.items[i];
        b.context_fds[i] = -1;
        if (c->kind != KN_GRAPH_CONTEXT_LOCAL || rc < 0)
            continue;
        b.context_fds[i] = open(c->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b.context_fds[i] < 0)
            rc = kn_errf(err, KN_EINPUT, "build context %s=%s: %s", c->name, c->source,
                         strerror(errno));
        else if (kn_dockerignore_load(b.context_fds[i], ".dockerignore", &b.context_ignores[i],
                                      err) < 0)
            rc = kn_err_wrap(err, "build context %s", c->name);
    }
    if (rc == 0)
        rc = kn_store_defer_sync(s, true, err);
    sc.status = kn_xcalloc(b.g->stages.len + 1, sizeof(*sc.status));
    sc.order = kn_xcalloc(b.g->stages.len + 1, sizeof(*sc.order));
    for (size_t i = 0; i < o->n_outputs; i++)
        add_needed(&sc, b.g, o->outputs[i].stage);
    if (rc == 0)
        rc = run_workers(&b, o->jobs ? o->jobs : default_jobs(), err);
    /* The images' records (synchronous again) make the steps' durable too. */
    kn_autoerr kn_err sync_err = KN_ERR_INIT;
    if (kn_store_defer_sync(s, false, &sync_err) < 0 && rc == 0) {
        *err = sync_err;
        sync_err = (kn_err)KN_ERR_INIT;
        rc = -1;
    }
    for (size_t i = 0; i < o->n_outputs && rc == 0; i++)
        rc = record_output(&b, &o->outputs[i], &ids[i], err);
    for (size_t i = 0; i < b.g->stages.len; i++)
        state_free(&b.states[i]);
    free(b.states);
    for (size_t i = 0; i < n_ctx; i++) {
        if (b.context_fds[i] >= 0)
            close(b.context_fds[i]);
        kn_dockerignore_free(b.context_ignores[i]);
    }
    free(b.context_fds);
    free(b.context_ignores);
    kn_map_free(&layout_images);
    free(sc.status);
    free(sc.order);
    kn_strvec_free(&b.build_args);
    free(b.runtime);
    return rc;
}
