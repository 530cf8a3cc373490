#include "image/config.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A config is small (tens of KiB for thousands of history entries); more
 * than this is not an image config. */
#define CONFIG_MAX (8u << 20)
#define ITEMS_MAX 10000

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years Go's RFC 3339
 * parser takes, so every time kiln writes, kiln and docker can read back. */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- validation ---- */

static int field_errf(kn_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int field_errf(kn_err *err, const char *field, const char *fmt, ...)
{
    kn_autobuf kn_buf msg = KN_BUF_INIT;
    kn_buf_addf(&msg, "%s: ", field);
    va_list ap;
    va_start(ap, fmt);
    kn_buf_addvf(&msg, fmt, ap);
    va_end(ap);
    return kn_errf(err, KN_EINPUT, "%s", msg.data);
}

static const char *type_name(const json_t *v)
{
    return kn_json_type_name(json_typeof(v));
}

typedef enum shape {
    SHAPE_STRING,
    SHAPE_BOOL,
    SHAPE_INT,
    SHAPE_OBJECT,
    SHAPE_STRINGS,    /* array of strings */
    SHAPE_STRING_MAP, /* object of strings */
} shape;

static const char *const shape_names[] = {
    "string", "boolean", "integer", "object", "array of strings", "object of strings",
};

/* Checks v against shape s; `field` names it in the error ("config.Env"). */
static int check_shape(const json_t *v, shape s, const char *field, kn_err *err)
{
    bool is_ok = false;
    switch (s) {
    case SHAPE_STRING:
        is_ok = json_is_string(v);
        break;
    case SHAPE_BOOL:
        is_ok = json_is_boolean(v);
        break;
    case SHAPE_INT:
        is_ok = json_is_integer(v);
        break;
    case SHAPE_OBJECT:
    case SHAPE_STRING_MAP:
        is_ok = json_is_object(v);
        break;
    case SHAPE_STRINGS:
        is_ok = json_is_array(v);
        break;
    }
    if (!is_ok)
        return field_errf(err, field, "expected %s, got %s", shape_names[s], type_name(v));
    if (s == SHAPE_STRINGS) {
        if (json_array_size(v) > ITEMS_MAX)
            return field_errf(err, field, "%zu entries, more than %d", json_array_size(v),
                              ITEMS_MAX);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item))
                return field_errf(err, field, "[%zu]: expected string, got %s", i, type_name(item));
        }
    } else if (s == SHAPE_STRING_MAP) {
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            if (!json_is_string(item)) {
                kn_autobuf kn_buf q = KN_BUF_INIT;
                kn_json_write_cstr(&q, key);
                return field_errf(err, field, "value of %s: expected string, got %s", q.data,
                                  type_name(item));
            }
        }
    }
    return 0;
}

/* obj[key] (named `prefix` + key in errors) has shape s; a missing key or a
 * null is fine unless is_required. Returns 1 when present, 0, or -1. */
static int check_member(const json_t *obj, const char *prefix, const char *key, shape s,
                        bool is_required, kn_err *err)
{
    kn_autobuf kn_buf field = KN_BUF_INIT;
    kn_buf_addf(&field, "%s%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (is_required)
            return field_errf(err, field.data, "missing");
        return 0;
    }
    return check_shape(v, s, field.data, err) < 0 ? -1 : 1;
}

static int check_time(const json_t *obj, const char *prefix, kn_err *err)
{
    int rc = check_member(obj, prefix, "created", SHAPE_STRING, false, err);
    if (rc <= 0)
        return rc;
    int64_t sec;
    long nsec;
    const char *s = json_string_value(json_object_get(obj, "created"));
    if (kn_time_parse(s, &sec, &nsec) < 0) {
        kn_autobuf kn_buf q = KN_BUF_INIT;
        kn_json_write_string(&q, s, strnlen(s, 64));
        return kn_errf(err, KN_EINPUT, "%screated: %s is not an RFC 3339 time", prefix, q.data);
    }
    return 0;
}

/* The runtime part: the fields Docker and OCI define, where they appear. */
static int check_runtime_config(const json_t *c, kn_err *err)
{
    static const struct {
        const char *key;
        shape s;
    } fields[] = {
        {"User", SHAPE_STRING},         {"WorkingDir", SHAPE_STRING}, {"StopSignal", SHAPE_STRING},
        {"Env", SHAPE_STRINGS},         {"Cmd", SHAPE_STRINGS},       {"Entrypoint", SHAPE_STRINGS},
        {"OnBuild", SHAPE_STRINGS},     {"Shell", SHAPE_STRINGS},     {"Labels", SHAPE_STRING_MAP},
        {"ExposedPorts", SHAPE_OBJECT}, {"Volumes", SHAPE_OBJECT},    {"Healthcheck", SHAPE_OBJECT},
        {"ArgsEscaped", SHAPE_BOOL},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(fields); i++)
        if (check_member(c, "config.", fields[i].key, fields[i].s, false, err) < 0)
            return -1;
    return 0;
}

