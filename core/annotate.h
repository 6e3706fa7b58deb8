/* annotate.h: one annotated video per input video.
 *
 * Each picture is converted to YUV 4:2:0, boxes and "label score" tags are
 * drawn on it in a per-class colour, and it is encoded to H.264 (libx264,
 * CRF 23, preset veryfast; MPEG-4 Part 2 where libx264 is missing) in MP4,
 * with the source's size, time base and timestamps. The source's first audio
 * stream is copied packet by packet (it is read from a second opening of the
 * source file), interleaved up to the current video time; what is left at
 * the end (audio longer than the video) is written too, so the copy keeps
 * every audio packet of the source. The display rotation of the source is
 * copied, so players show the annotated video the way they show the source;
 * boxes are drawn in coded pixels, where the detections are.
 *
 * 4:2:0 needs even sizes: an odd width or height is scaled to the even size
 * below it. Pictures the encoder cannot take at all (under 2x2, such as a
 * 1xN video, or a size the encoder refuses) get no copy: the video is still
 * analysed, vs_annotate_skipped says so and the note says why.
 *
 * The file is written as OUT_PATH.part and renamed to OUT_PATH only by
 * vs_annotate_close(..., finalize=1): a file at OUT_PATH is always complete. */
#ifndef VS_ANNOTATE_H
#define VS_ANNOTATE_H

#include <stdint.h>

#include "frame.h"
#include "vs_error.h"

typedef struct vs_annotate vs_annotate;

/* Creates OUT_PATH's parent directories and OUT_PATH.part, and opens the
 * source again for its audio. The encoder starts with the first picture,
 * whose pixel format and colour properties it takes. */
int vs_annotate_open(vs_annotate **out, const vs_video *video, const char *out_path, vs_error *err);
/* Draws the lines and polygons of zones (kept by pointer; NULL: none) with
 * live counts per class: crossings each way, counted from the frames' events,
 * and for polygons the tracked boxes whose anchor is inside. */
void vs_annotate_set_zones(vs_annotate *annotate, const vs_zones_config *zones);
/* lean 1: libx264 with one thread, a 2-frame lookahead and one B-frame (a
 * third of the memory of its defaults at 1080p, same CPU time, slower in
 * wall time, files within 3% at the same CRF); for runs
 * where something else owns the cores. Call before the first frame. Pictures
 * bigger than DCI 4K are always encoded leaner still (below). */
void vs_annotate_set_lean(vs_annotate *annotate, int lean);
/* As vs_annotate_open with a named encoder ("libx264", "mpeg4"); NULL picks
 * libx264 if this FFmpeg has it, else mpeg4. */
int vs_annotate_open_with(vs_annotate **out, const vs_video *video, const char *out_path,
                          const char *encoder_name, vs_error *err);
/* Draws frame's detections on a copy of its picture and encodes it.
 * Frames of other kinds are ignored. labels[class_id] names classes (NULL,
 * or a NULL entry: "class N"). */
int vs_annotate_frame(vs_annotate *annotate, const vs_frame *frame, const char *const *labels,
                      vs_error *err);
/* finalize=1: flushes the encoder, writes the remaining audio and the
 * trailer, renames .part to the final name. finalize=0 (failed or
 * interrupted video): removes the .part file. Frees annotate in both cases;
 * NULL is ignored. */
int vs_annotate_close(vs_annotate *annotate, int finalize, vs_error *err);

/* Pictures' worth of memory (at width x height, 4:2:0) one annotator holds:
 * its canvas and the encoder's frames. Pictures bigger than DCI 4K are
 * encoded with one thread, no lookahead and no B-frames, which bounds the
 * encoder to about 10 of them (measured at 8192x8192); smaller ones keep
 * x264's defaults for speed (about 49, measured on 2 cores: more threads
 * hold more). For the run's memory budget. */
int vs_annotate_working_set_pictures(int width, int height);
/* 1 when the encoder cannot take the video's pictures: nothing is written
 * (close removes the .part file and reports success), the note says why. */
int vs_annotate_skipped(const vs_annotate *annotate);
/* Something worth telling the user that is not an error (e.g. audio that
 * MP4 cannot hold was left out), or NULL. Valid until close. */
const char *vs_annotate_note(const vs_annotate *annotate);
/* The encoder in use ("libx264", "mpeg4"), once the first picture is in. */
const char *vs_annotate_encoder(const vs_annotate *annotate);
/* The colour boxes of class_id are drawn in (sRGB), for legends and tests. */
void vs_annotate_class_color(int class_id, uint8_t rgb[3]);

#endif
