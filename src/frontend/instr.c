/* Typed instructions: BuildKit's instructions package (parse.go, bflag.go,
 * commands_run*.go) over kiln's parse tree. The order of the checks inside
 * each instruction follows BuildKit's, so that a line with two mistakes
 * reports the same one. Rule IDs point at SEMANTICS.md. */
#include "frontend/instr.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/utf8.h"
#include "frontend/expand.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strncasecmp */

/* ---- errors ---- */

/* Where an error is reported: FILE:LINE, into err. */
typedef struct pctx {
    const char *path;
    int line;
    kn_err *err;
} pctx;

static int fail(const pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const pctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_addvf(&b, fmt, ap);
    va_end(ap);
    return kn_errf_at(c->err, KN_EINPUT, c->path, c->line, "%s", b.data);
}

/* Go's strconv.Quote (%q), as a new string. */
static char *go_quote(const char *s)
{
    kn_buf b = KN_BUF_INIT;
    kn_df_quote(&b, s, strlen(s));
    return kn_buf_release(&b);
}

/* " (did you mean X?)" for the candidate closest to word within edit
 * distance 2, else "" (E-3). Case-sensitive, as BuildKit's suggestions for
 * flags and mount fields are; an exact match suggests nothing. New string. */
static char *did_you_mean(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int best_dist = 3;
    for (size_t i = 0; i < n; i++) {
        int d = kn_str_distance(word, cands[i], 2);
        if (d == 0) {
            best = NULL;
            break;
        }
        if (d < best_dist) {
            best = cands[i];
            best_dist = d;
        }
    }
    kn_buf b = KN_BUF_INIT;
    if (best)
        kn_buf_addf(&b, " (did you mean %s?)", best);
    return kn_buf_release(&b);
}

/* ---- small string helpers ---- */

static bool is_lower_str(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return false;
    return true;
}

static bool is_upper_str(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return false;
    return true;
}

static void strvec_copy(kn_strvec *dst, const kn_strvec *src, size_t from)
{
    for (size_t i = from; i < src->len; i++)
        kn_strvec_pushn(dst, src->items[i], src->lens ? src->lens[i] : strlen(src->items[i]));
}

/* BuildKit's handleJSONArgs for a shell form: the words joined by spaces. */
static char *join_args(const kn_strvec *v, size_t from)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = from; i < v->len; i++) {
        if (i > from)
            kn_buf_addc(&b, ' ');
        kn_buf_adds(&b, v->items[i]);
    }
    return kn_buf_release(&b);
}

/* strconv.ParseBool. */
static bool parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < KN_ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* strconv.ParseUint(s, base, 32) for base 8 or 10: false on any error. */
static bool parse_go_uint32(const char *s, int base, uint32_t *out)
{
    if (*s == '\0')
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d = *s - '0';
        if (*s < '0' || *s > '9' || d >= base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ---- kinds ---- */

static const char *const kind_names[KN_INSTR_N_KINDS] = {
    [KN_INSTR_FROM] = "FROM",
    [KN_INSTR_RUN] = "RUN",
    [KN_INSTR_CMD] = "CMD",
    [KN_INSTR_ENTRYPOINT] = "ENTRYPOINT",
    [KN_INSTR_SHELL] = "SHELL",
    [KN_INSTR_COPY] = "COPY",
    [KN_INSTR_ADD] = "ADD",
    [KN_INSTR_ENV] = "ENV",
    [KN_INSTR_LABEL] = "LABEL",
    [KN_INSTR_ARG] = "ARG",
    [KN_INSTR_EXPOSE] = "EXPOSE",
    [KN_INSTR_VOLUME] = "VOLUME",
    [KN_INSTR_USER] = "USER",
    [KN_INSTR_WORKDIR] = "WORKDIR",
    [KN_INSTR_STOPSIGNAL] = "STOPSIGNAL",
    [KN_INSTR_HEALTHCHECK] = "HEALTHCHECK",
    [KN_INSTR_ONBUILD] = "ONBUILD",
    [KN_INSTR_MAINTAINER] = "MAINTAINER",
};

const char *kn_instr_kind_name(kn_instr_kind kind)
{
    if ((unsigned)kind >= KN_INSTR_N_KINDS)
        return "UNKNOWN";
    return kind_names[kind];
}

bool kn_instr_kind_lookup(const char *keyword, kn_instr_kind *out)
{
    for (int k = 0; k < KN_INSTR_N_KINDS; k++) {
        if (kn_str_eq_nocase(keyword, kind_names[k])) {
            *out = (kn_instr_kind)k;
            return true;
        }
    }
    return false;
}

/* P-22: `unknown instruction: X`, with a suggestion in X's case the way
 * BuildKit's suggest package does it (all upper -> upper, else lower). */
static int fail_unknown_instruction(const pctx *c, const char *keyword)
{
    const char *m = kn_str_suggest(keyword, kind_names, KN_INSTR_N_KINDS, 2);
    if (!m)
        return fail(c, "unknown instruction: %s", keyword);
    kn_autofree char *match =
        is_upper_str(keyword) && !is_lower_str(keyword) ? kn_xstrdup(m) : kn_str_lower(m);
    return fail(c, "unknown instruction: %s (did you mean %s?)", keyword, match);
}

/* ---- flags (I-2, I-3) ---- */

typedef struct flag_spec {
    const char *name;
    kn_instr_flag_type type;
    const char *def; /* STRING default */
} flag_spec;

/* Declaration order is BuildKit's. */
static const flag_spec from_flags[] = {{"platform", KN_FLAG_STRING, ""}};
static const flag_spec copy_flags[] = {
    {"chown", KN_FLAG_STRING, ""},      {"from", KN_FLAG_STRING, ""},
    {"chmod", KN_FLAG_STRING, ""},      {"link", KN_FLAG_BOOL, NULL},
    {"exclude", KN_FLAG_STRINGS, NULL}, {"parents", KN_FLAG_BOOL, NULL},
};
static const flag_spec add_flags[] = {
    {"chown", KN_FLAG_STRING, ""},      {"chmod", KN_FLAG_STRING, ""},
    {"link", KN_FLAG_BOOL, NULL},       {"keep-git-dir", KN_FLAG_BOOL, NULL},
    {"checksum", KN_FLAG_STRING, ""},   {"unpack", KN_FLAG_BOOL, NULL},
    {"exclude", KN_FLAG_STRINGS, NULL},
};
static const flag_spec run_flags[] = {
    {"device", KN_FLAG_STRINGS, NULL},
    {"mount", KN_FLAG_STRINGS, NULL},
    {"network", KN_FLAG_STRING, "default"},
    {"security", KN_FLAG_STRING, "sandbox"},
};
static const flag_spec health_flags[] = {
    {"interval", KN_FLAG_STRING, ""},     {"timeout", KN_FLAG_STRING, ""},
    {"start-period", KN_FLAG_STRING, ""}, {"start-interval", KN_FLAG_STRING, ""},
    {"retries", KN_FLAG_STRING, ""},
};

_Static_assert(KN_ARRAY_LEN(copy_flags) <= KN_INSTR_MAX_FLAGS, "COPY flags fit");
_Static_assert(KN_ARRAY_LEN(add_flags) <= KN_INSTR_MAX_FLAGS, "ADD flags fit");
_Static_assert(KN_ARRAY_LEN(run_flags) <= KN_INSTR_MAX_FLAGS, "RUN flags fit");
_Static_assert(KN_ARRAY_LEN(health_flags) <= KN_INSTR_MAX_FLAGS, "HEALTHCHECK flags fit");

static void declare_flags(kn_instr *in, const flag_spec *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kn_instr_flag *f = &in->flags[i];
        f->name = specs[i].name;
        f->type = specs[i].type;
        if (f->type == KN_FLAG_STRING)
            f->value = kn_xstrdup(specs[i].def);
        else if (f->type == KN_FLAG_BOOL)
            f->value = kn_xstrdup("false");
    }
    in->n_flags = n;
}

static kn_instr_flag *find_flag(kn_instr *in, const char *name, size_t len)
{
    for (size_t i = 0; i < in->n_flags; i++)
        if (strlen(in->flags[i].name) == len && memcmp(in->flags[i].name, name, len) == 0)
            return &in->flags[i];
    return NULL;
}

static void set_value(kn_instr_flag *f, const char *v)
{
    free(f->value);
    f->value = kn_xstrdup(v);
}

/* BFlags.Parse: check the node's flags against the declared ones. */
static int parse_flags(const pctx *c, kn_instr *in)
{
    const kn_strvec *given = &in->node->flags;
    for (size_t i = 0; i < given->len; i++) {
        const char *a = given->items[i];
        if (strcmp(a, "--") == 0)
            return 0; /* P-23: ends the flags */
        if (strncmp(a, "--", 2) != 0)
            return fail(c, "arg should start with -- : %s", a);
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) - 2 : strlen(a) - 2;
        int flag_len = (int)(name_len + 2);
        const char *value = eq ? eq + 1 : "";
        kn_instr_flag *f = find_flag(in, a + 2, name_len);
        if (!f) {
            const char *names[KN_INSTR_MAX_FLAGS];
            for (size_t k = 0; k < in->n_flags; k++)
                names[k] = in->flags[k].name;
            kn_autofree char *name = kn_xstrndup(a + 2, name_len);
            kn_autofree char *hint = did_you_mean(name, names, in->n_flags);
            return fail(c, "unknown flag: %.*s%s", flag_len, a, hint);
        }
        if (f->is_set && f->type != KN_FLAG_STRINGS)
            return fail(c, "duplicate flag specified: %.*s", flag_len, a);
        f->is_set = true;
        switch (f->type) {
        case KN_FLAG_BOOL:
            if (eq && *value == '\0')
                return fail(c, "missing a value on flag: %.*s", flag_len, a);
            if (*value == '\0' || kn_str_eq_nocase(value, "true"))
                set_value(f, "true");
            else if (kn_str_eq_nocase(value, "false"))
                set_value(f, "false");
            else
                return fail(c, "expecting boolean value for flag %.*s, not: %s", flag_len, a,
                            value);
            break;
        case KN_FLAG_STRING:
            if (!eq)
                return fail(c, "missing a value on flag: %.*s", flag_len, a);
            set_value(f, value);
            break;
        case KN_FLAG_STRINGS:
            if (!eq)
                return fail(c, "missing a value on flag: %.*s", flag_len, a);
            kn_strvec_push(&f->values, value);
            break;
        }
    }
    return 0;
}

