/* Docker image references, per the distribution/reference grammar that
 * BuildKit uses for FROM and `--from` (SEMANTICS G-8, G-15):
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port]          host: DNS name, IPv4 or [IPv6]
 *   path-component := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ":" hex        algorithm: [A-Za-z][A-Za-z0-9]* ([-_+.] ...)*
 *
 * Normalisation follows ParseNormalizedNamed: `alpine` is
 * docker.io/library/alpine, `index.docker.io` is docker.io, and `:latest`
 * is added only when there is neither tag nor digest. */
#ifndef KN_BASE_REF_H
#define KN_BASE_REF_H

#include "base/err.h"

typedef struct kn_ref {
    char *domain; /* "docker.io", "host:5000"; owned */
    char *path;   /* "library/alpine"; owned */
    char *tag;    /* NULL when none; owned */
    char *digest; /* "sha256:..." or NULL; owned */
} kn_ref;

#define KN_REF_INIT                                                                                \
    {                                                                                              \
        NULL, NULL, NULL, NULL                                                                     \
    }

/* Parse and normalise s (ParseNormalizedNamed). Errors are KN_EINPUT with the
 * reference package's message, e.g. `invalid reference format: repository
 * name (library/Alpine) must be lowercase`. Fills *out (kn_ref_free). */
int kn_ref_parse(const char *s, kn_ref *out, kn_err *err);

/* Add the `latest` tag when the reference has neither tag nor digest
 * (TagNameOnly). */
void kn_ref_default_tag(kn_ref *r);

/* The full form: "docker.io/library/alpine:latest". New string. */
char *kn_ref_string(const kn_ref *r);

/* The familiar form (FamiliarString): "alpine:latest", "user/app:1",
 * "host:5000/x@sha256:...". New string. */
char *kn_ref_familiar(const kn_ref *r);

/* The familiar form of a reference string ("docker.io/library/bb:latest"
 * -> "bb:latest"); a copy of `name` when it does not parse. New string. */
char *kn_ref_familiar_name(const char *name);

void kn_ref_free(kn_ref *r);

#endif
