/* Docker image references (SEMANTICS G-8): the distribution/reference
 * grammar and ParseNormalizedNamed, written as small recognisers instead of
 * regular expressions. */
#include "base/ref.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/str.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_TOTAL_MAX 255

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_xdigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* path-component: [a-z0-9]+ (([._]|__|[-]+)[a-z0-9]+)* over s[0..len). */
static bool is_path_component(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < len) {
        while (i < len && is_lower_alnum(s[i]))
            i++;
        if (i == len)
            return true;
        size_t sep = i;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < len && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == len || !is_lower_alnum(s[i]) || i == sep)
            return false;
    }
    return true;
}

/* domain: (DNS name | [IPv6]) (:port)? over s[0..len). */
static bool is_domain(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0)
        return false;
    if (s[0] == '[') {
        i = 1;
        while (i < len && (is_xdigit(s[i]) || s[i] == ':'))
            i++;
        if (i == 1 || i == len || s[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            /* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
            size_t start = i;
            while (i < len && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return false;
            if (i < len && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i == len)
        return true;
    if (s[i] != ':' || i + 1 == len)
        return false;
    for (i++; i < len; i++)
        if (!(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

/* name := [domain "/"] path-component ("/" path-component)* */
static bool is_name(const char *s, size_t len)
{
    const char *slash = memchr(s, '/', len);
    if (slash && is_domain(s, (size_t)(slash - s))) {
        /* The domain alternative; the path alternative is tried below. */
        const char *p = slash + 1, *end = s + len;
        bool ok = true;
        while (ok) {
            const char *q = memchr(p, '/', (size_t)(end - p));
            size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
            ok = is_path_component(p, n);
            if (!q)
                break;
            p = q + 1;
        }
        if (ok)
            return true;
    }
    const char *p = s, *end = s + len;
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
        if (!is_path_component(p, n))
            return false;
        if (!q)
            return true;
        p = q + 1;
    }
}

/* tag := [\w][\w.-]{0,127} */
static bool is_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_word(s[i]) || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

/* digest := [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ":" xdigit{32,} */
static bool is_digest_syntax(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon)
        return false;
    const char *p = s;
    for (;;) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
        p++;
        while (p < colon && is_alnum(*p))
            p++;
        if (p == colon)
            break;
        if (!strchr("-_+.", *p))
            return false;
        p++;
    }
    size_t n = 0;
    for (p = colon + 1; *p; p++, n++)
        if (!is_xdigit(*p))
            return false;
    return n >= 32;
}

