/* stages.h: the pipeline's stages, each a thread loop in its own file.
 *
 * Only core/pipeline.c includes this: it is the one place that knows all
 * stages and wires their queues. Each stage reads from one queue, writes to
 * the next, and records its own timing; none calls another.
 *
 *   decode (xJ) -> frames -> batch -> positions -> preprocess (xN)
 *       -> filled -> gather -> batches -> infer -> inferred -> postprocess
 *       -> detected -> track -> tracked -> sink -> (slots back to pools)
 */
#ifndef VS_STAGES_H
#define VS_STAGES_H

#include <signal.h>

#include "budget.h"
#include "detect.h"
#include "frame.h"
#include "hwaccel.h"
#include "inflight.h"
#include "output.h"
#include "pool.h"
#include "preprocess.h"
#include "queue.h"
#include "source.h"
#include "stats.h"
#include "track.h"
#include "vs_torch.h"
#include "zones.h"

#define VS_BATCH_MAX 64

struct vs_batch;

/* One analysed frame's place in a batch, handed by the batch stage to a
 * preprocess worker; allocated once per batch slot and position. */
typedef struct vs_batch_task {
    struct vs_batch *batch; /* the slot this task belongs to, fixed */
    int position;           /* frame of the model input; -1: the batch's seal */
    vs_frame *frame;        /* what to preprocess there */
    int failed;             /* the scaler could not take it: the gather stage closes the gap */
} vs_batch_task;

/* A batch slot: the frames that travel together, and the shim slot whose
 * input buffer holds the analysed ones. Entries are in arrival order; the
 * k-th analysed entry is frame k of the model input. Markers and frames not
 * analysed ride along so that every sink sees each video in order. */
typedef struct vs_batch {
    int slot;     /* shim slot, fixed per batch slot */
    float *input; /* vs_torch_input(slot) */
    int frames;   /* analysed frames in input */
    int entry_count;
    vs_frame **entries;     /* entry_capacity pointers, allocated once */
    vs_letterbox *geometry; /* per analysed frame, allocated once */
    /* Filled by several preprocess workers, sent on in order (core/gather.c). */
    vs_batch_task *tasks; /* per position, allocated once */
    vs_batch_task seal;   /* the batch stage is done with it: no more positions */
    int pending;          /* tasks not yet done, the seal included (atomic) */
    int64_t sequence;     /* the order batches were sealed in, which gather restores */
    int wake;             /* a decoder waits for memory: a NULL follows this batch */
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int output_count;
    int failed; /* inference failed: error says why */
    vs_error error;
    double inferred_ms;
} vs_batch;

typedef struct vs_sampling {
    int every;           /* analyse every Nth decoded frame (1 = all) */
    double sample_fps;   /* analyse at most this many frames per second of video; 0 = off */
    double skip_similar; /* mean luma difference (0..1) below which a frame is carried; 0 = off */
    int keep_unsampled;  /* pass frames not analysed on (the annotator draws every frame) */
} vs_sampling;

typedef struct vs_decode_stage {
    vs_video_source *source; /* the next video to decode; shared by the decoder threads */
    vs_pool *frames;
    vs_queue *out;
    vs_sampling sampling;
    int codec_threads;
    const volatile sig_atomic_t *stop;
    /* The pipeline's flag, set by the sink when the store fails: nothing
     * more can be recorded. */
    const int *halt;
    vs_budget *budget; /* the run's, shared by the decoders */
    /* Pictures' worth of memory a video holds besides those in flight: its
     * decoder's references and threads, preprocessing, snapshots... */
    int working_set_pictures;
    /* ...and the annotator's, which depends on the size; NULL: none. */
    int (*annotator_pictures)(int width, int height);
    /* NVDEC (core/hwaccel.h): the run's CUDA device; NULL or no device:
     * software decoding. */
    const vs_hwaccel *hwaccel;
    /* Pictures NVDEC leaves in GPU memory may stay there: only the model
     * reads their pixels (preprocessing with torch on the device; no
     * annotation, snapshot or --skip-similar thumbnail). */
    int keep_on_gpu;
    int64_t frames_on_gpu; /* pictures NVDEC decoded (this thread's), for the report */
    vs_stage_stats stats;
} vs_decode_stage;

typedef struct vs_batch_stage {
    vs_queue *in;  /* frames in arrival order */
    vs_queue *out; /* tasks: a position per analysed frame, then the batch's seal */
    vs_pool *batches;
    int max_batch, entry_capacity;
    const vs_budget *budget; /* a decoder waiting for memory: send what the batch holds */
    int64_t sealed;          /* batches sealed so far: the next one's sequence */
} vs_batch_stage;