/* Each history entry has the right field types, and at most as many of them
 * add a layer as rootfs lists (docker refuses "too many non-empty layers in
 * History section"). */
static int check_history(const json_t *cfg, size_t n_diff_ids, kn_err *err)
{
    const json_t *history = json_object_get(cfg, "history");
    if (!history || json_is_null(history))
        return 0;
    if (!json_is_array(history))
        return field_errf(err, "history", "expected array, got %s", type_name(history));
    if (json_array_size(history) > ITEMS_MAX)
        return field_errf(err, "history", "%zu entries, more than %d", json_array_size(history),
                          ITEMS_MAX);
    size_t n_layers = 0, i;
    json_t *h;
    json_array_foreach(history, i, h)
    {
        kn_autobuf kn_buf prefix = KN_BUF_INIT;
        kn_buf_addf(&prefix, "history[%zu]", i);
        if (!json_is_object(h))
            return field_errf(err, prefix.data, "expected object, got %s", type_name(h));
        kn_buf_addc(&prefix, '.');
        if (check_time(h, prefix.data, err) < 0 ||
            check_member(h, prefix.data, "created_by", SHAPE_STRING, false, err) < 0 ||
            check_member(h, prefix.data, "author", SHAPE_STRING, false, err) < 0 ||
            check_member(h, prefix.data, "comment", SHAPE_STRING, false, err) < 0 ||
            check_member(h, prefix.data, "empty_layer", SHAPE_BOOL, false, err) < 0)
            return -1;
        if (!json_is_true(json_object_get(h, "empty_layer")))
            n_layers++;
    }
    if (n_layers > n_diff_ids)
        return field_errf(err, "history", "%zu entries add a layer, but rootfs.diff_ids lists %zu",
                          n_layers, n_diff_ids);
    return 0;
}

static int check_config(const json_t *cfg, kn_err *err)
{
    if (!json_is_object(cfg))
        return kn_errf(err, KN_EINPUT, "expected an object, got %s", type_name(cfg));
    if (check_member(cfg, "", "architecture", SHAPE_STRING, true, err) < 0 ||
        check_member(cfg, "", "os", SHAPE_STRING, true, err) < 0 ||
        check_member(cfg, "", "variant", SHAPE_STRING, false, err) < 0 ||
        check_member(cfg, "", "os.version", SHAPE_STRING, false, err) < 0 ||
        check_member(cfg, "", "os.features", SHAPE_STRINGS, false, err) < 0 ||
        check_member(cfg, "", "author", SHAPE_STRING, false, err) < 0 ||
        check_time(cfg, "", err) < 0)
        return -1;
    if (check_member(cfg, "", "rootfs", SHAPE_OBJECT, true, err) < 0)
        return -1;
    const json_t *rootfs = json_object_get(cfg, "rootfs");
    if (check_member(rootfs, "rootfs.", "type", SHAPE_STRING, true, err) < 0)
        return -1;
    const char *type = json_string_value(json_object_get(rootfs, "type"));
    if (strcmp(type, "layers") != 0) {
        kn_autobuf kn_buf q = KN_BUF_INIT;
        kn_json_write_string(&q, type, strnlen(type, 64));
        return field_errf(err, "rootfs.type", "expected \"layers\", got %s", q.data);
    }
    kn_autofree kn_digest *diff_ids = NULL;
    size_t n_diff_ids = 0;
    if (kn_config_diff_ids(cfg, &diff_ids, &n_diff_ids, err) < 0)
        return -1;
    if (check_history(cfg, n_diff_ids, err) < 0)
        return -1;
    int rc = check_member(cfg, "", "config", SHAPE_OBJECT, false, err);
    if (rc > 0)
        rc = check_runtime_config(json_object_get(cfg, "config"), err);
    return rc < 0 ? -1 : 0;
}

int kn_config_parse(const void *data, size_t len, json_t **out, kn_err *err)
{
    *out = NULL;
    if (len > CONFIG_MAX)
        return kn_errf(err, KN_EINPUT, "image config: %zu bytes, more than %u", len, CONFIG_MAX);
    kn_autojson json_t *cfg = kn_json_parse(data, len, err);
    if (!cfg || check_config(cfg, err) < 0)
        return kn_err_wrap(err, "image config");
    *out = kn_steal_pointer(&cfg);
    return 0;
}