const kn_instr_flag *kn_instr_get_flag(const kn_instr *in, const char *name)
{
    for (size_t i = 0; i < in->n_flags; i++)
        if (strcmp(in->flags[i].name, name) == 0)
            return &in->flags[i];
    return NULL;
}

/* A string flag's value, NULL when absent or empty (BuildKit: "" is unset). */
static const char *flag_str(const kn_instr *in, const char *name)
{
    const kn_instr_flag *f = kn_instr_get_flag(in, name);
    return f && f->value && *f->value ? f->value : NULL;
}

static bool flag_bool(const kn_instr *in, const char *name)
{
    const kn_instr_flag *f = kn_instr_get_flag(in, name);
    return f && f->value && strcmp(f->value, "true") == 0;
}

/* ---- Go formats ---- */

/* The quoting of Go's time package: bytes outside printable ASCII as \xHH. */
static void time_quote(kn_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    kn_buf_addc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80 || ch < ' ') {
            char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            kn_buf_add(b, e, 4);
        } else {
            if (ch == '"' || ch == '\\')
                kn_buf_addc(b, '\\');
            kn_buf_addc(b, (char)ch);
        }
    }
    kn_buf_addc(b, '"');
}

static int duration_error(kn_err *err, const char *what, const char *unit, size_t unit_len,
                          const char *orig)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "time: %s", what);
    if (unit) {
        kn_buf_addc(&b, ' ');
        time_quote(&b, unit, unit_len);
        kn_buf_adds(&b, " in duration");
    }
    kn_buf_addc(&b, ' ');
    time_quote(&b, orig, strlen(orig));
    return kn_errf(err, KN_EINPUT, "%s", b.data);
}

/* Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ */
int kn_instr_parse_duration(const char *orig, int64_t *out_ns, kn_err *err)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1ULL},           {"us", 1000ULL},
        {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000ULL}, /* U+03BC Greek mu */
        {"ms", 1000000ULL},     {"s", 1000000000ULL},
        {"m", 60000000000ULL},  {"h", 3600000000000ULL},
    };
    const uint64_t lim = 1ULL << 63;
    const char *s = orig;
    uint64_t d = 0;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    if (*s == '\0')
        return duration_error(err, "invalid duration", NULL, 0, orig);
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return duration_error(err, "invalid duration", NULL, 0, orig);
        /* leadingInt */
        const char *start = s;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > lim / 10)
                return duration_error(err, "invalid duration", NULL, 0, orig);
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > lim)
                return duration_error(err, "invalid duration", NULL, 0, orig);
        }
        bool pre = s != start;
        bool post = false;
        if (*s == '.') {
            s++;
            const char *fstart = s;
            bool overflow = false;
            for (; *s >= '0' && *s <= '9'; s++) {
                if (overflow)
                    continue;
                if (f > (lim - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*s - '0');
                if (y > lim) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = s != fstart;
        }
        if (!pre && !post)
            return duration_error(err, "invalid duration", NULL, 0, orig);
        const char *u = s;
        while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
            s++;
        size_t ulen = (size_t)(s - u);
        if (ulen == 0)
            return duration_error(err, "missing unit in duration", NULL, 0, orig);
        uint64_t unit = 0;
        for (size_t k = 0; k < KN_ARRAY_LEN(units); k++)
            if (strlen(units[k].name) == ulen && memcmp(units[k].name, u, ulen) == 0)
                unit = units[k].ns;
        if (!unit)
            return duration_error(err, "unknown unit", u, ulen, orig);
        if (v > lim / unit)
            return duration_error(err, "invalid duration", NULL, 0, orig);
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim)
                return duration_error(err, "invalid duration", NULL, 0, orig);
        }
        d += v;
        if (d > lim)
            return duration_error(err, "invalid duration", NULL, 0, orig);
    }
    if (neg) {
        *out_ns = d == lim ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > lim - 1)
        return duration_error(err, "invalid duration", NULL, 0, orig);
    *out_ns = (int64_t)d;
    return 0;
}

/* ---- CSV (go-csvvalue, used for --mount and --device) ---- */

/* Split one CSV line into fields. On error returns -1 with *msg set to
 * encoding/csv's text (new string). */
static int csv_fields(const char *line, kn_strvec *out, char **msg)
{
    size_t rem = strlen(line);
    if (rem > 0 && line[rem - 1] == '\n') {
        rem--;
        if (rem > 0 && line[rem - 1] == '\r')
            rem--;
    }
    if (rem == 0) {
        *msg = kn_xstrdup("EOF");
        return -1;
    }
    const char *p = line;
    size_t pos = 0;
    kn_autobuf kn_buf field = KN_BUF_INIT;
    kn_buf e = KN_BUF_INIT;
    for (;;) {
        if (rem == 0 || p[0] != '"') {
            const char *comma = memchr(p, ',', rem);
            size_t n = comma ? (size_t)(comma - p) : rem;
            const char *q = memchr(p, '"', n);
            if (q) {
                kn_buf_addf(&e, "parse error on line 1, column %zu: bare \" in non-quoted-field",
                            pos + (size_t)(q - p) + 1);
                *msg = kn_buf_release(&e);
                return -1;
            }
            kn_strvec_pushn(out, p, n);
            if (!comma)
                return 0;
            p += n + 1;
            pos += n + 1;
            rem -= n + 1;
            continue;
        }
        p++;
        pos++;
        rem--;
        kn_buf_reset(&field);
        for (;;) {
            const char *q = memchr(p, '"', rem);
            if (!q) {
                kn_buf_addf(&e,
                            "parse error on line 1, column %zu: extraneous or missing \" in "
                            "quoted-field",
                            pos + 1);
                *msg = kn_buf_release(&e);
                return -1;
            }
            size_t n = (size_t)(q - p);
            kn_buf_add(&field, p, n);
            p += n + 1;
            pos += n + 1;
            rem -= n + 1;
            if (rem > 0 && p[0] == '"') {
                kn_buf_addc(&field, '"');
                p++;
                pos++;
                rem--;
            } else if (rem > 0 && p[0] == ',') {
                kn_strvec_pushn(out, field.data, field.len);
                p++;
                pos++;
                rem--;
                break;
            } else if (rem == 0) {
                kn_strvec_pushn(out, field.data, field.len);
                return 0;
            } else {
                kn_buf_addf(&e,
                            "parse error on line 1, column %zu: extraneous or missing \" in "
                            "quoted-field",
                            pos);
                *msg = kn_buf_release(&e);
                return -1;
            }
        }
    }
}