/* One preprocess worker (core/preprocess_stage.c); the row runs N of them. */
typedef struct vs_preprocess_stage {
    vs_queue *in;        /* tasks from the batch stage */
    vs_queue *out;       /* batches with every position filled, in any order */
    size_t frame_floats; /* floats per frame of input */
    vs_preprocess preprocess;
    vs_stage_stats stats; /* per frame */
} vs_preprocess_stage;

typedef struct vs_gather_stage {
    vs_queue *in, *out; /* filled batches in any order; in sealed order (and NULLs) */
    vs_pool *batches;   /* a wake-up batch without entries goes back here */
    size_t frame_floats;
    vs_batch **held; /* held_count slots: batches that came before their turn */
    int held_count;  /* the batch pool's size: no more can be between batch and gather */
    int64_t next;    /* sequence of the batch to send next */
} vs_gather_stage;

typedef struct vs_infer_stage {
    vs_queue *in, *out;
    vs_torch *torch;
    int noop;                /* the pipeline's ceiling (vidsift bench): no model call, no outputs */
    const vs_budget *budget; /* a decoder waiting for memory: hold no batch back */
    vs_stage_stats stats;    /* per batch */
    int64_t batches_run;
} vs_infer_stage;

typedef struct vs_postprocess_stage {
    vs_queue *in, *out;
    const vs_manifest *manifest;
    vs_detect_params params;
    void *scratch;
    /* Per video in flight (START to END here): the last analysed frame's
     * boxes, for the frames carried after it (vs_postprocess_video). */
    vs_inflight last;
    vs_stage_stats stats; /* per frame */
} vs_postprocess_stage;

/* The track stage (core/track_stage.c): ids on boxes, zone events on frames. */
typedef struct vs_track_video vs_track_video;
typedef struct vs_track_stage {
    vs_queue *in, *out;
    int enabled; /* 0 (--track none): frames pass untouched */
    vs_track_params params;
    const vs_zones_config *zones; /* NULL: no --zones */
    int class_count;              /* the model's, for the zones' per-class counts */
    int track_capacity;           /* live tracks per video */
    vs_track_video **videos;      /* one per video in flight, grown at a START */
    int video_slots;
    vs_stage_stats stats; /* per analysed frame */
} vs_track_stage;

typedef struct vs_postprocess_video {
    int detection_count;
    vs_detection detections[VS_MAX_DETECTIONS];
} vs_postprocess_video;

struct vs_store;

#define VS_SINK_OUTPUTS_MAX 4

/* A video in flight at the sink: each output's state, and what they share. */
typedef struct vs_sink_video {
    vs_output_video shared;
    void *states[VS_SINK_OUTPUTS_MAX];
    int closed[VS_SINK_OUTPUTS_MAX]; /* the output failed on it, or ended it */
    int started;                     /* its START marker went through */
} vs_sink_video;

typedef struct vs_sink_stage {
    vs_queue *in;
    vs_pool *batches, *frames;
    struct vs_store *store; /* NULL: no database; committed after each batch */
    /* In order (output.h): the store first, when there is one. */
    vs_output outputs[VS_SINK_OUTPUTS_MAX];
    int output_count;
    vs_inflight videos;              /* a vs_sink_video per video in flight */
    int *halt;                       /* the pipeline's: set with failed, read by the decoders */
    int64_t frames_done, detections; /* read by the progress monitor */
    vs_stage_stats stats;            /* per frame */
    int failed;                      /* a store error: the run cannot keep its promise */
    vs_error error;
} vs_sink_stage;

void *vs_decode_thread(void *stage);
void *vs_sink_thread(void *stage);
void *vs_batch_thread(void *stage);
void *vs_preprocess_thread(void *stage);
void *vs_gather_thread(void *stage);
void *vs_infer_thread(void *stage);
void *vs_postprocess_thread(void *stage);
void *vs_track_thread(void *stage);
void vs_track_stage_free(vs_track_stage *stage);

/* After outputs are set: the table of videos in flight (inflight.h), and
 * the stats. vs_sink_free closes the outputs. */
int vs_sink_init(vs_sink_stage *stage, int videos_in_flight, vs_error *err);
void vs_sink_free(vs_sink_stage *stage);

/* Releases a frame slot's picture and hands the slot back - once its last
 * holder has released it (vs_frame_hold). */
void vs_frame_release(vs_pool *frames, vs_frame *frame);
/* One more holder of frame: another thread reads it past the sink's release
 * (an encoder worker) and releases it in its turn. */
void vs_frame_hold(vs_frame *frame);

#endif
