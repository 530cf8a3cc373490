/* The one error convention: functions that can fail return int (0 ok, -1
 * failed) or a pointer (NULL failed) and fill the kn_err passed last.
 * Every failure path sets the error exactly once; callers add context on the
 * way up with kn_err_wrap. */
#ifndef KN_BASE_ERR_H
#define KN_BASE_ERR_H

/* kiln's own codes, above any errno value. */
enum {
    KN_EINPUT = 10000, /* bad user input: Dockerfile, flags, references (exit 2) */
    KN_EUSAGE,         /* bad command line (exit 2) */
    KN_EFAILED,        /* an operation failed for a reason that is not an errno */
    KN_ECORRUPT,       /* stored or received data does not verify */
};

typedef struct kn_err {
    int code;   /* errno value or KN_E* code; 0 when no error is set */
    char *msg;  /* "what failed: why", owned */
    char *file; /* Dockerfile path when the error has a position, owned; else NULL */
    int line;   /* 1-based line in file, 0 when none */
} kn_err;

#define KN_ERR_INIT                                                                                \
    {                                                                                              \
        0, NULL, NULL, 0                                                                           \
    }

/* Set the error (formatted message; code is errno or KN_E*). Returns -1.
 * When errno-coded, ": strerror(code)" is appended. */
int kn_errf(kn_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like kn_errf, for input at FILE:LINE (file borrowed and copied). Returns -1. */
int kn_errf_at(kn_err *err, int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Prefix the message with context: "context: old message". Returns -1. */
int kn_err_wrap(kn_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attach a position if the error has none yet (file borrowed and copied). */
void kn_err_set_pos(kn_err *err, const char *file, int line);

/* Format as the user reads it: "FILE:LINE: msg" or "msg". Caller frees. */
char *kn_err_format(const kn_err *err);

/* Free the contents and reset to KN_ERR_INIT. */
void kn_err_clear(kn_err *err);

#define kn_autoerr __attribute__((cleanup(kn_err_clear)))

#endif