/* ---- heredoc words (parser.MustParseHeredoc) ---- */

static const char *lookup_none(void *ctx, const char *name)
{
    return NULL;
}

static bool is_re_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Whether an argument is a heredoc word `^(\d*)<<(-?)\s*([^<]*)$` naming one
 * delimiter (P-32); lexing errors mean "not a heredoc", as in BuildKit. */
/* A heredoc word per the parser's rule (P-32); lexing errors count as "no". */
static bool heredoc_word(const char *w, char **name, bool *expand, bool *chomp)
{
    kn_df_heredoc h = {0};
    kn_autoerr kn_err e = KN_ERR_INIT;
    if (kn_df_heredoc_word(w, &h, &e) != 1)
        return false;
    if (name)
        *name = h.name;
    else
        free(h.name);
    if (expand)
        *expand = h.expand;
    if (chomp)
        *chomp = h.chomp;
    return true;
}

/* parser.ChompHeredocContent: leading tabs off every line (P-34). */
static char *chomp_tabs(const char *s)
{
    kn_buf b = KN_BUF_INIT;
    bool at_start = true;
    for (; *s; s++) {
        if (at_start && *s == '\t')
            continue;
        at_start = *s == '\n';
        kn_buf_addc(&b, *s);
    }
    return kn_buf_release(&b);
}

/* ---- per instruction ---- */

static int err_at_least_one(const pctx *c, kn_instr_kind k)
{
    return fail(c, "%s requires at least one argument", kind_names[k]);
}

static int err_exactly_one(const pctx *c, kn_instr_kind k)
{
    return fail(c, "%s requires exactly one argument", kind_names[k]);
}

/* strings.EqualFold(s, "as"): 's' also folds with U+017F (long s). */
static bool is_as_keyword(const char *s)
{
    if (s[0] != 'a' && s[0] != 'A')
        return false;
    s++;
    if ((s[0] == 's' || s[0] == 'S') && s[1] == '\0')
        return true;
    return strcmp(s, "\xc5\xbf") == 0;
}

/* strings.ToLower for a stage name: ASCII, plus U+212A (Kelvin sign), the
 * one non-ASCII rune that lowers into the name alphabet. */
static char *lower_stage_name(const char *s)
{
    kn_buf b = KN_BUF_INIT;
    for (; *s; s++) {
        if (strncmp(s, "\xe2\x84\xaa", 3) == 0) {
            kn_buf_addc(&b, 'k');
            s += 2;
        } else {
            kn_buf_addc(&b, (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s);
        }
    }
    return kn_buf_release(&b);
}

/* ^[a-z][a-z0-9-_.]*$ (I-5) */
static bool is_valid_stage_name(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.'))
            return false;
    return true;
}

/* I-5 */
static int parse_from(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len == 3 && is_as_keyword(a->items[1])) {
        kn_autofree char *name = lower_stage_name(a->items[2]);
        if (!is_valid_stage_name(name)) {
            kn_autofree char *q = go_quote(a->items[2]);
            return fail(c,
                        "invalid name for build stage: %s, name can't start with a number or "
                        "contain symbols",
                        q);
        }
        in->from.name = kn_steal_pointer(&name);
        in->from.name_as_written = kn_xstrdup(a->items[2]);
    } else if (a->len != 1) {
        return fail(c, "FROM requires either one or three arguments");
    }
    declare_flags(in, from_flags, KN_ARRAY_LEN(from_flags));
    if (parse_flags(c, in) < 0)
        return -1;
    in->from.base = kn_xstrdup(a->items[0]);
    in->from.platform = flag_str(in, "platform");
    return 0;
}

/* ENV and LABEL: triples key, value, sep from the parser (P-27, I-7, I-8). */
static int parse_kvs(const pctx *c, kn_instr *in)
{
    if (parse_flags(c, in) < 0)
        return -1;
    const kn_strvec *a = &in->node->args;
    if (a->len == 0)
        return err_at_least_one(c, in->kind);
    if (a->len % 3 != 0)
        return fail(c, "Bad input to %s, too many arguments", kind_names[in->kind]);
    for (size_t i = 0; i < a->len; i += 3) {
        if (a->items[i][0] == '\0')
            return fail(c, "%s names can not be blank", kind_names[in->kind]);
        kn_instr_kv kv = {kn_xstrdup(a->items[i]), kn_xstrdup(a->items[i + 1])};
        kn_vec_push(&in->env.pairs, kv);
    }
    in->env.is_legacy = a->items[2][0] == '\0';
    return 0;
}

/* USER, WORKDIR, MAINTAINER: exactly one argument, no flags. */
static int parse_single(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len != 1)
        return err_exactly_one(c, in->kind);
    if (parse_flags(c, in) < 0)
        return -1;
    in->value = kn_xstrdup(a->items[0]);
    return 0;
}

/* STOPSIGNAL: never checks its flags (I-4); the signal is checked after
 * expansion (I-14). */
static int parse_stopsignal(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len != 1)
        return err_exactly_one(c, in->kind);
    in->value = kn_xstrdup(a->items[0]);
    return 0;
}

/* ARG (P-28): flags ignored (I-4). */
static int parse_arg(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len < 1)
        return err_at_least_one(c, in->kind);
    for (size_t i = 0; i < a->len; i++) {
        const char *w = a->items[i];
        const char *eq = strchr(w, '=');
        if (eq && eq == w)
            return fail(c, "ARG names can not be blank");
        kn_instr_arg_def def = {eq ? kn_xstrndup(w, (size_t)(eq - w)) : kn_xstrdup(w),
                                eq ? kn_xstrdup(eq + 1) : NULL};
        kn_vec_push(&in->arg.defs, def);
    }
    return 0;
}

static void fill_cmdline(kn_instr_cmdline *cl, const kn_df_node *node, size_t from)
{
    if (node->is_json) {
        cl->is_exec = true;
        strvec_copy(&cl->argv, &node->args, from);
    } else {
        cl->text = join_args(&node->args, from);
    }
}

/* CMD, ENTRYPOINT (I-16, I-17, I-19) */
static int parse_cmd(const pctx *c, kn_instr *in)
{
    if (parse_flags(c, in) < 0)
        return -1;
    fill_cmdline(&in->cmd, in->node, 0);
    return 0;
}

/* SHELL (I-15) */
static int parse_shell(const pctx *c, kn_instr *in)
{
    if (parse_flags(c, in) < 0)
        return -1;
    if (in->node->args.len == 0)
        return err_at_least_one(c, in->kind);
    if (!in->node->is_json)
        return fail(c, "SHELL requires the arguments to be in JSON form");
    fill_cmdline(&in->shell, in->node, 0);
    return 0;
}

/* --device values are checked when the RUN is read, although only labs
 * builds accept them (commands_rundevice.go, I-28). */
