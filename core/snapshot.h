/* snapshot.h: JPEG snapshots of one video (vidsift run --snapshots).
 *
 * Per video, in DIR (OUT/snapshots/<relative path of the video>/):
 *   thumb.jpg    the first analysed frame, VS_SNAPSHOT_THUMB_WIDTH pixels wide
 *   <label>.jpg  the highest-scoring detection of each class, cropped from its
 *                frame at source resolution (a tie keeps the earlier frame)
 * Both are shown upright: the source's display rotation is applied (annotated
 * videos copy it as metadata instead). Labels are made safe as file names:
 * anything but letters, digits, '-', '_' and '.' becomes '_'; a class without
 * a label, or whose name would be "thumb" or taken, is "class_N".
 *
 * While the video runs, only pixels are copied, in the picture's own format,
 * into buffers that grow when a bigger crop comes and are otherwise reused:
 * no allocation per frame in steady state. Conversion to RGB, scaling,
 * rotation and JPEG encoding (TurboJPEG, quality VS_SNAPSHOT_QUALITY) happen
 * once, at close. Files are written as NAME.part and renamed, so a JPEG in
 * DIR is always complete. */
#ifndef VS_SNAPSHOT_H
#define VS_SNAPSHOT_H

#include <stdint.h>

#include "frame.h"
#include "vs_error.h"

#define VS_SNAPSHOT_THUMB_WIDTH 320
#define VS_SNAPSHOT_QUALITY 90

typedef struct vs_snapshot vs_snapshot;
struct vs_store;

/* Prepares the snapshots of video, to be written into dir (created, with its
 * parents, at close and only if there is something to write). */
int vs_snapshot_open(vs_snapshot **out, const vs_video *video, const char *dir, vs_error *err);
/* Takes what it needs from an analysed frame: the picture of the first one
 * (the thumbnail) and the crops of detections that beat their class's best
 * so far. labels[class_id] names the classes for the file names written at
 * close (kept by pointer: it must live until then; NULL or a NULL entry:
 * "class_N"). Frames of other kinds, or without a picture, are ignored.
 * Errors: VS_EINVAL for a pixel format that cannot be cropped in memory
 * (hardware frames, 1-bit formats), VS_ENOMEM. */
int vs_snapshot_frame(vs_snapshot *s, const vs_frame *frame, const char *const *labels,
                      vs_error *err);
/* Writes thumb.jpg and one <label>.jpg per class seen; when store is not
 * NULL, records each file with vs_store_add_snapshot ("thumb", or "best" with
 * its class and score; both with the frame index and the box they were cut
 * from). Files that can be written are written and recorded
 * even when another fails; the first error is returned. Frees s in every
 * case; NULL is ignored. */
int vs_snapshot_close(vs_snapshot *s, struct vs_store *store, int64_t video_id, vs_error *err);

#endif
