/* Dockerfile parser. The structure follows BuildKit's parser (SEMANTICS part
 * 1): physical lines are read one at a time, joined across continuations,
 * split into keyword, flags and rest, and the rest is shaped per instruction.
 * Rule IDs in comments point at SEMANTICS.md. */
#include "frontend/df.h"

#include "base/buf.h"
#include "base/mem.h"
#include "frontend/expand.h"
#include "base/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* P-3: BuildKit's line scanner holds at most 64 KiB including the newline. */
#define MAX_LINE_CONTENT 65535
/* Go's JSON decoder gives up past this nesting depth. */
#define MAX_JSON_DEPTH 10000

typedef struct span {
    const char *p;
    size_t len;
} span;

/* ---- character classes ---- */

/* reWhitespace in BuildKit: [\t\v\f\r ] (no newline). */
static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static span trim_left_uspace(span s)
{
    size_t n;
    while (s.len && (n = kn_utf8_space_len(s.p, s.len)) > 0) {
        s.p += n;
        s.len -= n;
    }
    return s;
}

/* Go strings.TrimSpace: Unicode space on both ends. */
static span trim_uspace(span s)
{
    s = trim_left_uspace(s);
    while (s.len) {
        /* Step back to the start of the last character (at most 4 bytes). */
        size_t start = s.len - 1;
        while (start > 0 && s.len - start < 4 && ((unsigned char)s.p[start] & 0xC0) == 0x80)
            start--;
        size_t n = kn_utf8_space_len(s.p + start, s.len - start);
        if (n == 0 || start + n != s.len)
            break;
        s.len = start;
    }
    return s;
}

static span trim_newline(span s)
{
    while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r'))
        s.len--;
    return s;
}

static bool is_comment(span line)
{
    line = trim_left_uspace(line);
    return line.len > 0 && line.p[0] == '#';
}

/* ---- parser state ---- */

typedef struct parser {
    const char *path;
    const char *data;
    size_t len;
    size_t pos;
    int line_no; /* physical lines consumed so far */
    char escape;
    bool directives_done;
    kn_df *df;
    kn_err *err;
} parser;

/* Next physical line including its '\n' (if any). False at end of input;
 * -1 in *bad when the line is too long (P-3). */
static bool next_line(parser *ps, span *line, bool *too_long)
{
    *too_long = false;
    if (ps->pos >= ps->len)
        return false;
    const char *start = ps->data + ps->pos;
    size_t rest = ps->len - ps->pos;
    const char *nl = memchr(start, '\n', rest);
    size_t n = nl ? (size_t)(nl - start) + 1 : rest;
    size_t content = nl ? n - 1 : n;
    if (content > MAX_LINE_CONTENT)
        *too_long = true;
    line->p = start;
    line->len = n;
    ps->pos += n;
    return true;
}

static int fail(parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *ps, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_buf b = KN_BUF_INIT;
    kn_buf_addvf(&b, fmt, ap);
    va_end(ap);
    kn_errf_at(ps->err, KN_EINPUT, ps->path, line, "%s", b.data);
    kn_buf_free(&b);
    return -1;
}

/* ---- directives (P-5 .. P-8) ---- */