static int check_device(const pctx *c, const char *raw)
{
    kn_autostrvec kn_strvec fields = KN_STRVEC_INIT;
    kn_autofree char *msg = NULL;
    if (csv_fields(raw, &fields, &msg) < 0)
        return fail(c, "failed to parse csv devices: %s", msg);
    kn_autofree char *name = kn_xstrdup("");
    for (size_t i = 0; i < fields.len; i++) {
        const char *field = fields.items[i];
        const char *eq = strchr(field, '=');
        kn_autofree char *raw_key = eq ? kn_xstrndup(field, (size_t)(eq - field)) : NULL;
        kn_autofree char *key = kn_str_lower(raw_key ? raw_key : field);
        if (!eq) {
            if (strcmp(key, "required") == 0)
                continue;
            if (*name == '\0') {
                free(name);
                name = kn_xstrdup(field);
                continue;
            }
            return fail(c, "invalid field '%s' must be a key=value pair", field);
        }
        const char *value = eq + 1;
        bool b;
        if (strcmp(key, "name") == 0) {
            if (*name != '\0')
                return fail(c, "device name already set to %s", name);
            free(name);
            name = kn_xstrdup(value);
        } else if (strcmp(key, "required") == 0) {
            if (!parse_go_bool(value, &b))
                return fail(c, "invalid value for %s: %s", key, value);
        } else if (*name == '\0') {
            free(name);
            name = kn_xstrdup(field);
        } else {
            static const char *const keys[] = {"name", "required"};
            kn_autofree char *hint = did_you_mean(key, keys, KN_ARRAY_LEN(keys));
            return fail(c, "unexpected key '%s' in '%s'%s", key, field, hint);
        }
    }
    return 0;
}

/* What BuildKit reads of a --mount value when the RUN is parsed: the CSV
 * and the from= field, which may not use variables (G-12). */
static int read_mount_ref(const pctx *c, const char *raw, kn_instr_mount_ref *ref)
{
    kn_autostrvec kn_strvec fields = KN_STRVEC_INIT;
    kn_autofree char *msg = NULL;
    if (csv_fields(raw, &fields, &msg) < 0)
        return fail(c, "failed to parse csv mounts: %s", msg);
    for (size_t i = 0; i < fields.len; i++) {
        const char *field = fields.items[i];
        const char *eq = strchr(field, '=');
        if (!eq)
            continue;
        kn_autofree char *raw_key = kn_xstrndup(field, (size_t)(eq - field));
        kn_autofree char *key = kn_str_lower(raw_key);
        if (strcmp(key, "from") != 0)
            continue;
        const char *value = eq + 1;
        const char *dollar = strchr(value, '$');
        if (dollar && dollar[1] != '\0')
            return fail(c, "'%s' doesn't support variable expansion, define alias stage instead",
                        key);
        free(ref->from);
        ref->from = kn_xstrdup(value);
    }
    return 0;
}

/* RUN (I-22, I-28, G-12): BuildKit's post-parse hooks run in file order of
 * their sources: device, mount, network, security. */
static int parse_run(const pctx *c, kn_instr *in)
{
    declare_flags(in, run_flags, KN_ARRAY_LEN(run_flags));
    if (parse_flags(c, in) < 0)
        return -1;
    fill_cmdline(&in->run.cmd, in->node, 0);
    const kn_instr_flag *dev = kn_instr_get_flag(in, "device");
    for (size_t i = 0; i < dev->values.len; i++)
        if (check_device(c, dev->values.items[i]) < 0)
            return -1;
    in->run.devices = &dev->values;
    const kn_instr_flag *mnt = kn_instr_get_flag(in, "mount");
    for (size_t i = 0; i < mnt->values.len; i++) {
        kn_instr_mount_ref ref = {mnt->values.items[i], NULL};
        int r = read_mount_ref(c, ref.raw, &ref);
        kn_vec_push(&in->run.mounts, ref);
        if (r < 0)
            return -1;
    }
    const char *net = kn_instr_get_flag(in, "network")->value;
    if (strcmp(net, "default") != 0 && strcmp(net, "none") != 0 && strcmp(net, "host") != 0) {
        kn_autofree char *q = go_quote(net);
        return fail(c, "invalid network mode %s", q);
    }
    in->run.network = net;
    const char *sec = kn_instr_get_flag(in, "security")->value;
    if (strcmp(sec, "sandbox") != 0 && strcmp(sec, "insecure") != 0) {
        kn_autofree char *q = go_quote(sec);
        return fail(c, "security %s is not valid", q);
    }
    in->run.security = sec;
    return 0;
}

/* COPY and ADD (I-21, F-14). */
static int parse_copy(const pctx *c, kn_instr *in)
{
    const char *kw = kind_names[in->kind];
    const kn_strvec *a = &in->node->args;
    if (a->len < 2)
        return fail(c,
                    "%s requires at least two arguments, but only one was provided. Destination "
                    "could not be determined",
                    kw);
    if (in->kind == KN_INSTR_COPY)
        declare_flags(in, copy_flags, KN_ARRAY_LEN(copy_flags));
    else
        declare_flags(in, add_flags, KN_ARRAY_LEN(add_flags));
    if (parse_flags(c, in) < 0)
        return -1;
    const char *dest = a->items[a->len - 1];
    if (heredoc_word(dest, NULL, NULL, NULL))
        return fail(c, "%s cannot accept a heredoc as a destination", kw);
    kn_instr_copy *cp = &in->copy;
    for (size_t i = 0; i + 1 < a->len; i++) {
        kn_instr_heredoc_src h = {0};
        bool chomp = false;
        if (!heredoc_word(a->items[i], &h.name, &h.expand, &chomp)) {
            kn_strvec_pushn(&cp->sources, a->items[i], a->lens ? a->lens[i] : strlen(a->items[i]));
            continue;
        }
        /* BuildKit looks bodies up by name; the last one of a name wins. */
        for (size_t k = 0; k < in->n_heredocs; k++)
            if (strcmp(in->heredocs[k].name, h.name) == 0)
                h.heredoc = &in->heredocs[k];
        const char *body = h.heredoc ? h.heredoc->content : "";
        h.data = chomp ? chomp_tabs(body) : kn_xstrdup(body);
        kn_vec_push(&cp->heredocs, h);
    }
    cp->dest = kn_xstrdup(dest);
    cp->chown = flag_str(in, "chown");
    cp->chmod = flag_str(in, "chmod");
    cp->link = flag_bool(in, "link");
    cp->excludes = &kn_instr_get_flag(in, "exclude")->values;
    if (in->kind == KN_INSTR_COPY) {
        cp->from = flag_str(in, "from");
        cp->parents = flag_bool(in, "parents");
    } else {
        cp->checksum = flag_str(in, "checksum");
        cp->has_keep_git_dir = kn_instr_get_flag(in, "keep-git-dir")->is_set;
        cp->keep_git_dir = flag_bool(in, "keep-git-dir");
        cp->has_unpack = kn_instr_get_flag(in, "unpack")->is_set;
        cp->unpack = flag_bool(in, "unpack");
    }
    return 0;
}

/* HEALTHCHECK duration flags: Go durations, 0 when empty or zero, else at
 * least 1ms (I-18). */
static int health_interval(const pctx *c, const kn_instr *in, const char *name, int64_t *out)
{
    const char *v = kn_instr_get_flag(in, name)->value;
    *out = 0;
    if (*v == '\0')
        return 0;
    kn_autoerr kn_err e = KN_ERR_INIT;
    int64_t d;
    if (kn_instr_parse_duration(v, &d, &e) < 0)
        return fail(c, "%s", e.msg);
    if (d == 0)
        return 0;
    if (d < 1000000)
        return fail(c, "Interval \"%s\" cannot be less than 1ms", name);
    *out = d;
    return 0;
}

/* strconv.ParseInt(s, 10, 32) with Go's messages. */
static int parse_retries(const pctx *c, const char *s0, int32_t *out)
{
    const char *s = s0;
    bool neg = false;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    kn_autofree char *q = go_quote(s0);
    if (*s == '\0')
        return fail(c, "strconv.ParseInt: parsing %s: invalid syntax", q);
    uint64_t v = 0;
    bool range = false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(c, "strconv.ParseInt: parsing %s: invalid syntax", q);
        if (v > (UINT64_MAX - 9) / 10)
            range = true;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (range || (!neg && v > INT32_MAX) || (neg && v > (uint64_t)INT32_MAX + 1))
        return fail(c, "strconv.ParseInt: parsing %s: value out of range", q);
    int64_t r = neg ? -(int64_t)v : (int64_t)v;
    if (r < 0)
        return fail(c, "--retries cannot be negative (%" PRId64 ")", r);
    *out = (int32_t)r;
    return 0;
}

