#include "base/json.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

json_t *kn_json_parse(const char *data, size_t len, kn_err *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
    if (v)
        return v;
    if (jerr.line > 0)
        kn_errf(err, KN_EINPUT, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                jerr.text);
    else
        kn_errf(err, KN_EINPUT, "invalid JSON: %s", jerr.text);
    return NULL;
}

typedef enum kind { KIND_STRING, KIND_OBJECT, KIND_ARRAY, KIND_INT, KIND_BOOL } kind;

static const char *const kind_names[] = {"string", "object", "array", "integer", "boolean"};

const char *kn_json_type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

static const char *type_name(const json_t *v)
{
    return kn_json_type_name(json_typeof(v));
}

json_t *kn_json_string_lossy(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        bool is_valid;
        size_t n = kn_utf8_decode(s + i, len - i, &is_valid);
        if (is_valid)
            kn_buf_add(&b, s + i, n);
        else
            kn_utf8_append(&b, 0xfffd);
        i += n;
    }
    v = json_string(b.data);
    if (!v)
        abort(); /* out of memory */
    return v;
}

static bool is_kind(const json_t *v, kind k)
{
    switch (k) {
    case KIND_STRING:
        return json_is_string(v);
    case KIND_OBJECT:
        return json_is_object(v);
    case KIND_ARRAY:
        return json_is_array(v);
    case KIND_INT:
        return json_is_integer(v);
    case KIND_BOOL:
        return json_is_boolean(v);
    }
    return false;
}

/* Look up obj[key] expecting kind k. Returns 1 with *out set when present,
 * 0 when optional and missing or null, -1 with err set otherwise. */
static int member(const json_t *obj, const char *key, kind k, bool optional, json_t **out,
                  kn_err *err)
{
    if (!json_is_object(obj))
        return kn_errf(err, KN_EINPUT, "reading \"%s\": expected an object, got %s", key,
                       type_name(obj));
    json_t *v = json_object_get(obj, key);
    if (optional && (!v || json_is_null(v)))
        return 0;
    if (!v)
        return kn_errf(err, KN_EINPUT, "missing \"%s\"", key);
    if (!is_kind(v, k))
        return kn_errf(err, KN_EINPUT, "\"%s\": expected %s, got %s", key, kind_names[k],
                       type_name(v));
    *out = v;
    return 1;
}

static int get_string(const json_t *obj, const char *key, bool optional, const char **out,
                      kn_err *err)
{
    json_t *v = NULL;
    int r = member(obj, key, KIND_STRING, optional, &v, err);
    if (r > 0)
        *out = json_string_value(v);
    return r < 0 ? -1 : 0;
}

static int get_json(const json_t *obj, const char *key, kind k, bool optional, json_t **out,
                    kn_err *err)
{
    json_t *v = NULL;
    int r = member(obj, key, k, optional, &v, err);
    if (r > 0)
        *out = v;
    return r < 0 ? -1 : 0;
}

static int get_int(const json_t *obj, const char *key, bool optional, int64_t *out, kn_err *err)
{
    json_t *v = NULL;
    int r = member(obj, key, KIND_INT, optional, &v, err);
    if (r > 0)
        *out = (int64_t)json_integer_value(v);
    return r < 0 ? -1 : 0;
}

static int get_bool(const json_t *obj, const char *key, bool optional, bool *out, kn_err *err)
{
    json_t *v = NULL;
    int r = member(obj, key, KIND_BOOL, optional, &v, err);
    if (r > 0)
        *out = json_is_true(v);
    return r < 0 ? -1 : 0;
}

int kn_json_get_string(const json_t *obj, const char *key, const char **out, kn_err *err)
{
    return get_string(obj, key, false, out, err);
}

int kn_json_get_object(const json_t *obj, const char *key, json_t **out, kn_err *err)
{
    return get_json(obj, key, KIND_OBJECT, false, out, err);
}

int kn_json_get_array(const json_t *obj, const char *key, json_t **out, kn_err *err)
{
    return get_json(obj, key, KIND_ARRAY, false, out, err);
}

int kn_json_get_int(const json_t *obj, const char *key, int64_t *out, kn_err *err)
{
    return get_int(obj, key, false, out, err);
}

int kn_json_get_bool(const json_t *obj, const char *key, bool *out, kn_err *err)
{
    return get_bool(obj, key, false, out, err);
}

int kn_json_opt_string(const json_t *obj, const char *key, const char **out, kn_err *err)
{
    return get_string(obj, key, true, out, err);
}

int kn_json_opt_object(const json_t *obj, const char *key, json_t **out, kn_err *err)
{
    return get_json(obj, key, KIND_OBJECT, true, out, err);
}

int kn_json_opt_array(const json_t *obj, const char *key, json_t **out, kn_err *err)
{
    return get_json(obj, key, KIND_ARRAY, true, out, err);
}

int kn_json_opt_int(const json_t *obj, const char *key, int64_t *out, kn_err *err)
{
    return get_int(obj, key, true, out, err);
}

int kn_json_opt_bool(const json_t *obj, const char *key, bool *out, kn_err *err)
{
    return get_bool(obj, key, true, out, err);
}

char *kn_json_dump_canonical(const json_t *value, kn_err *err)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        kn_errf(err, KN_EINPUT, "cannot encode JSON (a string is not valid UTF-8?)");
    return s;
}

void kn_json_decrefp(json_t **p)
{
    json_decref(*p);
    *p = NULL;
}

void kn_json_write_string(kn_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    kn_buf_addc(out, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        /* Copy plain ASCII in one go. */
        while (run < len && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x80 &&
               s[run] != '"' && s[run] != '\\')
            run++;
        kn_buf_add(out, s + i, run - i);
        i = run;
        if (i >= len)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            kn_buf_addc(out, '\\');
            kn_buf_addc(out, (char)c);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            kn_buf_add(out, e, 6);
            i++;
        } else {
            bool valid;
            size_t n = kn_utf8_decode(s + i, len - i, &valid);
            if (valid)
                kn_buf_add(out, s + i, n);
            else
                kn_buf_adds(out, "\\ufffd");
            i += n;
        }
    }
    kn_buf_addc(out, '"');
}

void kn_json_write_cstr(kn_buf *out, const char *s)
{
    if (s)
        kn_json_write_string(out, s, strlen(s));
    else
        kn_buf_adds(out, "null");
}