/* go-digest's Validate for the algorithms it knows. */
static const char *digest_problem(const char *s)
{
    static const struct {
        const char *name;
        size_t hex_len;
    } algos[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
    const char *colon = strchr(s, ':');
    size_t alen = (size_t)(colon - s);
    for (size_t i = 0; i < KN_ARRAY_LEN(algos); i++) {
        if (strlen(algos[i].name) != alen || strncmp(s, algos[i].name, alen) != 0)
            continue;
        const char *hex = colon + 1;
        if (strlen(hex) != algos[i].hex_len)
            return "invalid checksum digest length";
        for (; *hex; hex++)
            if (!((*hex >= '0' && *hex <= '9') || (*hex >= 'a' && *hex <= 'f')))
                return "invalid checksum digest format";
        return NULL;
    }
    return "unsupported digest algorithm";
}

static bool is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

/* reference.Parse of a full "domain/path[:tag][@digest]". */
static int parse_full(const char *s, kn_ref *out, kn_err *err)
{
    kn_autofree char *copy = kn_xstrdup(s);
    char *at = strchr(copy, '@');
    const char *digest = NULL;
    if (at) {
        *at = '\0';
        digest = at + 1;
    }
    char *last_slash = strrchr(copy, '/');
    char *colon = strrchr(last_slash ? last_slash : copy, ':');
    const char *tag = NULL;
    if (colon) {
        *colon = '\0';
        tag = colon + 1;
    }
    bool ok = is_name(copy, strlen(copy)) && (!tag || is_tag(tag)) &&
              (!digest || is_digest_syntax(digest));
    if (!ok) {
        if (*s == '\0')
            return kn_errf(err, KN_EINPUT, "repository name must have at least one component");
        kn_autofree char *lower = kn_str_lower(s);
        kn_ref tmp = KN_REF_INIT;
        kn_err e2 = KN_ERR_INIT;
        bool lower_ok = strcmp(lower, s) != 0 && parse_full(lower, &tmp, &e2) == 0;
        kn_ref_free(&tmp);
        kn_err_clear(&e2);
        if (lower_ok)
            return kn_errf(err, KN_EINPUT, "repository name must be lowercase");
        return kn_errf(err, KN_EINPUT, "invalid reference format");
    }
    if (strlen(copy) > NAME_TOTAL_MAX)
        return kn_errf(err, KN_EINPUT, "repository name must not be more than %d characters",
                       NAME_TOTAL_MAX);
    if (digest) {
        const char *problem = digest_problem(digest);
        if (problem)
            return kn_errf(err, KN_EINPUT, "%s", problem);
    }
    char *slash = strchr(copy, '/');
    out->domain = kn_xstrndup(copy, (size_t)(slash - copy));
    out->path = kn_xstrdup(slash + 1);
    out->tag = tag ? kn_xstrdup(tag) : NULL;
    out->digest = digest ? kn_xstrdup(digest) : NULL;
    return 0;
}

int kn_ref_parse(const char *s, kn_ref *out, kn_err *err)
{
    *out = (kn_ref)KN_REF_INIT;
    if (is_hex64(s))
        return kn_errf(err, KN_EINPUT,
                       "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
                       s);
    /* splitDockerDomain */
    const char *slash = strchr(s, '/');
    kn_autofree char *domain = NULL;
    kn_autofree char *remainder = NULL;
    bool is_default = true;
    if (slash) {
        size_t n = (size_t)(slash - s);
        kn_autofree char *first = kn_xstrndup(s, n);
        kn_autofree char *first_lower = kn_str_lower(first);
        if (strpbrk(first, ".:") || strcmp(first, "localhost") == 0 ||
            strcmp(first_lower, first) != 0)
            is_default = false;
    }
    if (is_default) {
        domain = kn_xstrdup(DEFAULT_DOMAIN);
        remainder = kn_xstrdup(s);
    } else {
        domain = kn_xstrndup(s, (size_t)(slash - s));
        remainder = kn_xstrdup(slash + 1);
    }
    if (strcmp(domain, LEGACY_DEFAULT_DOMAIN) == 0) {
        free(domain);
        domain = kn_xstrdup(DEFAULT_DOMAIN);
    }
    if (strcmp(domain, DEFAULT_DOMAIN) == 0 && !strchr(remainder, '/')) {
        char *r = kn_xmalloc(strlen(OFFICIAL_PREFIX) + strlen(remainder) + 1);
        strcpy(r, OFFICIAL_PREFIX);
        strcat(r, remainder);
        free(remainder);
        remainder = r;
    }
    const char *tag_sep = strchr(remainder, ':');
    kn_autofree char *remote =
        tag_sep ? kn_xstrndup(remainder, (size_t)(tag_sep - remainder)) : kn_xstrdup(remainder);
    kn_autofree char *remote_lower = kn_str_lower(remote);
    if (strcmp(remote, remote_lower) != 0)
        return kn_errf(err, KN_EINPUT,
                       "invalid reference format: repository name (%s) must be lowercase", remote);
    kn_autofree char *full = kn_xmalloc(strlen(domain) + strlen(remainder) + 2);
    strcpy(full, domain);
    strcat(full, "/");
    strcat(full, remainder);
    if (parse_full(full, out, err) < 0) {
        kn_ref_free(out);
        return -1;
    }
    return 0;
}

void kn_ref_default_tag(kn_ref *r)
{
    if (!r->tag && !r->digest)
        r->tag = kn_xstrdup("latest");
}

static char *format(const kn_ref *r, bool familiar)
{
    kn_buf b = KN_BUF_INIT;
    const char *path = r->path;
    if (familiar && strcmp(r->domain, DEFAULT_DOMAIN) == 0) {
        if (kn_str_has_prefix(path, OFFICIAL_PREFIX) &&
            !strchr(path + strlen(OFFICIAL_PREFIX), '/'))
            path += strlen(OFFICIAL_PREFIX);
    } else {
        kn_buf_adds(&b, r->domain);
        kn_buf_addc(&b, '/');
    }
    kn_buf_adds(&b, path);
    if (r->tag)
        kn_buf_addf(&b, ":%s", r->tag);
    if (r->digest)
        kn_buf_addf(&b, "@%s", r->digest);
    return kn_buf_release(&b);
}

char *kn_ref_string(const kn_ref *r)
{
    return format(r, false);
}

char *kn_ref_familiar(const kn_ref *r)
{
    return format(r, true);
}

void kn_ref_free(kn_ref *r)
{
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    *r = (kn_ref)KN_REF_INIT;
}

char *kn_ref_familiar_name(const char *name)
{
    kn_ref r = KN_REF_INIT;
    kn_err ignored = KN_ERR_INIT;
    char *out = kn_ref_parse(name, &r, &ignored) == 0 ? kn_ref_familiar(&r) : kn_xstrdup(name);
    kn_err_clear(&ignored);
    kn_ref_free(&r);
    return out;
}