/* HEALTHCHECK (I-18). NONE ignores flags (I-4). */
static int parse_healthcheck(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len == 0)
        return err_at_least_one(c, in->kind);
    kn_autofree char *typ = kn_str_upper(a->items[0]);
    kn_instr_healthcheck *h = &in->health;
    if (strcmp(typ, "NONE") == 0) {
        if (a->len != 1)
            return fail(c, "HEALTHCHECK NONE takes no arguments");
        h->is_none = true;
        kn_strvec_push(&h->test, "NONE");
        return 0;
    }
    declare_flags(in, health_flags, KN_ARRAY_LEN(health_flags));
    if (parse_flags(c, in) < 0)
        return -1;
    if (strcmp(typ, "CMD") != 0) {
        kn_autofree char *q = go_quote(typ);
        return fail(c, "Unknown type %s in HEALTHCHECK (try CMD)", q);
    }
    if (a->len == 1)
        return fail(c, "Missing command after HEALTHCHECK CMD");
    if (in->node->is_json) {
        kn_strvec_push(&h->test, "CMD");
        strvec_copy(&h->test, a, 1);
    } else {
        kn_strvec_push(&h->test, "CMD-SHELL");
        kn_strvec_push_owned(&h->test, join_args(a, 1));
    }
    if (health_interval(c, in, "interval", &h->interval) < 0 ||
        health_interval(c, in, "timeout", &h->timeout) < 0 ||
        health_interval(c, in, "start-period", &h->start_period) < 0 ||
        health_interval(c, in, "start-interval", &h->start_interval) < 0)
        return -1;
    const char *retries = kn_instr_get_flag(in, "retries")->value;
    if (*retries && parse_retries(c, retries, &h->retries) < 0)
        return -1;
    return 0;
}

/* EXPOSE (I-12): ports are checked after expansion (C-8). */
static int parse_expose(const pctx *c, kn_instr *in)
{
    if (in->node->args.len == 0)
        return err_at_least_one(c, in->kind);
    if (parse_flags(c, in) < 0)
        return -1;
    strvec_copy(&in->ports, &in->node->args, 0);
    return 0;
}

/* VOLUME (I-13) */
static int parse_volume(const pctx *c, kn_instr *in)
{
    const kn_strvec *a = &in->node->args;
    if (a->len == 0)
        return err_at_least_one(c, in->kind);
    if (parse_flags(c, in) < 0)
        return -1;
    for (size_t i = 0; i < a->len; i++) {
        char *v = kn_str_trim_space(a->items[i]);
        if (*v == '\0') {
            free(v);
            return fail(c, "VOLUME specified can not be an empty string");
        }
        kn_strvec_push_owned(&in->volumes, v);
    }
    return 0;
}

static kn_instr *parse_node(const kn_df_node *node, const pctx *c, const kn_df_heredoc *heredocs,
                            size_t n_heredocs, int end_line);

/* Trigger text (I-20): (?i)^\s*ONBUILD\s* removed, heredoc bodies re-attached. */
static char *onbuild_expression(const kn_instr *in)
{
    const char *s = in->node->original;
    while (is_re_space(*s))
        s++;
    if (strncasecmp(s, "onbuild", 7) == 0) {
        s += 7;
        while (is_re_space(*s))
            s++;
    }
    kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, s);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        kn_buf_addc(&b, '\n');
        kn_buf_adds(&b, in->heredocs[i].content);
        kn_buf_adds(&b, in->heredocs[i].name);
    }
    return kn_buf_release(&b);
}

/* ONBUILD (I-20) */
static int parse_onbuild(const pctx *c, kn_instr *in)
{
    const kn_df_node *sub = in->node->sub;
    if (!sub)
        return err_at_least_one(c, in->kind);
    if (parse_flags(c, in) < 0)
        return -1;
    kn_autofree char *trimmed = kn_str_trim_space(sub->keyword);
    kn_autofree char *trigger = kn_str_upper(trimmed);
    if (strcmp(trigger, "ONBUILD") == 0)
        return fail(c, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (strcmp(trigger, "MAINTAINER") == 0 || strcmp(trigger, "FROM") == 0)
        return fail(c, "%s isn't allowed as an ONBUILD trigger", trigger);
    in->onbuild.expression = onbuild_expression(in);
    /* The trigger is checked for plan and lint only: BuildKit accepts any
     * trigger here and fails when a stage inherits it (G-24). */
    kn_autoerr kn_err e = KN_ERR_INIT;
    pctx sc = {c->path, c->line, &e};
    in->onbuild.trigger = parse_node(sub, &sc, in->heredocs, in->n_heredocs, in->end_line);
    if (!in->onbuild.trigger)
        in->onbuild.trigger_error = kn_xstrdup(e.msg ? e.msg : "invalid trigger");
    return 0;
}

static kn_instr *parse_node(const kn_df_node *node, const pctx *c, const kn_df_heredoc *heredocs,
                            size_t n_heredocs, int end_line)
{
    kn_instr_kind kind;
    if (!kn_instr_kind_lookup(node->keyword, &kind)) {
        fail_unknown_instruction(c, node->keyword);
        return NULL;
    }
    kn_instr *in = kn_xcalloc(1, sizeof(*in));
    in->kind = kind;
    in->node = node;
    in->line = c->line;
    in->end_line = end_line;
    in->heredocs = heredocs;
    in->n_heredocs = n_heredocs;
    int r = 0;
    switch (kind) {
    case KN_INSTR_FROM:
        r = parse_from(c, in);
        break;
    case KN_INSTR_RUN:
        r = parse_run(c, in);
        break;
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT:
        r = parse_cmd(c, in);
        break;
    case KN_INSTR_SHELL:
        r = parse_shell(c, in);
        break;
    case KN_INSTR_COPY:
    case KN_INSTR_ADD:
        r = parse_copy(c, in);
        break;
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL:
        r = parse_kvs(c, in);
        break;
    case KN_INSTR_ARG:
        r = parse_arg(c, in);
        break;
    case KN_INSTR_EXPOSE:
        r = parse_expose(c, in);
        break;
    case KN_INSTR_VOLUME:
        r = parse_volume(c, in);
        break;
    case KN_INSTR_USER:
    case KN_INSTR_WORKDIR:
    case KN_INSTR_MAINTAINER:
        r = parse_single(c, in);
        break;
    case KN_INSTR_STOPSIGNAL:
        r = parse_stopsignal(c, in);
        break;
    case KN_INSTR_HEALTHCHECK:
        r = parse_healthcheck(c, in);
        break;
    case KN_INSTR_ONBUILD:
        r = parse_onbuild(c, in);
        break;
    }
    if (r < 0) {
        kn_instr_free(in);
        return NULL;
    }
    return in;
}

kn_instr *kn_instr_parse(const kn_df_node *node, const char *path, kn_err *err)
{
    pctx c = {path, node->start_line, err};
    return parse_node(node, &c, node->heredocs.items, node->heredocs.len, node->end_line);
}

static void cmdline_free(kn_instr_cmdline *cl)
{
    kn_strvec_free(&cl->argv);
    free(cl->text);
}

void kn_instr_free(kn_instr *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n_flags; i++) {
        free(in->flags[i].value);
        kn_strvec_free(&in->flags[i].values);
    }
    switch (in->kind) {
    case KN_INSTR_FROM:
        free(in->from.base);
        free(in->from.name);
        free(in->from.name_as_written);
        break;
    case KN_INSTR_RUN:
        cmdline_free(&in->run.cmd);
        for (size_t i = 0; i < in->run.mounts.len; i++)
            free(in->run.mounts.items[i].from);
        kn_vec_free(&in->run.mounts);
        break;
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT:
        cmdline_free(&in->cmd);
        break;
    case KN_INSTR_SHELL:
        cmdline_free(&in->shell);
        break;
    case KN_INSTR_COPY:
    case KN_INSTR_ADD:
        kn_strvec_free(&in->copy.sources);
        for (size_t i = 0; i < in->copy.heredocs.len; i++) {
            free(in->copy.heredocs.items[i].name);
            free(in->copy.heredocs.items[i].data);
        }
        kn_vec_free(&in->copy.heredocs);
        free(in->copy.dest);
        break;
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL:
        for (size_t i = 0; i < in->env.pairs.len; i++) {
            free(in->env.pairs.items[i].key);
            free(in->env.pairs.items[i].value);
        }
        kn_vec_free(&in->env.pairs);
        break;
    case KN_INSTR_ARG:
        for (size_t i = 0; i < in->arg.defs.len; i++) {
            free(in->arg.defs.items[i].key);
            free(in->arg.defs.items[i].value);
        }
        kn_vec_free(&in->arg.defs);
        break;
    case KN_INSTR_EXPOSE:
        kn_strvec_free(&in->ports);
        break;
    case KN_INSTR_VOLUME:
        kn_strvec_free(&in->volumes);
        break;
    case KN_INSTR_USER:
    case KN_INSTR_WORKDIR:
    case KN_INSTR_STOPSIGNAL:
    case KN_INSTR_MAINTAINER:
        free(in->value);
        break;
    case KN_INSTR_HEALTHCHECK:
        kn_strvec_free(&in->health.test);
        break;
    case KN_INSTR_ONBUILD:
        free(in->onbuild.expression);
        kn_instr_free(in->onbuild.trigger);
        free(in->onbuild.trigger_error);
        break;
    }
    free(in);
}

