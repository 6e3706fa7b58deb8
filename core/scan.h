/* scan.h: turning the command line's files and directories into the run's
 * list of videos, in a stable order.
 *
 * Directories are walked recursively (symlinks followed, loops detected by
 * device and inode). Inside a directory a file counts as a video when
 * FFmpeg's probe recognises a container, or when its extension says it is one
 * (then a file that is empty or garbage is reported as a failed video rather
 * than passed over); other files are skipped and counted. Files named on the
 * command line are always kept so that a bad one is reported by name; an
 * argument that is missing or not a regular file (a FIFO, a device) becomes a
 * video already FAILED, whose error names it: it fails that input, not the run,
 * and is never opened (opening a FIFO blocks).
 *
 * One file is one video in a run: a later argument or entry that is the same
 * file as an earlier one (same device and inode: `a a`, `./a`, an absolute
 * path, a hard link, a symlink) is dropped, with a note through the callback.
 *
 * The run's own output directory (compared by device and inode, not by name)
 * and any directory that holds vidsift outputs (see vs_is_output_dir) are
 * never walked: a rerun of `vidsift run .` must not analyse its own
 * annotated videos.
 *
 * Problems found while walking (unreadable entries, loops) and notes (a
 * duplicate dropped, an output directory skipped) are reported through a
 * callback and do not stop the scan. */
#ifndef VS_SCAN_H
#define VS_SCAN_H

#include "frame.h"

/* Written by `vidsift run` into its output directory: marks it as one. */
#define VS_OUTPUT_MARKER ".vidsift-output"

/* The longest output path component the scan produces: NAME_MAX (255) less
 * room for what is appended to it (".mp4", ".part", a "~xxxxxxxx" the store
 * adds to keep two videos' names apart). */
#define VS_OUTPUT_COMPONENT_MAX 200

typedef void (*vs_scan_report)(void *context, const char *path, const char *problem);

typedef struct vs_scan_result {
    vs_video *videos; /* sorted by path within each argument, arguments in order */
    int video_count;
    int problems;      /* entries reported through the callback */
    int files_skipped; /* files inside the directories that are not videos */
    int duplicates;    /* arguments or entries dropped as the same file as an earlier one */
} vs_scan_result;

/* out_dir (NULL: none) is the run's output directory: it is never walked,
 * and output names are kept short enough for paths below it to fit PATH_MAX.
 * Fails (VS_ENOMEM) only when memory runs out: a bad argument is a failed
 * video, not a failed scan. */
int vs_scan(const char *const *paths, int path_count, const char *out_dir, vs_scan_report report,
            void *context, vs_scan_result *result, vs_error *err);
void vs_scan_free(vs_scan_result *result);
/* Fills size, mtime and fingerprint (size + MD5 of the first and last 64 KiB). */
int vs_fingerprint(vs_video *video, vs_error *err);

/* Whether dir holds vidsift outputs: it has the VS_OUTPUT_MARKER file, or
 * (written before there was a marker) a results.db file beside an
 * annotated/ directory or a report.json. */
int vs_is_output_dir(const char *dir);
/* Writes the VS_OUTPUT_MARKER file into out_dir (which exists). */
int vs_mark_output_dir(const char *out_dir, vs_error *err);

#endif