static bool is_go_re_space(char c)
{
    /* \s in Go's RE2 syntax */
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Look at a line (newline trimmed, left-trimmed) for a parser directive.
 * Returns 1 when it is one, 0 when not, -1 on error. */
static int parse_directive(parser *ps, span s, int line)
{
    if (ps->directives_done)
        return 0;
    if (s.len == 0 || s.p[0] != '#') {
        ps->directives_done = true;
        return 0;
    }
    s.p++;
    s.len--;
    s = trim_left_uspace(s);
    /* ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ */
    size_t i = 0;
    if (i >= s.len || !is_alpha(s.p[i])) {
        ps->directives_done = true;
        return 0;
    }
    while (i < s.len && (is_alpha(s.p[i]) || is_digit(s.p[i])))
        i++;
    size_t name_len = i;
    while (i < s.len && is_go_re_space(s.p[i]))
        i++;
    if (i >= s.len || s.p[i] != '=') {
        ps->directives_done = true;
        return 0;
    }
    i++;
    while (i < s.len && is_go_re_space(s.p[i]))
        i++;
    size_t vstart = i, vend = s.len;
    while (vend > vstart && is_go_re_space(s.p[vend - 1]))
        vend--;
    if (vend == vstart) {
        ps->directives_done = true;
        return 0;
    }
    kn_autofree char *name = kn_xstrndup(s.p, name_len);
    for (char *c = name; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    if (strcmp(name, "syntax") != 0 && strcmp(name, "escape") != 0 && strcmp(name, "check") != 0) {
        ps->directives_done = true;
        return 0;
    }
    kn_df *df = ps->df;
    for (size_t k = 0; k < df->directives.len; k++)
        if (strcmp(df->directives.items[k].name, name) == 0)
            return fail(ps, line, "only one %s parser directive can be used", name);
    char *value = kn_xstrndup(s.p + vstart, vend - vstart);
    if (strcmp(name, "escape") == 0) {
        if (strcmp(value, "`") != 0 && strcmp(value, "\\") != 0) {
            fail(ps, line, "invalid escape token '%s' does not match ` or \\", value);
            free(value);
            return -1;
        }
        ps->escape = value[0];
    }
    kn_df_directive d = {kn_steal_pointer(&name), value, line};
    kn_vec_push(&df->directives, d);
    return 1;
}

/* ---- continuation (P-14, P-15) ---- */

/* Remove a continuation escape from the end of s. Returns true when the line
 * ends the instruction (no continuation). */
static bool trim_continuation(span *s, char esc)
{
    size_t p = s->len;
    while (p > 0 && (s->p[p - 1] == ' ' || s->p[p - 1] == '\t'))
        p--;
    if (p == 0 || s->p[p - 1] != esc)
        return true;
    if (p >= 2 && s->p[p - 2] == esc)
        return true; /* P-15: two escapes never continue */
    s->len = p - 1;
    return false;
}

/* ---- flags (P-23) ---- */

/* Read leading "--" words off `rest` into flags; *remaining gets the rest. */
static void extract_flags(span rest, char esc, kn_strvec *flags, span *remaining)
{
    size_t i = 0;
    kn_buf w = KN_BUF_INIT;
    for (;;) {
        size_t n;
        while (i < rest.len && (n = kn_utf8_space_len(rest.p + i, rest.len - i)) > 0)
            i += n;
        if (i >= rest.len) {
            *remaining = (span){rest.p + i, 0};
            break;
        }
        if (!(rest.p[i] == '-' && i + 1 < rest.len && rest.p[i + 1] == '-')) {
            *remaining = (span){rest.p + i, rest.len - i};
            break;
        }
        /* One flag word: quotes removed, escapes resolved. */
        kn_buf_reset(&w);
        bool blank_ok = false;
        char quote = 0;
        while (i < rest.len) {
            char c = rest.p[i];
            if (!quote) {
                if ((n = kn_utf8_space_len(rest.p + i, rest.len - i)) > 0)
                    break;
                if (c == '\'' || c == '"') {
                    quote = c;
                    blank_ok = true;
                    i++;
                    continue;
                }
            } else if (c == quote) {
                quote = 0;
                i++;
                continue;
            }
            if (c == esc) {
                if (i + 1 == rest.len) {
                    i++;
                    continue; /* an escape at the very end is dropped */
                }
                i++;
                c = rest.p[i];
            }
            kn_buf_addc(&w, c);
            i++;
        }
        if (w.len == 2 && memcmp(w.data, "--", 2) == 0) {
            /* "--" ends the flags and is dropped (P-23). */
            *remaining = (span){rest.p + i, rest.len - i};
            break;
        }
        if (blank_ok || w.len > 0)
            kn_strvec_pushn(flags, w.data, w.len);
    }
    kn_buf_free(&w);
}

/* ---- argument forms (P-26 .. P-30) ---- */

/* Split on runs of [\t\v\f\r ] (BuildKit's reWhitespace.Split(s, -1)). */
static void split_ws(span s, kn_strvec *out)
{
    size_t i = 0, start = 0;
    while (i <= s.len) {
        if (i == s.len || is_ws(s.p[i])) {
            kn_strvec_pushn(out, s.p + start, i - start);
            if (i == s.len)
                break;
            while (i < s.len && is_ws(s.p[i]))
                i++;
            start = i;
            continue;
        }
        i++;
    }
}

/* Append a rune as UTF-8; invalid input bytes become U+FFFD, as Go's
 * strings.Builder.WriteRune(utf8.RuneError) does. */
static void add_rune(kn_buf *b, const char *p, size_t n, bool valid)
{
    if (valid)
        kn_buf_add(b, p, n);
    else
        kn_buf_add(b, "\xef\xbf\xbd", 3);
}

/* Words for ENV/LABEL/ARG (P-27): split on unquoted Unicode space; quotes
 * and escape pairs are kept verbatim. */
static void parse_words(span s, char esc, kn_strvec *out)
{
    enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
    char quote = 0;
    bool blank_ok = false;
    kn_buf w = KN_BUF_INIT;
    size_t i = 0;
    while (i <= s.len) {
        if (i == s.len) {
            if (phase != IN_SPACES && (blank_ok || w.len > 0))
                kn_strvec_pushn(out, w.data, w.len);
            break;
        }
        bool valid;
        size_t n = kn_utf8_decode(s.p + i, s.len - i, &valid);
        const char *c = s.p + i;
        if (phase == IN_SPACES) {
            if (kn_utf8_space_len(c, s.len - i)) {
                i += n;
                continue;
            }
            phase = IN_WORD;
        }
        if (phase == IN_WORD) {
            if (kn_utf8_space_len(c, s.len - i)) {
                phase = IN_SPACES;
                if (blank_ok || w.len > 0)
                    kn_strvec_pushn(out, w.data, w.len);
                kn_buf_reset(&w);
                blank_ok = false;
                i += n;
                continue;
            }
            if (*c == '\'' || *c == '"') {
                quote = *c;
                blank_ok = true;
                phase = IN_QUOTE;
            }
            if (*c == esc) {
                if (i + n == s.len) {
                    i += n;
                    continue; /* escape at end of line is dropped */
                }
                kn_buf_addc(&w, esc);
                i += n;
                c = s.p + i;
                n = kn_utf8_decode(c, s.len - i, &valid);
            }
            add_rune(&w, c, n, valid);
            i += n;
            continue;
        }
        /* IN_QUOTE */
        if (*c == quote)
            phase = IN_WORD;
        if (*c == esc && quote != '\'') {
            if (i + n == s.len) {
                phase = IN_WORD;
                i += n;
                continue;
            }
            kn_buf_addc(&w, esc);
            i += n;
            c = s.p + i;
            n = kn_utf8_decode(c, s.len - i, &valid);
        }
        add_rune(&w, c, n, valid);
        i += n;
    }
    kn_buf_free(&w);
}

/* A strict JSON reader with Go's decoding rules (P-29): invalid UTF-8 in
 * strings becomes U+FFFD, lone surrogates too, and a number that overflows a
 * float64 makes the whole value unusable. jansson differs on all three, so
 * the Dockerfile grammar carries its own reader. */
typedef struct json_reader {
    const char *p, *end;
    bool all_strings; /* top-level array held only strings */
    kn_strvec *out;   /* decoded top-level strings */
} json_reader;

static void json_ws(json_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool json_hex4(json_reader *r, unsigned *out)
{
    if (r->end - r->p < 4)
        return false;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(r->p[k]);
        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    r->p += 4;
    *out = v;
    return true;
}

/* Reads a string at r->p (on the opening quote); decoded into b if non-NULL. */
static bool json_string(json_reader *r, kn_buf *b)
{
    r->p++;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            r->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            r->p++;
            if (r->p >= r->end)
                return false;
            char e = *r->p++;
            char lit = 0;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                lit = e;
                break;
            case 'b':
                lit = '\b';
                break;
            case 'f':
                lit = '\f';
                break;
            case 'n':
                lit = '\n';
                break;
            case 'r':
                lit = '\r';
                break;
            case 't':
                lit = '\t';
                break;
            case 'u': {
                unsigned cp;
                if (!json_hex4(r, &cp))
                    return false;
                if (cp >= 0xD800 && cp < 0xDC00) {
                    /* A high surrogate pairs only with a following \uDC00-DFFF. */
                    const char *save = r->p;
                    unsigned lo;
                    if (r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
                        r->p += 2;
                        if (json_hex4(r, &lo) && lo >= 0xDC00 && lo < 0xE000)
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        else {
                            r->p = save;
                            cp = 0xFFFD;
                        }
                    } else {
                        cp = 0xFFFD;
                    }
                } else if (cp >= 0xDC00 && cp < 0xE000) {
                    cp = 0xFFFD;
                }
                if (b)
                    kn_utf8_append(b, cp);
                continue;
            }
            default:
                return false;
            }
            if (b)
                kn_buf_addc(b, lit);
            continue;
        }
        bool valid;
        size_t n = kn_utf8_decode(r->p, (size_t)(r->end - r->p), &valid);
        if (b)
            add_rune(b, r->p, n, valid);
        r->p += n;
    }
    return false;
}