/* ---- the whole file ---- */

static void stage_free(kn_instr_stage *st)
{
    if (!st)
        return;
    kn_instr_free(st->from);
    for (size_t i = 0; i < st->instrs.len; i++)
        kn_instr_free(st->instrs.items[i]);
    kn_vec_free(&st->instrs);
    free(st);
}

void kn_instr_free_dockerfile(kn_dockerfile *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->global_args.len; i++)
        kn_instr_free(d->global_args.items[i]);
    kn_vec_free(&d->global_args);
    for (size_t i = 0; i < d->stages.len; i++)
        stage_free(d->stages.items[i]);
    kn_vec_free(&d->stages);
    free(d);
}

/* G-10: `COPY --from` must be literal: expanding it with no variables set
 * must give it back unchanged. */
static int check_copy_from(const pctx *c, const kn_instr *in, char escape)
{
    const char *from = in->copy.from;
    if (!from)
        return 0;
    kn_expand_env env = {lookup_none, NULL, NULL};
    kn_autofree char *out = NULL;
    kn_autoerr kn_err e = KN_ERR_INIT;
    if (kn_expand_word(from, escape, &env, &out, &e) < 0)
        return fail(c, "%s", e.msg);
    if (strcmp(out, from) != 0)
        return fail(c, "variable expansion is not supported for --from, define a new stage with "
                       "FROM using ARG from global scope as a workaround");
    return 0;
}

static void cleanup_dockerfile(kn_dockerfile **d)
{
    kn_instr_free_dockerfile(*d);
}

kn_dockerfile *kn_instr_parse_dockerfile(const kn_df *df, kn_err *err)
{
    __attribute__((cleanup(cleanup_dockerfile))) kn_dockerfile *d = kn_xcalloc(1, sizeof(*d));
    d->df = df;
    for (size_t i = 0; i < df->nodes.len; i++) {
        const kn_df_node *node = df->nodes.items[i];
        pctx c = {df->path, node->start_line, err};
        kn_instr *in = kn_instr_parse(node, df->path, err);
        if (!in)
            return NULL;
        if (in->kind == KN_INSTR_FROM) {
            kn_instr_stage *st = kn_xcalloc(1, sizeof(*st));
            st->index = d->stages.len;
            st->name = in->from.name;
            st->from = in;
            kn_vec_push(&d->stages, st);
        } else if (d->stages.len > 0) {
            kn_vec_push(&d->stages.items[d->stages.len - 1]->instrs, in);
        } else if (in->kind == KN_INSTR_ARG) {
            kn_vec_push(&d->global_args, in);
        } else {
            kn_instr_free(in);
            fail(&c, "no build stage in current context"); /* I-1 */
            return NULL;
        }
    }
    if (d->stages.len == 0) {
        /* P-4. BuildKit gives no position; point at the first ARG. */
        int line = df->nodes.len ? df->nodes.items[0]->start_line : 0;
        kn_errf_at(err, KN_EINPUT, df->path, line, "dockerfile contains no stages to build");
        return NULL;
    }
    for (size_t s = 0; s < d->stages.len; s++) {
        const kn_instr_stage *st = d->stages.items[s];
        for (size_t i = 0; i < st->instrs.len; i++) {
            const kn_instr *in = st->instrs.items[i];
            pctx c = {df->path, in->line, err};
            if (in->kind == KN_INSTR_COPY && check_copy_from(&c, in, df->escape) < 0)
                return NULL;
        }
    }
    return kn_steal_pointer(&d);
}

/* ---- RUN --mount, at execution (I-30 .. I-32) ---- */

static const char *const mount_types[] = {"bind", "cache", "tmpfs", "secret", "ssh"};
static const char *const sharing_modes[] = {"shared", "private", "locked"};

