/* fsutil.h: small file-system helpers shared by the sinks and the CLI. */
#ifndef VS_FSUTIL_H
#define VS_FSUTIL_H

#include "vs_error.h"

/* mkdir -p: creates dir and its missing parents. A file in the way is an
 * error ("Not a directory"), not success. */
int vs_make_dirs(const char *dir, vs_error *err);

/* The name of the network file system dir is on ("nfs", "cifs", "smb2",
 * "fuse", "ceph", "9p", "afs", "lustre", "gpfs", ...), or NULL for a local
 * one or when statfs fails. SQLite's WAL keeps its index in shared memory
 * (the -shm file, mmapped): processes on two machines never see each
 * other's, so WAL on these is unsafe. VIDSIFT_TEST_NETWORK_FS=NAME makes
 * every directory look like one (the tests have no NFS server). */
const char *vs_network_fs(const char *dir);

#endif
