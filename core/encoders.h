/* encoders.h: annotated videos drawn and encoded on worker threads.
 *
 * Drawing the boxes and encoding H.264 (~180 frames/s at 720p on one core)
 * was the sink's most expensive work per frame, done for every video in
 * the sink's one thread. The annotated-video output (core/outputs.c) hands
 * each picture to a small fixed pool of encoder workers instead:
 *
 *   - a video is given to one worker when it opens (the worker with the
 *     fewest videos open, the lowest first), which owns its vs_annotate: its
 *     pictures are drawn and encoded by that worker, in order;
 *   - videos open at once (--jobs) go to different workers while there are
 *     enough, so the CPU side of annotation scales with the cores.
 *
 * A picture is not copied: the worker holds the frame slot (vs_frame_hold)
 * until it has encoded it, then releases it to the pool. Each worker's
 * queue is bounded, so encoders hold at most VS_ENCODE_HELD(workers) frame
 * slots at once; the pipeline counts them in its frame pool (make_pools in
 * core/pipeline.c). A push onto a full queue waits: an encoder slower than
 * the sink holds the sink back, and the decoders behind it (backpressure).
 * The slot's bytes stay taken from the memory budget until that release.
 *
 * A worker waits on nothing but its own queue, so a video's frames always
 * drain: vs_encoders_finish may wait for them without risk of deadlock.
 *
 * Threads: vs_encoders_open, _add, _finish and _stop are called by one
 * thread (the sink's); the workers touch only their videos and queues. */
#ifndef VS_ENCODERS_H
#define VS_ENCODERS_H

#include <stdint.h>

#include "annotate.h"
#include "frame.h"
#include "pool.h"
#include "vs_error.h"

/* Frames queued per worker: enough to absorb the sink's batches of several
 * videos interleaved, few enough that held pictures stay a small share of
 * the frame pool. */
#define VS_ENCODE_QUEUE 8
/* Frame slots encoders can hold at once: a full queue and the frame being
 * encoded, per worker. */
#define VS_ENCODE_HELD(workers) ((workers) * (VS_ENCODE_QUEUE + 1))
#define VS_ENCODE_WORKERS_MAX 64

typedef struct vs_encoders vs_encoders;
typedef struct vs_encoder_video vs_encoder_video;

/* Starts `workers` threads (1..VS_ENCODE_WORKERS_MAX) named vs-encode that
 * release encoded frames to frames; labels are kept by pointer. VS_ENOMEM
 * when memory or a thread is missing (nothing is left running). */
int vs_encoders_start(vs_encoders **out, int workers, vs_pool *frames, const char *const *labels,
                      vs_error *err);

/* Gives annotate (opened, its options set) to the least busy worker. The
 * video's frames go to vs_encoders_add from now on; vs_encoders_finish
 * hands annotate back. VS_ENOMEM: annotate stays the caller's. */
int vs_encoders_open(vs_encoders *encoders, vs_annotate *annotate, vs_encoder_video **video,
                     vs_error *err);

/* Queues frame for the video's worker, which holds the slot until it is
 * drawn and encoded (waits while the queue is full). Returns the first
 * failure of the video's worker on an earlier frame (err: its message,
 * naming the input video); the frame is then not queued. */
int vs_encoders_add(vs_encoders *encoders, vs_encoder_video *video, vs_frame *frame, vs_error *err);

/* Waits until the worker has drawn and encoded every frame queued for the
 * video, hands back its annotator in *annotate (for the caller to close),
 * and frees video. Returns VS_OK, or the worker's first failure (err). */
int vs_encoders_finish(vs_encoders *encoders, vs_encoder_video *video, vs_annotate **annotate,
                       vs_error *err);

/* Ends and joins the workers; every video must be finished (asserted).
 * NULL is ignored. */
void vs_encoders_stop(vs_encoders *encoders);

int vs_encoders_count(const vs_encoders *encoders);
/* Pictures worker has drawn and encoded so far (for tests and the record). */
int64_t vs_encoders_frames(const vs_encoders *encoders, int worker);

#endif