static bool json_number(json_reader *r)
{
    const char *start = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end)
        return false;
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    } else {
        return false;
    }
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            return false;
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            return false;
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    }
    /* Go decodes into float64: an overflow is an error for the whole value. */
    kn_autofree char *num = kn_xstrndup(start, (size_t)(r->p - start));
    double d = strtod(num, NULL);
    return !isinf(d);
}

static bool json_literal(json_reader *r, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
        return false;
    r->p += n;
    return true;
}

static bool json_value(json_reader *r, int depth, bool top);

static bool json_array(json_reader *r, int depth, bool top)
{
    r->p++;
    json_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return true;
    }
    for (;;) {
        json_ws(r);
        if (r->p >= r->end)
            return false;
        if (top && *r->p == '"') {
            kn_buf b = KN_BUF_INIT;
            bool ok = json_string(r, &b);
            if (ok)
                kn_strvec_pushn(r->out, b.data, b.len);
            kn_buf_free(&b);
            if (!ok)
                return false;
        } else {
            if (top)
                r->all_strings = false;
            if (!json_value(r, depth + 1, false))
                return false;
        }
        json_ws(r);
        if (r->p >= r->end)
            return false;
        if (*r->p == ']') {
            r->p++;
            return true;
        }
        if (*r->p != ',')
            return false;
        r->p++;
    }
}