static int mount_fail(kn_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int mount_fail(kn_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_addvf(&b, fmt, ap);
    va_end(ap);
    return kn_errf(err, KN_EINPUT, "%s", b.data);
}

/* docker/go-units RAMInBytes. */
static bool ram_in_bytes(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    long sep = -1;
    for (size_t i = 0; i < len; i++)
        if (strchr("0123456789. ", s[i]))
            sep = (long)i;
    if (sep < 0)
        return false;
    size_t num_len = s[sep] != ' ' ? (size_t)sep + 1 : (size_t)sep;
    kn_autofree char *num = kn_xstrndup(s, num_len);
    const char *sfx = s + sep + 1;
    /* strconv.ParseFloat: no blanks, no hex, nothing left over. */
    if (*num == '\0' || strpbrk(num, " \t\n\v\f\rxXpP_"))
        return false;
    char *end;
    errno = 0;
    double size = strtod(num, &end);
    if (*end != '\0' || errno == ERANGE)
        return false;
    if (size < 0)
        return false;
    size_t sl = strlen(sfx);
    if (sl > 0) {
        if (sl > 3)
            return false;
        kn_autofree char *l = kn_str_lower(sfx);
        if (l[0] == 'b') {
            if (sl > 1)
                return false;
        } else {
            const char *units = "kmgtp";
            const char *u = strchr(units, l[0]);
            if (!u || l[0] == '\0')
                return false;
            for (long k = 0; k <= u - units; k++)
                size *= 1024; /* powers of two: exact, as Go's size * float64(mul) */
            if ((sl == 2 && l[1] != 'b') || (sl == 3 && strcmp(l + 1, "ib") != 0))
                return false;
        }
    }
    /* Go's int64(float64) on amd64 gives INT64_MIN out of range. */
    *out = (isnan(size) || size >= 9223372036854775807.0) ? INT64_MIN : (int64_t)size;
    return true;
}

void kn_instr_mount_free(kn_instr_mount *m)
{
    free(m->from);
    free(m->source);
    free(m->target);
    free(m->id);
    free(m->env);
    memset(m, 0, sizeof(*m));
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = *v ? kn_xstrdup(v) : NULL;
}

static int parse_mount(const char *raw, kn_instr_expand_fn expand, void *ctx, kn_instr_mount *m,
                       kn_err *err)
{
    kn_autostrvec kn_strvec fields = KN_STRVEC_INIT;
    kn_autofree char *msg = NULL;
    if (csv_fields(raw, &fields, &msg) < 0)
        return mount_fail(err, "failed to parse csv mounts: %s", msg);
    bool ro_auto = true;
    for (size_t i = 0; i < fields.len; i++) {
        const char *field = fields.items[i];
        const char *eq = strchr(field, '=');
        kn_autofree char *raw_key = eq ? kn_xstrndup(field, (size_t)(eq - field)) : NULL;
        kn_autofree char *key = kn_str_lower(raw_key ? raw_key : field);
        const char *type = mount_types[m->type];
        bool secret_or_ssh = m->type == KN_INSTR_MOUNT_SECRET || m->type == KN_INSTR_MOUNT_SSH;
        if (!eq) {
            if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
                m->readonly = true;
                ro_auto = false;
            } else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
                m->readonly = false;
                ro_auto = false;
            } else if (strcmp(key, "required") == 0) {
                if (!secret_or_ssh)
                    return mount_fail(err, "unexpected key '%s' for mount type '%s'", key, type);
                m->required = true;
            } else {
                return mount_fail(err, "invalid field '%s' must be a key=value pair", field);
            }
            continue;
        }
        kn_autofree char *value = NULL;
        if (expand(ctx, eq + 1, &value, err) < 0)
            return -1;
        bool b;
        if (strcmp(key, "type") == 0) {
            kn_autofree char *v = kn_str_lower(value);
            size_t t = 0;
            while (t < KN_ARRAY_LEN(mount_types) && strcmp(v, mount_types[t]) != 0)
                t++;
            if (t == KN_ARRAY_LEN(mount_types)) {
                kn_autofree char *q = go_quote(value);
                kn_autofree char *hint =
                    did_you_mean(value, mount_types, KN_ARRAY_LEN(mount_types));
                return mount_fail(err, "unsupported mount type %s%s", q, hint);
            }
            m->type = (kn_instr_mount_type)t;
        } else if (strcmp(key, "from") == 0) {
            set_str(&m->from, value);
        } else if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0) {
            set_str(&m->source, value);
        } else if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 ||
                   strcmp(key, "destination") == 0) {
            set_str(&m->target, value);
        } else if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
            if (!parse_go_bool(value, &b))
                return mount_fail(err, "invalid value for %s: %s", key, value);
            m->readonly = b;
            ro_auto = false;
        } else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
            if (!parse_go_bool(value, &b))
                return mount_fail(err, "invalid value for %s: %s", key, value);
            m->readonly = !b;
            ro_auto = false;
        } else if (strcmp(key, "required") == 0) {
            if (!secret_or_ssh)
                return mount_fail(err, "unexpected key '%s' for mount type '%s'", key, type);
            if (!parse_go_bool(value, &b))
                return mount_fail(err, "invalid value for %s: %s", key, value);
            m->required = b;
        } else if (strcmp(key, "size") == 0) {
            if (m->type != KN_INSTR_MOUNT_TMPFS)
                return mount_fail(err, "unexpected key '%s' for mount type '%s'", key, type);
            if (!ram_in_bytes(value, &m->size))
                return mount_fail(err, "invalid value for %s: %s", key, value);
        } else if (strcmp(key, "id") == 0) {
            set_str(&m->id, value);
        } else if (strcmp(key, "sharing") == 0) {
            kn_autofree char *v = kn_str_lower(value);
            size_t t = 0;
            while (t < KN_ARRAY_LEN(sharing_modes) && strcmp(v, sharing_modes[t]) != 0)
                t++;
            if (t == KN_ARRAY_LEN(sharing_modes)) {
                kn_autofree char *q = go_quote(value);
                kn_autofree char *hint =
                    did_you_mean(value, sharing_modes, KN_ARRAY_LEN(sharing_modes));
                return mount_fail(err, "unsupported sharing value %s%s", q, hint);
            }
            m->sharing = (kn_instr_mount_sharing)(t + 1);
        } else if (strcmp(key, "mode") == 0) {
            if (!parse_go_uint32(value, 8, &m->mode))
                return mount_fail(err, "invalid value %s for mode", value);
            m->has_mode = true;
        } else if (strcmp(key, "uid") == 0) {
            if (!parse_go_uint32(value, 10, &m->uid))
                return mount_fail(err, "invalid value %s for uid", value);
            m->has_uid = true;
        } else if (strcmp(key, "gid") == 0) {
            if (!parse_go_uint32(value, 10, &m->gid))
                return mount_fail(err, "invalid value %s for gid", value);
            m->has_gid = true;
        } else if (strcmp(key, "env") == 0) {
            free(m->env);
            m->env = kn_xstrdup(value);
        } else {
            static const char *const keys[] = {
                "type",        "from", "source", "target",    "readonly", "id",  "sharing",
                "required",    "size", "mode",   "uid",       "gid",      "src", "dst",
                "destination", "ro",   "rw",     "readwrite", "env",
            };
            kn_autofree char *hint = did_you_mean(key, keys, KN_ARRAY_LEN(keys));
            return mount_fail(err, "unexpected key '%s' in '%s'%s", key, field, hint);
        }
    }
    const char *type = mount_types[m->type];
    bool file_info = m->type == KN_INSTR_MOUNT_SECRET || m->type == KN_INSTR_MOUNT_SSH ||
                     m->type == KN_INSTR_MOUNT_CACHE;
    if (!file_info) {
        if (m->has_mode)
            return mount_fail(err, "mode not allowed for \"%s\" type mounts", type);
        if (m->has_uid)
            return mount_fail(err, "uid not allowed for \"%s\" type mounts", type);
        if (m->has_gid)
            return mount_fail(err, "gid not allowed for \"%s\" type mounts", type);
    }
    if (ro_auto)
        m->readonly = !(m->type == KN_INSTR_MOUNT_CACHE || m->type == KN_INSTR_MOUNT_TMPFS);
    if (m->type == KN_INSTR_MOUNT_SECRET) {
        if (m->from)
            return mount_fail(err, "secret mount should not have a from");
        if (m->sharing != KN_INSTR_MOUNT_SHARING_UNSET)
            return mount_fail(err, "secret mount should not define sharing");
        if (!m->source && !m->target && !m->id)
            return mount_fail(err, "invalid secret mount. one of source, target required");
        if (m->source && m->id)
            return mount_fail(err, "both source and id can't be set");
    }
    if (m->sharing != KN_INSTR_MOUNT_SHARING_UNSET && m->type != KN_INSTR_MOUNT_CACHE)
        return mount_fail(err, "invalid cache sharing set for %s mount", type);
    return 0;
}

int kn_instr_parse_mount(const char *raw, kn_instr_expand_fn expand, void *ctx, kn_instr_mount *out,
                         kn_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = KN_INSTR_MOUNT_BIND;
    if (parse_mount(raw, expand, ctx, out, err) < 0) {
        kn_instr_mount_free(out);
        return -1;
    }
    return 0;
}

/* ---- JSON ---- */

/* A JSON string of len bytes; bytes that are not UTF-8 become U+FFFD, as Go's
 * encoder does (jansson refuses them). */
static json_t *jstrn(const char *s, size_t len)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    size_t i = 0;
    while (i < len) {
        bool valid;
        size_t n = kn_utf8_decode(s + i, len - i, &valid);
        if (valid)
            kn_buf_add(&b, s + i, n);
        else
            kn_buf_add(&b, "\xef\xbf\xbd", 3);
        i += n;
    }
    return json_stringn(b.data, b.len);
}

static json_t *jstr(const char *s)
{
    return s ? jstrn(s, strlen(s)) : json_null();
}

static json_t *jstrvec(const kn_strvec *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && i < v->len; i++)
        json_array_append_new(a, jstrn(v->items[i], v->lens ? v->lens[i] : strlen(v->items[i])));
    return a;
}

static json_t *flags_json(const kn_instr *in)
{
    json_t *o = json_object();
    for (size_t i = 0; i < in->n_flags; i++) {
        const kn_instr_flag *f = &in->flags[i];
        if (!f->is_set)
            continue;
        json_t *v;
        if (f->type == KN_FLAG_STRINGS)
            v = jstrvec(&f->values);
        else if (f->type == KN_FLAG_BOOL)
            v = json_boolean(strcmp(f->value, "true") == 0);
        else
            v = jstr(f->value);
        json_object_set_new(o, f->name, v);
    }
    return o;
}