int kn_config_diff_ids(const json_t *cfg, kn_digest **out, size_t *n, kn_err *err)
{
    *out = NULL;
    *n = 0;
    const json_t *rootfs = json_object_get(cfg, "rootfs");
    if (!json_is_object(rootfs))
        return field_errf(err, "rootfs", "missing");
    /* Go writes a nil slice as null: an image without layers. */
    if (check_member(rootfs, "rootfs.", "diff_ids", SHAPE_STRINGS, false, err) < 0)
        return -1;
    const json_t *ids = json_object_get(rootfs, "diff_ids");
    size_t len = json_array_size(ids);
    kn_autofree kn_digest *d = kn_xcalloc(len ? len : 1, sizeof(*d));
    for (size_t i = 0; i < len; i++) {
        kn_autoerr kn_err derr = KN_ERR_INIT;
        if (kn_digest_parse(&d[i], json_string_value(json_array_get(ids, i)), &derr) < 0) {
            const char *why = derr.msg;
            if (!strncmp(why, "invalid digest ", 15))
                why += 15;
            return kn_errf(err, KN_EINPUT, "rootfs.diff_ids[%zu]: not a sha256 digest: %s", i, why);
        }
    }
    *out = kn_steal_pointer(&d);
    *n = len;
    return 0;
}

/* ---- building and editing ---- */

static void set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* out of memory */
}

static void append_new(json_t *arr, json_t *v)
{
    if (!v || json_array_append_new(arr, v) < 0)
        abort(); /* out of memory */
}

static json_t *time_string(int64_t sec)
{
    kn_autofree char *s = kn_time_format(sec, 0);
    return kn_json_string_lossy(s);
}

/* obj[key] as an object or an array (type), made empty when missing, null or
 * of another type. Borrowed from obj. */
static json_t *child(json_t *obj, const char *key, json_type type)
{
    json_t *v = json_object_get(obj, key);
    if (v && json_typeof(v) == type)
        return v;
    v = type == JSON_OBJECT ? json_object() : json_array();
    set_new(obj, key, v);
    return v;
}

static json_t *runtime_config(json_t *cfg)
{
    return child(cfg, "config", JSON_OBJECT);
}

json_t *kn_config_new(const char *os, const char *arch, const char *variant, int64_t created_sec)
{
    json_t *cfg = json_object();
    set_new(cfg, "architecture", kn_json_string_lossy(arch));
    set_new(cfg, "os", kn_json_string_lossy(os));
    if (variant && *variant)
        set_new(cfg, "variant", kn_json_string_lossy(variant));
    set_new(cfg, "created", time_string(created_sec));
    set_new(cfg, "config", json_object());
    json_t *rootfs = json_object();
    set_new(rootfs, "type", kn_json_string_lossy("layers"));
    set_new(rootfs, "diff_ids", json_array());
    set_new(cfg, "rootfs", rootfs);
    set_new(cfg, "history", json_array());
    return cfg;
}

/* SEMANTICS C-11: a history entry as BuildKit writes it; empty created_by
 * and comment are left out (omitempty in the OCI and docker structs). */
static void add_history(json_t *cfg, int64_t created_sec, const char *created_by,
                        const char *comment, bool is_empty_layer)
{
    json_t *h = json_object();
    set_new(h, "created", time_string(created_sec));
    if (created_by && *created_by)
        set_new(h, "created_by", kn_json_string_lossy(created_by));
    if (comment && *comment)
        set_new(h, "comment", kn_json_string_lossy(comment));
    if (is_empty_layer)
        set_new(h, "empty_layer", json_true());
    append_new(child(cfg, "history", JSON_ARRAY), h);
}

void kn_config_add_layer(json_t *cfg, const kn_digest *diff_id, int64_t created_sec,
                         const char *created_by, const char *comment)
{
    json_t *rootfs = child(cfg, "rootfs", JSON_OBJECT);
    if (!json_is_string(json_object_get(rootfs, "type")))
        set_new(rootfs, "type", kn_json_string_lossy("layers"));
    append_new(child(rootfs, "diff_ids", JSON_ARRAY), kn_json_string_lossy(diff_id->str));
    add_history(cfg, created_sec, created_by, comment, false);
}

void kn_config_add_empty_history(json_t *cfg, int64_t created_sec, const char *created_by,
                                 const char *comment)
{
    add_history(cfg, created_sec, created_by, comment, true);
}

void kn_config_set_created(json_t *cfg, int64_t created_sec)
{
    set_new(cfg, "created", time_string(created_sec));
}