static bool json_object(json_reader *r, int depth)
{
    r->p++;
    json_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return true;
    }
    for (;;) {
        json_ws(r);
        if (r->p >= r->end || *r->p != '"' || !json_string(r, NULL))
            return false;
        json_ws(r);
        if (r->p >= r->end || *r->p != ':')
            return false;
        r->p++;
        if (!json_value(r, depth + 1, false))
            return false;
        json_ws(r);
        if (r->p >= r->end)
            return false;
        if (*r->p == '}') {
            r->p++;
            return true;
        }
        if (*r->p != ',')
            return false;
        r->p++;
    }
}

static bool json_value(json_reader *r, int depth, bool top)
{
    if (depth > MAX_JSON_DEPTH)
        return false;
    json_ws(r);
    if (r->p >= r->end)
        return false;
    switch (*r->p) {
    case '[':
        return json_array(r, depth, top);
    case '{':
        return json_object(r, depth);
    case '"':
        return json_string(r, NULL);
    case 't':
        return json_literal(r, "true");
    case 'f':
        return json_literal(r, "false");
    case 'n':
        return json_literal(r, "null");
    default:
        return json_number(r);
    }
}

enum { JSON_NOT, JSON_OK, JSON_NOT_STRINGS };

/* P-29, P-30: JSON_OK with the strings in out, JSON_NOT (fall back to the
 * other form), or JSON_NOT_STRINGS (a hard error). */
static int parse_json(span s, kn_strvec *out)
{
    s = trim_left_uspace(s);
    if (s.len == 0 || s.p[0] != '[')
        return JSON_NOT;
    kn_strvec tmp = KN_STRVEC_INIT;
    json_reader r = {s.p, s.p + s.len, true, &tmp};
    bool ok = json_value(&r, 0, true);
    if (ok) {
        json_ws(&r);
        ok = r.p == r.end;
    }
    if (!ok) {
        kn_strvec_free(&tmp);
        return JSON_NOT;
    }
    if (!r.all_strings) {
        kn_strvec_free(&tmp);
        return JSON_NOT_STRINGS;
    }
    for (size_t i = 0; i < tmp.len; i++)
        kn_strvec_pushn(out, tmp.items[i], tmp.lens[i]);
    kn_strvec_free(&tmp);
    return JSON_OK;
}

static const char *const not_strings_msg =
    "when using JSON array syntax, arrays must be comprised of strings only";

/* ---- nodes ---- */

static void node_free(kn_df_node *n)
{
    if (!n)
        return;
    free(n->keyword);
    free(n->original);
    kn_strvec_free(&n->flags);
    kn_strvec_free(&n->args);
    node_free(n->sub);
    for (size_t i = 0; i < n->heredocs.len; i++) {
        free(n->heredocs.items[i].name);
        free(n->heredocs.items[i].content);
    }
    kn_vec_free(&n->heredocs);
    kn_strvec_free(&n->comments);
    free(n);
}

static bool keyword_is(const char *kw, const char *lower)
{
    return strcasecmp(kw, lower) == 0;
}