static void cmdline_json(json_t *o, const kn_instr_cmdline *cl)
{
    if (cl->is_exec)
        json_object_set_new(o, "exec", jstrvec(&cl->argv));
    else
        json_object_set_new(o, "shell", jstr(cl->text));
}

static json_t *kvs_json(const kn_instr_kvs *kvs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < kvs->pairs.len; i++)
        json_array_append_new(a, json_pack("{s:o,s:o}", "key", jstr(kvs->pairs.items[i].key),
                                           "value", jstr(kvs->pairs.items[i].value)));
    return a;
}

static json_t *arg_defs_json(const kn_instr_args *args, bool with_line, int line)
{
    json_t *a = json_array();
    for (size_t i = 0; i < args->defs.len; i++) {
        json_t *o = json_pack("{s:o,s:o}", "key", jstr(args->defs.items[i].key), "default",
                              jstr(args->defs.items[i].value));
        if (with_line)
            json_object_set_new(o, "line", json_integer(line));
        json_array_append_new(a, o);
    }
    return a;
}

static void copy_json(json_t *o, const kn_instr *in)
{
    const kn_instr_copy *cp = &in->copy;
    json_object_set_new(o, "sources", jstrvec(&cp->sources));
    json_t *hs = json_array();
    for (size_t i = 0; i < cp->heredocs.len; i++) {
        const kn_instr_heredoc_src *h = &cp->heredocs.items[i];
        json_array_append_new(hs, json_pack("{s:o,s:o,s:b}", "name", jstr(h->name), "content",
                                            jstr(h->data), "expand", h->expand));
    }
    json_object_set_new(o, "heredoc_sources", hs);
    json_object_set_new(o, "dest", jstr(cp->dest));
    json_object_set_new(o, "chown", jstr(cp->chown));
    json_object_set_new(o, "chmod", jstr(cp->chmod));
    json_object_set_new(o, "link", json_boolean(cp->link));
    json_object_set_new(o, "exclude", jstrvec(cp->excludes));
    if (in->kind == KN_INSTR_COPY) {
        json_object_set_new(o, "from", jstr(cp->from));
        json_object_set_new(o, "parents", json_boolean(cp->parents));
    } else {
        json_object_set_new(o, "checksum", jstr(cp->checksum));
        json_object_set_new(o, "keep_git_dir",
                            cp->has_keep_git_dir ? json_boolean(cp->keep_git_dir) : json_null());
        json_object_set_new(o, "unpack", cp->has_unpack ? json_boolean(cp->unpack) : json_null());
    }
}

json_t *kn_instr_to_json(const kn_instr *in)
{
    kn_autofree char *kind = kn_str_lower(kind_names[in->kind]);
    json_t *o = json_object();
    json_object_set_new(o, "kind", jstr(kind));
    json_object_set_new(o, "line", json_integer(in->line));
    json_object_set_new(o, "end_line", json_integer(in->end_line));
    json_object_set_new(o, "original", jstr(in->node->original));
    json_object_set_new(o, "flags", flags_json(in));
    json_t *hs = json_array();
    for (size_t i = 0; i < in->n_heredocs; i++) {
        const kn_df_heredoc *h = &in->heredocs[i];
        json_array_append_new(hs,
                              json_pack("{s:o,s:o,s:b,s:b}", "name", jstr(h->name), "content",
                                        jstr(h->content), "expand", h->expand, "chomp", h->chomp));
    }
    json_object_set_new(o, "heredocs", hs);
    switch (in->kind) {
    case KN_INSTR_FROM:
        json_object_set_new(o, "base", jstr(in->from.base));
        json_object_set_new(o, "name", jstr(in->from.name));
        json_object_set_new(o, "name_as_written", jstr(in->from.name_as_written));
        json_object_set_new(o, "platform", jstr(in->from.platform));
        break;
    case KN_INSTR_RUN: {
        cmdline_json(o, &in->run.cmd);
        json_t *m = json_array();
        for (size_t i = 0; i < in->run.mounts.len; i++)
            json_array_append_new(m, jstr(in->run.mounts.items[i].raw));
        json_object_set_new(o, "mounts", m);
        json_object_set_new(o, "network", jstr(in->run.network));
        json_object_set_new(o, "security", jstr(in->run.security));
        break;
    }
    case KN_INSTR_CMD:
    case KN_INSTR_ENTRYPOINT:
        cmdline_json(o, &in->cmd);
        break;
    case KN_INSTR_SHELL:
        cmdline_json(o, &in->shell);
        break;
    case KN_INSTR_COPY:
    case KN_INSTR_ADD:
        copy_json(o, in);
        break;
    case KN_INSTR_ENV:
    case KN_INSTR_LABEL:
        json_object_set_new(o, in->kind == KN_INSTR_ENV ? "env" : "labels", kvs_json(&in->env));
        json_object_set_new(o, "legacy", json_boolean(in->env.is_legacy));
        break;
    case KN_INSTR_ARG:
        json_object_set_new(o, "args", arg_defs_json(&in->arg, false, 0));
        break;
    case KN_INSTR_EXPOSE:
        json_object_set_new(o, "ports", jstrvec(&in->ports));
        break;
    case KN_INSTR_VOLUME:
        json_object_set_new(o, "volumes", jstrvec(&in->volumes));
        break;
    case KN_INSTR_USER:
        json_object_set_new(o, "user", jstr(in->value));
        break;
    case KN_INSTR_WORKDIR:
        json_object_set_new(o, "path", jstr(in->value));
        break;
    case KN_INSTR_STOPSIGNAL:
        json_object_set_new(o, "signal", jstr(in->value));
        break;
    case KN_INSTR_MAINTAINER:
        json_object_set_new(o, "maintainer", jstr(in->value));
        break;
    case KN_INSTR_HEALTHCHECK:
        json_object_set_new(o, "test", jstrvec(&in->health.test));
        json_object_set_new(o, "interval", json_integer(in->health.interval));
        json_object_set_new(o, "timeout", json_integer(in->health.timeout));
        json_object_set_new(o, "start_period", json_integer(in->health.start_period));
        json_object_set_new(o, "start_interval", json_integer(in->health.start_interval));
        json_object_set_new(o, "retries", json_integer(in->health.retries));
        break;
    case KN_INSTR_ONBUILD:
        json_object_set_new(o, "expression", jstr(in->onbuild.expression));
        json_object_set_new(o, "trigger",
                            in->onbuild.trigger ? kn_instr_to_json(in->onbuild.trigger)
                                                : json_null());
        json_object_set_new(o, "trigger_error", jstr(in->onbuild.trigger_error));
        break;
    }
    return o;
}

json_t *kn_instr_dockerfile_to_json(const kn_dockerfile *d)
{
    char esc[2] = {d->df->escape, '\0'};
    json_t *args = json_array();
    for (size_t i = 0; i < d->global_args.len; i++) {
        const kn_instr *in = d->global_args.items[i];
        json_t *defs = arg_defs_json(&in->arg, true, in->line);
        json_array_extend(args, defs);
        json_decref(defs);
    }
    json_t *stages = json_array();
    for (size_t s = 0; s < d->stages.len; s++) {
        const kn_instr_stage *st = d->stages.items[s];
        const kn_instr_from *f = &st->from->from;
        json_t *instrs = json_array();
        for (size_t i = 0; i < st->instrs.len; i++)
            json_array_append_new(instrs, kn_instr_to_json(st->instrs.items[i]));
        json_t *from = json_pack("{s:o,s:o,s:o}", "base", jstr(f->base), "name_as_written",
                                 jstr(f->name_as_written), "platform", jstr(f->platform));
        json_array_append_new(stages,
                              json_pack("{s:I,s:o,s:I,s:o,s:o}", "index", (json_int_t)st->index,
                                        "name", jstr(st->name), "line", (json_int_t)st->from->line,
                                        "from", from, "instructions", instrs));
    }
    return json_pack("{s:o,s:o,s:o}", "escape", jstr(esc), "args", args, "stages", stages);
}
