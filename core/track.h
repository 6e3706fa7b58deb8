/* track.h: ByteTrack, the multi-object tracker, in plain C.
 *
 * One vs_tracker follows the objects of one video: boxes in, a track id per
 * box out. It is ByteTrack as its paper (Zhang et al., ECCV 2022) and its
 * reference implementation (yolox/tracker/byte_tracker.py) describe it:
 *   - a Kalman filter per track on (centre x, centre y, aspect w/h, height)
 *     with constant velocity;
 *   - detections split by score: high ones (>= high) are matched first
 *     against every track (tracked and lost) on IoU fused with the score,
 *     low ones (low <= score < high) are matched second against the tracks
 *     still unmatched, on IoU alone: an occluded object's weak box keeps its
 *     track alive instead of starting a new one;
 *   - a high detection left over starts a track when its score reaches
 *     new_track; that track is confirmed (gets an id) when it is matched
 *     again on the next analysed frame (at once on a video's first frame);
 *   - a track unmatched for buffer_s seconds of video is removed.
 * Association ignores the class; a track's class is the majority of its
 * detections' classes.
 *
 * Time comes from the frames' timestamps, not from a frame count, so
 * analysing every 3rd frame predicts 3 frames ahead and keeps the buffer in
 * seconds. The Kalman noise is the reference's per 1/reference_fps step.
 *
 * Memory is allocated once (vs_tracker_create): at most `capacity` live
 * tracks (tracked + lost); when full, the lost track unseen the longest is
 * removed first. Removed tracks are reported once and forgotten, so memory
 * stays flat over hours of video. Not thread-safe: one tracker per video,
 * used by one thread. */
#ifndef VS_TRACK_H
#define VS_TRACK_H

#include <stdint.h>

#include "detect.h"
#include "vs_error.h"

typedef struct vs_track_params {
    float high;              /* first pass and output: score >= high */
    float low;               /* second pass only: low <= score < high */
    float new_track;         /* an unmatched high detection starts a track from this score */
    float match;             /* first pass: 1 - IoU * score <= match */
    float match_low;         /* second pass: 1 - IoU <= match_low */
    float match_unconfirmed; /* a new track's second box: 1 - IoU * score <= this */
    double buffer_s;         /* seconds a lost track waits for its object */
    double reference_fps;    /* the frame rate the Kalman noise is tuned for */
} vs_track_params;

/* ByteTrack's defaults (MOT17 tuning: high 0.5, low 0.1, new 0.6, match 0.8,
 * second 0.5, unconfirmed 0.7, 30 frames at 30 fps = 1 s of buffer). */
vs_track_params vs_track_params_default(void);

/* Checks the thresholds; the message names the option. */
int vs_track_params_check(const vs_track_params *params, vs_error *err);

/* The lowest analysed rate (frames per second) at which an object moving a
 * box width per second still overlaps its prediction: below it, tracks
 * break; the run warns. */
#define VS_TRACK_MIN_FPS 2.0

/* A finished track, reported once when the tracker forgets it. */
typedef struct vs_track_summary {
    int id;                          /* from 1 per video */
    int class_id;                    /* majority of its detections */
    int64_t first_frame, last_frame; /* frame indices of its first and last matched box */
    double first_s, last_s;          /* their times */
    int64_t detections;              /* matched boxes */
    double score_sum;                /* of those boxes: mean = score_sum / detections */
} vs_track_summary;

typedef struct vs_tracker vs_tracker;

/* capacity: live tracks at most (tracked + lost); max_detections: boxes per
 * update at most. Returns VS_ENOMEM or VS_EINVAL with a message. */
int vs_tracker_create(const vs_track_params *params, int capacity, int max_detections,
                      vs_tracker **out, vs_error *err);
void vs_tracker_destroy(vs_tracker *tracker);
/* Forgets every track (without reporting them): ids start at 1 again. */
void vs_tracker_reset(vs_tracker *tracker);

/* Tracks one analysed frame. dets[0..count): boxes with score >= params.low
 * (lower ones are ignored). Writes track_ids[i] for each box:
 *   > 0  the box belongs to that confirmed track;
 *   0    a high box with no track (yet): keep it without an id;
 *   -1   a low box no track claimed: drop it (it was only a candidate).
 * time_s must not decrease within a video. Returns the number of tracks
 * that ended in this call (read them with vs_tracker_ended). */
int vs_tracker_update(vs_tracker *tracker, const vs_detection *dets, int count, int64_t frame_index,
                      double time_s, int *track_ids);

/* Ends every live track (the video is over); returns how many were
 * confirmed, readable with vs_tracker_ended. */
int vs_tracker_finish(vs_tracker *tracker);

/* The tracks that ended in the last update/finish: *out points into the
 * tracker and is valid until its next call. Returns their count. */
int vs_tracker_ended(const vs_tracker *tracker, const vs_track_summary **out);

/* The current Kalman box (source pixels) of confirmed track id, for drawing
 * and tests; returns 0 when no live track has that id. */
int vs_tracker_box(const vs_tracker *tracker, int id, vs_detection *box);

/* Live tracks: tracked + lost (for tests: memory stays bounded). */
int vs_tracker_live(const vs_tracker *tracker);

/* Times vs_tracker_update on `objects` synthetic moving boxes over
 * `frames` frames (vidsift bench): mean milliseconds per frame. */
int vs_track_bench(int objects, int frames, double *ms_per_frame, vs_error *err);

/* Optimal assignment on a rows x cols cost matrix (row-major) allowing
 * pairs only when cost <= limit: minimises the sum of matched costs plus
 * limit/2 per unmatched row and column (as lapjv with cost_limit).
 * row_match[r] = column or -1. scratch: vs_assign_scratch_doubles(rows,
 * cols) doubles. Returns the number of matched pairs. */
int vs_assign(const double *cost, int rows, int cols, double limit, int *row_match,
              double *scratch);
size_t vs_assign_scratch_doubles(int rows, int cols);

#endif