static int parse_name_val(parser *ps, int line, span rest, const char *what, kn_df_node *n)
{
    kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
    parse_words(rest, ps->escape, &words);
    if (words.len == 0)
        return 0;
    if (!memchr(words.items[0], '=', words.lens[0])) {
        /* Legacy form `KEY name value` (P-27). */
        size_t i = 0;
        while (i < rest.len && !is_ws(rest.p[i]))
            i++;
        if (i == rest.len)
            return fail(ps, line, "%s must have two arguments", what);
        kn_strvec_pushn(&n->args, rest.p, i);
        while (i < rest.len && is_ws(rest.p[i]))
            i++;
        kn_strvec_pushn(&n->args, rest.p + i, rest.len - i);
        kn_strvec_push(&n->args, "");
        return 0;
    }
    for (size_t k = 0; k < words.len; k++) {
        const char *w = words.items[k];
        size_t wlen = words.lens[k];
        const char *eq = memchr(w, '=', wlen);
        if (!eq) {
            kn_buf q = KN_BUF_INIT;
            kn_df_quote(&q, w, wlen);
            fail(ps, line, "Syntax error - can't find = in %s. Must be of the form: name=value",
                 q.data);
            kn_buf_free(&q);
            return -1;
        }
        kn_strvec_pushn(&n->args, w, (size_t)(eq - w));
        kn_strvec_pushn(&n->args, eq + 1, wlen - (size_t)(eq + 1 - w));
        kn_strvec_push(&n->args, "=");
    }
    return 0;
}

static int parse_maybe_json(parser *ps, int line, span rest, kn_df_node *n)
{
    if (rest.len == 0)
        return 0;
    int r = parse_json(rest, &n->args);
    if (r == JSON_OK) {
        n->is_json = true;
        return 0;
    }
    if (r == JSON_NOT_STRINGS)
        return fail(ps, line, "%s", not_strings_msg);
    kn_strvec_pushn(&n->args, rest.p, rest.len);
    return 0;
}

static int parse_maybe_json_list(parser *ps, int line, span rest, kn_df_node *n)
{
    int r = parse_json(rest, &n->args);
    if (r == JSON_OK) {
        n->is_json = true;
        return 0;
    }
    if (r == JSON_NOT_STRINGS)
        return fail(ps, line, "%s", not_strings_msg);
    if (rest.len)
        split_ws(rest, &n->args);
    return 0;
}

static int parse_healthcheck(parser *ps, int line, span rest, kn_df_node *n)
{
    size_t sep = 0, sp;
    while (sep < rest.len && kn_utf8_space_len(rest.p + sep, rest.len - sep) == 0)
        sep += kn_utf8_char_len(rest.p + sep, rest.len - sep);
    if (sep == 0)
        return 0;
    size_t next = sep;
    while (next < rest.len && (sp = kn_utf8_space_len(rest.p + next, rest.len - next)) > 0)
        next += sp;
    kn_strvec_pushn(&n->args, rest.p, sep);
    return parse_maybe_json(ps, line, (span){rest.p + next, rest.len - next}, n);
}

/* Split the joined line into keyword, flags and rest, and shape the rest per
 * instruction (P-21 .. P-30). */
