/* fsutil.c: file-system helpers; see fsutil.h. Owns no state. */
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int vs_make_dirs(const char *path, vs_error *err)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
        return vs_fail(err, VS_EINVAL, "cannot create directory %.64s...: path too long",
                       VS_NAME(path));
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char saved = *p;
        *p = 0;
        struct stat info;
        if (mkdir(dir, 0777) != 0) {
            int reason = errno;
            if (reason != EEXIST || stat(dir, &info) != 0 || !S_ISDIR(info.st_mode))
                return vs_fail(err, VS_EIO, "cannot create directory %s: %s", VS_NAME(dir),
                               strerror(reason == EEXIST ? ENOTDIR : reason));
        }
        *p = saved;
        if (saved == 0)
            return VS_OK;
    }
}
