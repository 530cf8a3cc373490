/* The command line: one function per command, shared helpers for flags,
 * usage and exit statuses. Only this layer prints and exits. */
#ifndef KN_CLI_CLI_H
#define KN_CLI_CLI_H

#include "base/err.h"

#include <getopt.h>
#include <stdbool.h>

/* Exit statuses (DESIGN "Command line"). */
enum { KN_EXIT_OK = 0, KN_EXIT_FAIL = 1, KN_EXIT_USAGE = 2 };

typedef struct kn_cmd {
    const char *name;
    const char *summary; /* one line for `kiln --help` */
    const char *usage;   /* full text for `kiln NAME --help` */
    int (*run)(int argc, char **argv);
} kn_cmd;

extern const kn_cmd kn_cmd_parse;
extern const kn_cmd kn_cmd_check;
extern const kn_cmd kn_cmd_plan;
extern const kn_cmd kn_cmd_build;
extern const kn_cmd kn_cmd_load;
extern const kn_cmd kn_cmd_save;
extern const kn_cmd kn_cmd_import;
extern const kn_cmd kn_cmd_images;
extern const kn_cmd kn_cmd_inspect;
extern const kn_cmd kn_cmd_tag;
extern const kn_cmd kn_cmd_rmi;
extern const kn_cmd kn_cmd_prune;
extern const kn_cmd kn_cmd_store;

/* The global --store DIR (before the command, or among a store command's
 * flags as `--store`, option value 'S'); NULL means the default location. */
extern const char *kn_cli_store_dir;
#define KN_CLI_STORE_OPTION                                                                        \
    {                                                                                              \
        "store", required_argument, NULL, 'S'                                                      \
    }

struct kn_store;
/* Opens the store kiln should use (kn_cli_store_dir, else the default). */
struct kn_store *kn_cli_store_open(kn_err *err);

/* Normalises a user-given image name ("bb" -> "docker.io/library/bb:latest");
 * a digest is refused. Returns a new string or NULL with err (KN_EINPUT). */
char *kn_cli_image_name(const char *name, kn_err *err);

struct kn_strvec;
/* Adds a --build-arg value: "K=V" as given; "K" alone takes K from the
 * environment (docker's rule) and is dropped when K is not set there. */
void kn_cli_push_build_arg(struct kn_strvec *args, const char *value);

struct kn_dockerignore;
/* SEMANTICS F-27: FILE.dockerignore next to the Dockerfile, else
 * CONTEXT/.dockerignore; *out is NULL when there is neither. */
int kn_cli_load_dockerignore(const char *context, const char *file, struct kn_dockerignore **out,
                             kn_err *err);

/* Print a usage error and a one-line hint for command `cmd` (NULL: top
 * level); returns KN_EXIT_USAGE. */
int kn_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print an error as "kiln: FILE:LINE: msg" and return the exit status that
 * fits its code (2 for bad input, else 1). */
int kn_cli_report(const kn_err *err);

/* getopt_long over a command's arguments with kiln's messages: returns the
 * option, -1 at the end, or '?' after printing a usage error (with a
 * suggestion for a misspelled long flag). `help` is set for -h/--help. */
int kn_cli_getopt(const kn_cmd *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts, bool *help);

#endif
