/* output.h: what the sink writes a video to, behind one interface.
 *
 * An output is the store (rows in the database), the annotated video or the
 * snapshots - and next, a remote worker's sink. The sink holds a small table
 * of them and, for each video, in order:
 *
 *   open_video  at the video's START marker, in table order;
 *   add_frame   for each picture, in table order;
 *   end_video   at its END marker, in reverse table order.
 *
 * The order is the contract between outputs: the store is first, so it has
 * recorded the video (its row id, its settled output_name) before the others
 * open, and it ends last, after they have put their rows in (the annotated
 * file's path, the snapshot rows), with the video's final status.
 *
 * Failure: every call returns a status and fills err with a message that
 * names the input video. An output that `fails_run` (the store: the record
 * of what was done) stops the run; any other fails that video only - the
 * sink ends it at once with keep = 0 and it sees no more of that video.
 *
 * Per-video state: open_video returns it in *state; end_video frees it. A
 * video that failed before it opened has no START marker: end_video is
 * still called, with state NULL, so the store can record why. */
#ifndef VS_OUTPUT_H
#define VS_OUTPUT_H

#include <stdint.h>

#include "frame.h"
#include "vs_error.h"

struct vs_pool;
struct vs_store;
struct vs_zones_config;

/* A video as the outputs see it, shared by the outputs of one video. */
typedef struct vs_output_video {
    vs_video *video;
    int64_t video_id; /* its row in the store, set by the store's open; 0 without a store */
    /* The sink's record of an output's failure, merged into video->status
     * before an output that fails_run ends (the decoder owns the status
     * until the END marker). */
    int failed;
    vs_error error;
    /* Where the annotator finalized the video's copy, for the store to
     * record when it ends the video; empty: no copy. */
    char annotated_path[8400];
} vs_output_video;

typedef struct vs_output_ops {
    const char *name;
    int fails_run; /* 1: a failure stops the run; 0: it fails the video */
    int (*open_video)(void *output, vs_output_video *video, void **state, vs_error *err);
    /* frame: a picture of video (analysed, carried or only kept for drawing).
     * Read-only; an output that reads it after returning holds the slot
     * (vs_frame_hold) and releases it when done, as the encoders do. */
    int (*add_frame)(void *output, void *state, vs_output_video *video, vs_frame *frame,
                     vs_error *err);
    /* marker: the END marker (the tracker's last events ride on it). keep 0:
     * drop what was written for the video (an output or the store failed);
     * then it must not fail. Frees state (NULL: the video never opened). */
    int (*end_video)(void *output, void *state, vs_output_video *video, const vs_frame *marker,
                     int keep, vs_error *err);
    void (*close)(void *output); /* frees the output; NULL is ignored */
} vs_output_ops;

typedef struct vs_output {
    const vs_output_ops *ops;
    void *self;
} vs_output;

/* The three outputs of `vidsift run` (core/outputs.c). Each returns VS_OK or
 * VS_ENOMEM; labels and zones are kept by pointer. */
int vs_output_store(vs_output *out, struct vs_store *store, int64_t run_id,
                    const char *const *labels, vs_error *err);
/* Writes OUT_DIR/annotated/<output name>[.mp4]; records the path in store (may be NULL).
 * lean_encoder: x264 in less memory (vs_annotate_set_lean, vs_plan_lean_encoder).
 * Pictures are drawn and encoded on encode_threads workers (core/encoders.h),
 * which hold their frame slots until then and release them to frames; the
 * output's end_video waits for the video's last frame. */
int vs_output_annotate(vs_output *out, const char *out_dir, const char *const *labels,
                       const struct vs_zones_config *zones, struct vs_store *store,
                       int lean_encoder, struct vs_pool *frames, int encode_threads, vs_error *err);
/* Pictures the annotated-video output's encoder worker `worker` has encoded
 * (-1: no such worker). */
int64_t vs_output_annotate_frames(const vs_output *out, int worker);
/* Writes OUT_DIR/snapshots/<output name>/; records the files in store (may be NULL). */
int vs_output_snapshots(vs_output *out, const char *out_dir, const char *const *labels,
                        struct vs_store *store, vs_error *err);

#endif
