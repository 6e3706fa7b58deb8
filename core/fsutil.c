/* fsutil.c: file-system helpers; see fsutil.h. Owns no state. */
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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

const char *vs_network_fs(const char *dir)
{
    const char *pretend = getenv("VIDSIFT_TEST_NETWORK_FS");
    if (pretend && *pretend)
        return pretend;
    static const struct {
        unsigned long magic; /* statfs f_type, from linux/magic.h and the file systems' sources */
        const char *name;
    } network[] = {
        {0x6969, "nfs"},        {0x517B, "smb"},      {0xFF534D42, "cifs"},  {0xFE534D42, "smb2"},
        {0x65735546, "fuse"},   {0x00C36400, "ceph"}, {0x01021997, "9p"},    {0x5346414F, "afs"},
        {0x6B414653, "afs"},    {0x73757245, "coda"}, {0x7461636F, "ocfs2"}, {0x01161970, "gfs2"},
        {0x0BD00BD0, "lustre"}, {0x47504653, "gpfs"}, {0xAAD7AAEA, "panfs"}, {0x564C, "ncp"},
    };
    struct statfs info;
    if (statfs(dir, &info) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof network / sizeof network[0]; i++)
        if ((unsigned long)(unsigned int)info.f_type == network[i].magic)
            return network[i].name;
    return NULL;
}