static kn_df_node *node_from_line(parser *ps, int line, span text, int depth)
{
    kn_df_node *n = kn_xcalloc(1, sizeof(*n));
    n->original = kn_xstrndup(text.p, text.len);
    span t = trim_uspace(text);
    size_t i = 0;
    while (i < t.len && !is_ws(t.p[i]))
        i++;
    n->keyword = kn_xstrndup(t.p, i);
    span rest = {t.p + i, 0};
    if (i < t.len) {
        while (i < t.len && is_ws(t.p[i]))
            i++;
        span after = {t.p + i, t.len - i};
        extract_flags(after, ps->escape, &n->flags, &rest);
        rest = trim_uspace(rest);
    }

    const char *kw = n->keyword;
    int r = 0;
    if (keyword_is(kw, "add") || keyword_is(kw, "copy") || keyword_is(kw, "volume")) {
        r = parse_maybe_json_list(ps, line, rest, n);
    } else if (keyword_is(kw, "run") || keyword_is(kw, "cmd") || keyword_is(kw, "entrypoint") ||
               keyword_is(kw, "shell")) {
        r = parse_maybe_json(ps, line, rest, n);
    } else if (keyword_is(kw, "from") || keyword_is(kw, "expose")) {
        if (rest.len)
            split_ws(rest, &n->args);
    } else if (keyword_is(kw, "env")) {
        r = parse_name_val(ps, line, rest, "ENV", n);
    } else if (keyword_is(kw, "label")) {
        r = parse_name_val(ps, line, rest, "LABEL", n);
    } else if (keyword_is(kw, "arg")) {
        parse_words(rest, ps->escape, &n->args);
    } else if (keyword_is(kw, "maintainer") || keyword_is(kw, "user") ||
               keyword_is(kw, "workdir") || keyword_is(kw, "stopsignal")) {
        if (rest.len)
            kn_strvec_pushn(&n->args, rest.p, rest.len);
    } else if (keyword_is(kw, "healthcheck")) {
        r = parse_healthcheck(ps, line, rest, n);
    } else if (keyword_is(kw, "onbuild")) {
        if (rest.len) {
            if (depth > 64) {
                r = fail(ps, line, "ONBUILD nested too deeply");
            } else {
                n->sub = node_from_line(ps, line, rest, depth + 1);
                if (!n->sub)
                    r = -1;
            }
        }
    } else {
        /* P-22: unknown keywords parse with one empty argument. */
        kn_strvec_push(&n->args, "");
    }
    if (r < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* ---- heredocs (P-31 .. P-34) ---- */

static bool can_contain_heredoc(const kn_df_node *n)
{
    if (keyword_is(n->keyword, "onbuild") && n->sub)
        n = n->sub;
    if (!keyword_is(n->keyword, "add") && !keyword_is(n->keyword, "copy") &&
        !keyword_is(n->keyword, "run"))
        return false;
    return !n->is_json;
}

static size_t count_quotes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\'' || *s == '"';
    return n;
}

static const char *lookup_none(void *ctx, const char *name)
{
    return NULL;
}

int kn_df_heredoc_word(const char *w, kn_df_heredoc *h, kn_err *err)
{
    /* ^(\d*)<<(-?)\s*([^<]*)$, then the rest must lex as one word. */
    const char *p = w;
    unsigned long long fd = 0;
    while (is_digit(*p)) {
        fd = fd > UINT32_MAX ? fd : fd * 10 + (unsigned)(*p - '0');
        p++;
    }
    if (p[0] != '<' || p[1] != '<')
        return 0;
    p += 2;
    bool chomp = false;
    if (*p == '-') {
        chomp = true;
        p++;
    }
    while (is_go_re_space(*p))
        p++;
    if (*p == '\0' || strchr(p, '<'))
        return 0;

    kn_expand_env env = {lookup_none, NULL, NULL};
    kn_lex_opts plain = {.skip_unset = true};
    kn_lex_opts raw = {.skip_unset = true, .raw_quotes = true};
    kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
    kn_autostrvec kn_strvec words_raw = KN_STRVEC_INIT;
    if (kn_expand_words_opts(p, '\\', &env, &plain, &words, err) < 0)
        return -1;
    if (words.len != 1)
        return 0;
    if (kn_expand_words_opts(p, '\\', &env, &raw, &words_raw, err) < 0)
        return -1;
    if (words_raw.len != 1)
        return kn_errf(err, KN_EINPUT,
                       "internal lexing of heredoc produced inconsistent results: %s", p);
    if (h) {
        h->name = kn_xstrdup(words.items[0]);
        /* Quotes anywhere in the delimiter turn expansion off (P-32). */
        h->expand = count_quotes(words.items[0]) == count_quotes(words_raw.items[0]);
        h->chomp = chomp;
        h->fd = fd > UINT32_MAX ? UINT32_MAX : (unsigned)fd;
        h->content = NULL;
    }
    return 1;
}

static int read_heredocs(parser *ps, kn_df_node *n, span line, int start_line)
{
    kn_autofree char *text = kn_xstrndup(line.p, line.len);
    kn_autostrvec kn_strvec words = KN_STRVEC_INIT;
    kn_autoerr kn_err e = KN_ERR_INIT;
    kn_expand_env env = {lookup_none, NULL, NULL};
    kn_lex_opts opts = {.skip_unset = true, .raw_quotes = true, .raw_escapes = true};
    /* BuildKit ignores lexing errors here: such a line simply has no heredocs. */
    if (kn_expand_words_opts(text, '\\', &env, &opts, &words, &e) < 0)
        return 0;
    for (size_t i = 0; i < words.len; i++) {
        kn_df_heredoc h = {0};
        int r = kn_df_heredoc_word(words.items[i], &h, ps->err);
        if (r < 0) {
            kn_err_set_pos(ps->err, ps->path, start_line);
            return -1;
        }
        if (r == 0)
            continue;
        kn_buf body = KN_BUF_INIT;
        bool terminated = false, too_long;
        span l;
        size_t name_len = strlen(h.name);
        while (next_line(ps, &l, &too_long)) {
            ps->line_no++;
            if (too_long) {
                kn_buf_free(&body);
                free(h.name);
                return fail(ps, ps->line_no, "dockerfile line greater than max allowed size of %d",
                            MAX_LINE_CONTENT);
            }
            span t = trim_newline(l);
            if (h.chomp)
                while (t.len && t.p[0] == '\t') {
                    t.p++;
                    t.len--;
                }
            if (t.len == name_len && memcmp(t.p, h.name, name_len) == 0) {
                terminated = true;
                break;
            }
            kn_buf_add(&body, l.p, l.len);
        }
        if (!terminated) {
            kn_buf_free(&body);
            free(h.name);
            return fail(ps, start_line, "unterminated heredoc");
        }
        h.content = kn_buf_release(&body);
        kn_vec_push(&n->heredocs, h);
    }
    return 0;
}

/* ---- the main loop ---- */

static int parse_all(parser *ps)
{
    kn_df *df = ps->df;
    kn_autostrvec kn_strvec comments = KN_STRVEC_INIT;
    kn_autobuf kn_buf joined = KN_BUF_INIT;
    span raw;
    bool too_long;
    while (next_line(ps, &raw, &too_long)) {
        if (too_long)
            return fail(ps, ps->line_no + 1, "dockerfile line greater than max allowed size of %d",
                        MAX_LINE_CONTENT);
        if (ps->line_no == 0 && raw.len >= 3 && memcmp(raw.p, "\xef\xbb\xbf", 3) == 0) {
            raw.p += 3; /* P-1: BOM on the first line */
            raw.len -= 3;
        }
        if (is_comment(raw)) {
            /* BuildKit drops the line's first byte, then trims (P-13). */
            span c = trim_uspace(trim_newline((span){raw.p + 1, raw.len - 1}));
            if (c.len == 0) {
                kn_strvec_free(&comments);
            } else {
                kn_strvec_pushn(&comments, c.p, c.len);
            }
        }
        span tok = trim_left_uspace(trim_newline(raw));
        int d = parse_directive(ps, tok, ps->line_no + 1);
        if (d < 0)
            return -1;
        if (d == 1 && comments.len) {
            free(comments.items[--comments.len]);
            comments.items[comments.len] = NULL;
        }
        if (is_comment(tok))
            tok.len = 0;
        ps->line_no++;
        int start_line = ps->line_no;

        bool is_end = trim_continuation(&tok, ps->escape);
        if (is_end && tok.len == 0)
            continue;
        kn_buf_reset(&joined);
        kn_buf_add(&joined, tok.p, tok.len);

        bool has_empty_continuation = false;
        while (!is_end && next_line(ps, &raw, &too_long)) {
            ps->line_no++;
            if (too_long)
                return fail(ps, ps->line_no, "dockerfile line greater than max allowed size of %d",
                            MAX_LINE_CONTENT);
            if (is_comment(raw))
                continue; /* P-17 */
            span l = trim_newline(raw);
            if (trim_left_uspace(l).len == 0) {
                has_empty_continuation = true; /* P-18 */
                continue;
            }
            is_end = trim_continuation(&l, ps->escape);
            kn_buf_add(&joined, l.p, l.len);
        }
        span line = {joined.data, joined.len};
        if (trim_uspace(line).len == 0)
            return fail(ps, start_line,
                        "empty continuation at end of file: nothing follows the escape "
                        "character '%c' (remove it)",
                        ps->escape);
        if (has_empty_continuation) {
            kn_buf w = KN_BUF_INIT;
            kn_buf_addf(&w, "Empty continuation line found in: %s", joined.data);
            kn_df_warning warn = {ps->line_no, kn_buf_release(&w)};
            kn_vec_push(&df->warnings, warn);
        }

        kn_df_node *n = node_from_line(ps, start_line, line, 0);
        if (!n)
            return -1;
        kn_vec_push(&df->nodes, n);
        n->start_line = start_line;
        if (can_contain_heredoc(n) && memmem(line.p, line.len, "<<", 2)) {
            if (read_heredocs(ps, n, line, start_line) < 0)
                return -1;
        }
        n->end_line = ps->line_no;
        n->comments = comments;
        comments = (kn_strvec)KN_STRVEC_INIT;
    }
    df->n_lines = ps->line_no;
    if (df->nodes.len == 0)
        return fail(ps, ps->line_no, "file with no instructions");
    return 0;
}

kn_df *kn_df_parse(const char *path, const char *data, size_t len, kn_err *err)
{
    kn_df *df = kn_xcalloc(1, sizeof(*df));
    df->path = kn_xstrdup(path);
    df->escape = '\\';
    if (len == 0) {
        kn_errf_at(err, KN_EINPUT, path, 1, "the Dockerfile cannot be empty");
        kn_df_free(df);
        return NULL;
    }
    parser ps = {.path = path, .data = data, .len = len, .escape = '\\', .df = df, .err = err};
    if (parse_all(&ps) < 0) {
        kn_df_free(df);
        return NULL;
    }
    df->escape = ps.escape;
    return df;
}

kn_df *kn_df_parse_file(const char *path, kn_err *err)
{
    kn_autoclose int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        kn_errf(err, errno, "open %s", path);
        return NULL;
    }
    kn_autobuf kn_buf b = KN_BUF_INIT;
    for (;;) {
        if (kn_buf_grow(&b, 65536) < 0) {
            kn_errf(err, errno, "read %s", path);
            return NULL;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            kn_errf(err, errno, "read %s", path);
            return NULL;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        b.data[b.len] = '\0';
    }
    return kn_df_parse(path, b.data, b.len, err);
}

void kn_df_free(kn_df *df)
{
    if (!df)
        return;
    for (size_t i = 0; i < df->nodes.len; i++)
        node_free(df->nodes.items[i]);
    kn_vec_free(&df->nodes);
    for (size_t i = 0; i < df->directives.len; i++) {
        free(df->directives.items[i].name);
        free(df->directives.items[i].value);
    }
    kn_vec_free(&df->directives);
    for (size_t i = 0; i < df->warnings.len; i++)
        free(df->warnings.items[i].msg);
    kn_vec_free(&df->warnings);
    free(df->path);
    free(df);
}

const char *kn_df_directive_value(const kn_df *df, const char *name)
{
    for (size_t i = 0; i < df->directives.len; i++)
        if (strcmp(df->directives.items[i].name, name) == 0)
            return df->directives.items[i].value;
    return NULL;
}

/* ---- dump (P-35 .. P-37) ---- */

void kn_df_quote(kn_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char controls[] = "\a\b\f\n\r\t\v"; /* Go's short escapes, */
    static const char letters[] = "abfnrtv";         /* written as these letters */
    kn_buf_addc(out, '"');
    size_t i = 0;
    while (i < len) {
        bool valid;
        size_t n = kn_utf8_decode(s + i, len - i, &valid);
        if (!valid) {
            char e[4] = {'\\', 'x', hex[(unsigned char)s[i] >> 4], hex[(unsigned char)s[i] & 15]};
            kn_buf_add(out, e, 4);
            i += 1;
            continue;
        }
        uint32_t r = kn_utf8_rune(s + i, n);
        if (r == '"' || r == '\\') {
            kn_buf_addc(out, '\\');
            kn_buf_addc(out, (char)r);
        } else if (kn_utf8_is_print(r)) {
            kn_buf_add(out, s + i, n);
        } else {
            const char *short_esc = r && r < 0x80 ? strchr(controls, (int)r) : NULL;
            if (short_esc) {
                kn_buf_addc(out, '\\');
                kn_buf_addc(out, letters[short_esc - controls]);
            } else if (r < ' ' || r == 0x7f) {
                kn_buf_addf(out, "\\x%c%c", hex[r >> 4], hex[r & 15]);
            } else if (r < 0x10000) {
                kn_buf_addf(out, "\\u%04x", (unsigned)r);
            } else {
                kn_buf_addf(out, "\\U%08x", (unsigned)r);
            }
        }
        i += n;
    }
    kn_buf_addc(out, '"');
}

static void dump_node(kn_buf *b, const kn_df_node *n)
{
    for (const char *c = n->keyword; *c; c++)
        kn_buf_addc(b, (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c);
    if (n->flags.len) {
        kn_buf_adds(b, " [");
        for (size_t i = 0; i < n->flags.len; i++) {
            if (i)
                kn_buf_addc(b, ' ');
            kn_df_quote(b, n->flags.items[i], n->flags.lens[i]);
        }
        kn_buf_addc(b, ']');
    }
    for (size_t i = 0; i < n->args.len; i++) {
        kn_buf_addc(b, ' ');
        kn_df_quote(b, n->args.items[i], n->args.lens[i]);
    }
    if (n->sub) {
        kn_buf_adds(b, " (");
        dump_node(b, n->sub);
        kn_buf_addc(b, ')');
    }
}

char *kn_df_dump_node(const kn_df_node *node)
{
    kn_buf b = KN_BUF_INIT;
    dump_node(&b, node);
    return kn_buf_release(&b);
}

char *kn_df_dump(const kn_df *df)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < df->nodes.len; i++) {
        kn_buf_addc(&b, '(');
        dump_node(&b, df->nodes.items[i]);
        kn_buf_adds(&b, ")\n");
    }
    return kn_buf_release(&b);
}
