/* vs_error: the one way vidsift reports failure.
 *
 * Every function that can fail returns an int status (VS_OK, or a negative
 * VS_E* code) and, on failure, writes a one-line human message into the
 * caller's vs_error. The message names the file and the reason; callers add
 * context by prefixing, never by replacing. */
#ifndef VS_ERROR_H
#define VS_ERROR_H

#include <stddef.h>

enum {
    VS_OK = 0,
    VS_EOF = 1,     /* not an error: end of a stream */
    VS_EINVAL = -1, /* bad argument, option or input data */
    VS_EIO = -2,    /* file system or codec I/O */
    VS_ENOMEM = -3,
    VS_EMODEL = -4, /* model unusable: missing, corrupt, shape mismatch */
    VS_EINTR = -5,  /* run interrupted by a signal */
    VS_EBUSY = -6,  /* resource held by another process (locked DB) */
};

typedef struct vs_error {
    char msg[1024];
} vs_error;

/* Formats msg into err (if err is non-NULL) and returns status. */
int vs_fail(vs_error *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: ". */
void vs_error_prefix(vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A file name made safe for a message: control bytes (< 0x20, 0x7f), the C1
 * controls (U+0080..U+009F, which some terminals obey as escapes) and bytes
 * that are not valid UTF-8 are written as \xNN, so that a name can neither
 * forge a line nor send a terminal escape. Printable text, valid UTF-8 and
 * backslashes pass unchanged, so escaping twice changes nothing. A name that
 * does not fit ends in "...". Writes into out (size >= 4) and returns it. */
char *vs_safe_name(const char *name, char *out, size_t size);

/* The escaped name in a buffer that lives to the end of the enclosing block:
 * vs_fail(err, VS_EIO, "%s: ...", VS_NAME(video->path)). For messages only. */
#define VS_NAME_SIZE 1024
#define VS_NAME(name) vs_safe_name((name), (char[VS_NAME_SIZE]){0}, VS_NAME_SIZE)

#endif