int64_t kn_config_created(const json_t *cfg)
{
    const char *s = json_string_value(json_object_get(cfg, "created"));
    int64_t sec;
    long nsec;
    if (!s || kn_time_parse(s, &sec, &nsec) < 0)
        return 0;
    return sec;
}

/* The position in config.Env of the entry for key ("KEY=..." or a bare
 * "KEY"), or -1. */
static long find_env(const json_t *env, const char *key)
{
    size_t key_len = strlen(key), i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *e = json_string_value(v);
        if (e && !strncmp(e, key, key_len) && (e[key_len] == '=' || e[key_len] == '\0'))
            return (long)i;
    }
    return -1;
}

void kn_config_set_env(json_t *cfg, const char *key, const char *value)
{
    json_t *env = child(runtime_config(cfg), "Env", JSON_ARRAY);
    kn_autobuf kn_buf entry = KN_BUF_INIT;
    kn_buf_addf(&entry, "%s=%s", key, value ? value : "");
    long pos = find_env(env, key);
    /* SEMANTICS C-5: the first entry with the key is replaced in place. */
    if (pos >= 0) {
        if (json_array_set_new(env, (size_t)pos, kn_json_string_lossy(entry.data)) < 0)
            abort();
    } else {
        append_new(env, kn_json_string_lossy(entry.data));
    }
}

const char *kn_config_get_env(const json_t *cfg, const char *key)
{
    const json_t *env = json_object_get(json_object_get(cfg, "config"), "Env");
    if (!json_is_array(env))
        return NULL;
    long pos = find_env(env, key);
    if (pos < 0)
        return NULL;
    const char *e = json_string_value(json_array_get(env, (size_t)pos));
    const char *eq = strchr(e, '=');
    return eq ? eq + 1 : NULL;
}

void kn_config_set_label(json_t *cfg, const char *key, const char *value)
{
    json_t *labels = child(runtime_config(cfg), "Labels", JSON_OBJECT);
    json_t *name = kn_json_string_lossy(key); /* the key as jansson will store it */
    set_new(labels, json_string_value(name), kn_json_string_lossy(value ? value : ""));
    json_decref(name);
}

/* An entry of an object used as a set ({"80/tcp": {}}). */
static void add_to_set(json_t *cfg, const char *set, const char *key)
{
    json_t *obj = child(runtime_config(cfg), set, JSON_OBJECT);
    json_t *name = kn_json_string_lossy(key); /* the key as jansson will store it */
    if (!json_object_get(obj, json_string_value(name)))
        set_new(obj, json_string_value(name), json_object());
    json_decref(name);
}

void kn_config_add_exposed_port(json_t *cfg, const char *port)
{
    add_to_set(cfg, "ExposedPorts", port);
}

void kn_config_add_volume(json_t *cfg, const char *path)
{
    add_to_set(cfg, "Volumes", path);
}

static void set_argv(json_t *cfg, const char *field, const char *const *argv, size_t argc)
{
    json_t *c = runtime_config(cfg);
    if (!argv) {
        json_object_del(c, field);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < argc; i++)
        append_new(arr, kn_json_string_lossy(argv[i]));
    set_new(c, field, arr);
}

void kn_config_set_cmd(json_t *cfg, const char *const *argv, size_t argc)
{
    set_argv(cfg, "Cmd", argv, argc);
}

void kn_config_set_entrypoint(json_t *cfg, const char *const *argv, size_t argc)
{
    set_argv(cfg, "Entrypoint", argv, argc);
}

void kn_config_set_string(json_t *cfg, const char *field, const char *value)
{
    json_t *c = runtime_config(cfg);
    if (value)
        set_new(c, field, kn_json_string_lossy(value));
    else
        json_object_del(c, field);
}

char *kn_config_encode(const json_t *cfg, size_t *len)
{
    char *s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        abort(); /* out of memory: jansson checked every string as it was made */
    if (len)
        *len = strlen(s);
    return s;
}

/* ---- time ---- */

char *kn_time_format(int64_t sec, long nsec)
{
    if (nsec < 0 || nsec >= 1000000000L) {
        sec += nsec / 1000000000L;
        nsec %= 1000000000L;
        if (nsec < 0) {
            nsec += 1000000000L;
            sec--;
        }
    }
    if (sec < TIME_MIN)
        sec = TIME_MIN, nsec = 0;
    if (sec > TIME_MAX)
        sec = TIME_MAX, nsec = 999999999L;
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        abort(); /* cannot happen inside TIME_MIN..TIME_MAX */
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (nsec > 0) {
        /* RFC3339Nano: the fraction without its trailing zeros. */
        int digits = 9;
        while (nsec % 10 == 0) {
            nsec /= 10;
            digits--;
        }
        kn_buf_addf(&b, ".%0*ld", digits, nsec);
    }
    kn_buf_addc(&b, 'Z');
    return kn_buf_release(&b);
}

