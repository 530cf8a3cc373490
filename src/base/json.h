/* Thin helpers over jansson: parsing with a positioned error, typed member
 * getters that fail with a message naming the member, and a canonical dump.
 *
 * Values returned through the getters are borrowed from `obj` (no reference
 * is taken); they live as long as obj does. Every error is KN_EINPUT. */
#ifndef KN_BASE_JSON_H
#define KN_BASE_JSON_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse len bytes of data (need not be NUL-terminated) as one JSON value of
 * any type, with nothing but white space after it. Duplicate keys keep the
 * last value, as Go's encoding/json does. Returns a new reference (caller
 * json_decref's it), or NULL with "invalid JSON at line L, column C: why". */
json_t *kn_json_parse(const char *data, size_t len, kn_err *err);

/* Required members: fail when obj is not an object, when key is missing, or
 * when its value has another type ("key": expected string, got number). JSON
 * null counts as a type, not as missing. */
int kn_json_get_string(const json_t *obj, const char *key, const char **out, kn_err *err);
int kn_json_get_object(const json_t *obj, const char *key, json_t **out, kn_err *err);
int kn_json_get_array(const json_t *obj, const char *key, json_t **out, kn_err *err);
int kn_json_get_int(const json_t *obj, const char *key, int64_t *out, kn_err *err);
int kn_json_get_bool(const json_t *obj, const char *key, bool *out, kn_err *err);

/* Optional members: a missing key or a null value leaves *out unchanged (so
 * preset it to the default) and succeeds; any other type still fails. */
int kn_json_opt_string(const json_t *obj, const char *key, const char **out, kn_err *err);
int kn_json_opt_object(const json_t *obj, const char *key, json_t **out, kn_err *err);
int kn_json_opt_array(const json_t *obj, const char *key, json_t **out, kn_err *err);
int kn_json_opt_int(const json_t *obj, const char *key, int64_t *out, kn_err *err);
int kn_json_opt_bool(const json_t *obj, const char *key, bool *out, kn_err *err);

/* The value as compact JSON with object keys sorted (byte order): the same
 * value always gives the same bytes, fit for hashing. Returns a new string
 * (caller frees), or NULL when jansson cannot encode it (a string that is
 * not valid UTF-8). */
/* "object", "array", "string", "integer", "number", "boolean" or "null",
 * for error messages. */
const char *kn_json_type_name(json_type type);

/* A new JSON string for s; bytes that are not UTF-8 become U+FFFD, as Go's
 * encoding/json writes them (jansson alone refuses such a string). */
json_t *kn_json_string_lossy(const char *s);

char *kn_json_dump_canonical(const json_t *value, kn_err *err);

#define kn_autojson __attribute__((cleanup(kn_json_decrefp)))
/* For kn_autojson: json_decref(*p) when not NULL. */
void kn_json_decrefp(json_t **p);

/* Streaming output for large documents, where building a jansson tree costs
 * more than the answer (kiln plan on thousands of stages): append a JSON
 * string literal for len bytes of s (invalid UTF-8 bytes become U+FFFD, as
 * jansson would refuse them), or a string / null when s is NULL. */
struct kn_buf;
void kn_json_write_string(struct kn_buf *out, const char *s, size_t len);
void kn_json_write_cstr(struct kn_buf *out, const char *s);

#endif
