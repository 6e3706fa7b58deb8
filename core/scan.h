/* scan.h: turning the command line's files and directories into the run's
 * list of videos, in a stable order.
 *
 * Directories are walked recursively (symlinks followed, loops detected by
 * device and inode). A file counts as a video when FFmpeg's probe recognises
 * a container, not by its extension alone; files named on the command line
 * are always kept so that a bad one is reported by name. Problems found while
 * walking (unreadable entries, loops) are reported through a callback and do
 * not stop the scan. */
#ifndef VS_SCAN_H
#define VS_SCAN_H

#include "frame.h"

typedef void (*vs_scan_report)(void *context, const char *path, const char *problem);

typedef struct vs_scan_result {
    vs_video *videos; /* sorted by path within each argument, arguments in order */
    int video_count;
    int problems; /* entries reported through the callback */
} vs_scan_result;

int vs_scan(const char *const *paths, int path_count, vs_scan_report report, void *context,
            vs_scan_result *result, vs_error *err);
void vs_scan_free(vs_scan_result *result);
/* Fills size, mtime and fingerprint (size + MD5 of the first and last 64 KiB). */
int vs_fingerprint(vs_video *video, vs_error *err);

#endif