/* n decimal digits at *p into *out, advancing *p. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && is_leap ? 29 : days[month - 1];
}

/* Go's time.Parse(time.RFC3339Nano, s): "2006-01-02T15:04:05[.999999999](Z|+07:00)". */
int kn_time_parse(const char *s, int64_t *sec, long *nsec)
{
    int year, month, day, hour, min, second;
    const char *p = s;
    if (!take_digits(&p, 4, &year) || !take_char(&p, '-') || !take_digits(&p, 2, &month) ||
        !take_char(&p, '-') || !take_digits(&p, 2, &day) || !take_char(&p, 'T') ||
        !take_digits(&p, 2, &hour) || !take_char(&p, ':') || !take_digits(&p, 2, &min) ||
        !take_char(&p, ':') || !take_digits(&p, 2, &second))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        min > 59 || second > 59)
        return -1;
    long frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        /* Go keeps nanoseconds and drops any further digits. */
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (!take_char(&p, 'Z')) {
        int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
        int oh, om;
        p++;
        if (!sign || !take_digits(&p, 2, &oh) || !take_char(&p, ':') || !take_digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return -1;
    struct tm tm = {
        .tm_year = year - 1900,
        .tm_mon = month - 1,
        .tm_mday = day,
        .tm_hour = hour,
        .tm_min = min,
        .tm_sec = second,
    };
    *sec = (int64_t)timegm(&tm) - offset;
    *nsec = frac;
    return 0;
}

/* ---- inspect ---- */

static json_t *strings_json(const char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        append_new(arr, kn_json_string_lossy(items[i]));
    return arr;
}

static json_t *string_or_empty(const json_t *v)
{
    return kn_json_string_lossy(json_is_string(v) ? json_string_value(v) : "");
}

json_t *kn_image_inspect(const json_t *cfg, const kn_inspect_info *info)
{
    json_t *out = json_object();
    set_new(out, "Id", kn_json_string_lossy(info->config_digest ? info->config_digest->str : ""));
    set_new(out, "RepoTags", strings_json(info->repo_tags, info->n_repo_tags));
    set_new(out, "RepoDigests", strings_json(info->repo_digests, info->n_repo_digests));
    set_new(out, "Parent", kn_json_string_lossy(""));
    /* As docker's containerd image store does: the last history comment. */
    const json_t *history = json_object_get(cfg, "history");
    size_t n_history = json_array_size(history);
    const json_t *last = n_history ? json_array_get(history, n_history - 1) : NULL;
    set_new(out, "Comment", string_or_empty(json_object_get(last, "comment")));
    /* Docker leaves Created out for an image that has none. */
    const json_t *created = json_object_get(cfg, "created");
    if (json_is_string(created))
        set_new(out, "Created", kn_json_string_lossy(json_string_value(created)));
    set_new(out, "DockerVersion", kn_json_string_lossy(""));
    set_new(out, "Author", string_or_empty(json_object_get(cfg, "author")));
    const json_t *c = json_object_get(cfg, "config");
    set_new(out, "Config", json_is_object(c) ? json_deep_copy(c) : json_object());
    set_new(out, "Architecture", string_or_empty(json_object_get(cfg, "architecture")));
    const json_t *variant = json_object_get(cfg, "variant");
    if (json_is_string(variant) && *json_string_value(variant))
        set_new(out, "Variant", kn_json_string_lossy(json_string_value(variant)));
    set_new(out, "Os", string_or_empty(json_object_get(cfg, "os")));
    set_new(out, "Size", json_integer(info->size));
    json_t *rootfs = json_object();
    set_new(rootfs, "Type", kn_json_string_lossy("layers"));
    const json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    if (json_array_size(ids) > 0) /* omitempty in docker's RootFS */
        set_new(rootfs, "Layers", json_deep_copy(ids));
    set_new(out, "RootFS", rootfs);
    json_t *meta = json_object();
    if (info->last_tag_time > 0)
        set_new(meta, "LastTagTime", time_string(info->last_tag_time));
    else
        set_new(meta, "LastTagTime", kn_json_string_lossy(ZERO_TIME));
    set_new(out, "Metadata", meta);
    set_new(out, "Manifest",
            kn_json_string_lossy(info->manifest_digest ? info->manifest_digest->str : ""));
    return out;
}
