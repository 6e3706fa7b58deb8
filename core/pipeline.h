/* pipeline.h: one run of vidsift over a list of videos.
 *
 * vs_pipeline_run builds the graph (pools, queues, one thread per stage),
 * runs it to the end of input or to a stop request, tears it down, and fills
 * a vs_run_result for the report. Pools and queues are sized once from the
 * options; nothing grows with the length of the input. */
#ifndef VS_PIPELINE_H
#define VS_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "frame.h"
#include "hwaccel.h"
#include "manifest.h"
#include "stats.h"
#include "track.h"

enum {
    VS_STAGE_DECODE,
    VS_STAGE_PREPROCESS,
    VS_STAGE_INFER,
    VS_STAGE_POSTPROCESS,
    VS_STAGE_TRACK,
    VS_STAGE_SINK,
    VS_STAGE_COUNT
};
enum {
    VS_QUEUE_DECODED,
    VS_QUEUE_BATCHED,
    VS_QUEUE_INFERRED,
    VS_QUEUE_DETECTED,
    VS_QUEUE_TRACKED,
    VS_QUEUE_COUNT
};

typedef enum vs_preprocess_mode {
    VS_PREPROCESS_AUTO, /* torch when the model runs on CUDA, else swscale */
    VS_PREPROCESS_SWSCALE,
    VS_PREPROCESS_TORCH,
} vs_preprocess_mode;

typedef struct vs_run_options {
    const char *manifest_path;
    int input_width, input_height; /* --imgsz; 0: the manifest's input size */
    const char *device;            /* auto | cpu | cuda | cuda:N */
    int half;
    int optimize;        /* --optimize: the model frozen and optimized for inference at load */
    int batch;           /* 1..64; 0: the device's (vs_plan_batch) */
    float conf, iou;     /* < 0: the manifest's default */
    const char *classes; /* comma-separated labels, NULL = all */
    int every;
    double sample_fps, skip_similar;
    int jobs;               /* videos decoded at once */
    int threads;            /* CPU intra-op threads for inference; 0 = auto */
    int preprocess_threads; /* preprocess workers; 0: vs_plan_preprocess_threads */
    int encode_threads;     /* annotated videos' encoder workers; 0: vs_plan_encode_threads */
    /* --preprocess: with torch on the model's device (vs_torch_preprocess)
     * or with swscale on the CPU; auto: torch when the model runs on CUDA. */
    vs_preprocess_mode preprocess;
    vs_hwaccel_mode hwaccel; /* --hwaccel: NVDEC decoding (core/hwaccel.h) */
    /* No model call: batches pass inference with no outputs, so no frame
     * has a box. `vidsift bench` measures the pipeline's ceiling so. */
    int infer_noop;
    const char *out_dir;
    const char *db_path; /* NULL: OUT/results.db */
    int annotate, snapshots, force, store;
    /* Bytes that decoded pictures in flight, and each video's decoding and
     * annotating at its picture size, may take; 0: vs_budget_default(). */
    int64_t memory_budget;
    /* --track: 0 none, else ByteTrack with track_params (its high threshold
     * is the output threshold, set by the pipeline from conf). */
    int track;
    vs_track_params track_params;
    const char *zones_path;   /* --zones FILE.json; NULL: none */
    const char *options_json; /* recorded in the runs table */
    /* From the scan, for the report: files in the given directories that are
     * not videos, and arguments or entries dropped as a file already listed. */
    int files_skipped, duplicates_dropped;
    const volatile sig_atomic_t *stop;
    /* Called about twice a second from a monitor thread. */
    void (*progress)(void *context, const vs_video *videos, int video_count, int64_t frames_done,
                     double elapsed_s);
    void *progress_context;
} vs_run_options;

typedef struct vs_queue_summary {
    const char *name;
    int capacity, max;
    double average;
    int64_t full_waits;
} vs_queue_summary;

typedef struct vs_run_result {
    char device[128];
    int videos_done, videos_failed, videos_skipped, videos_interrupted;
    int64_t frames_decoded, frames_analysed, detections;
    double wall_s, fps_decoded, fps_analysed;
    vs_stage_summary stages[VS_STAGE_COUNT];
    const char *bottleneck;
    vs_queue_summary queues[VS_QUEUE_COUNT];
    int frame_pool_size, batch_pool_size, frame_pool_max_in_use;
    int64_t frame_pool_gets, batch_pool_gets;
    /* Gets that found every slot out and waited: where backpressure held a
     * stage back (a decoder ahead of inference waits on the frame pool). */
    int64_t frame_pool_waits, batch_pool_waits;
    int64_t rss_peak_bytes, rss_final_bytes, rss_samples;
    /* The memory budget for pictures: its limit, the most taken at once, and
     * how often a decoder waited for it. */
    int64_t memory_budget_bytes, memory_budget_max_used, memory_budget_waits;
    /* What decoded and preprocessed the frames: "nvdec" or "software", and
     * "torch" (on the model's device) or "swscale"; hwaccel_note: why NVDEC
     * was asked for and not used (one line, "" otherwise). */
    char decoder[16], preprocess[16];
    char hwaccel_note[200];
    int gpu_monitored;
    char gpu_note[160];
    double gpu_util_avg, gpu_util_p95;
    int64_t gpu_memory_peak_bytes, gpu_memory_used_bytes;
    int64_t torch_cuda_peak_bytes;
    int interrupted;
    int files_skipped, duplicates_dropped; /* copied from the options */
    int started; /* 0: setup failed (model, store, memory) before any frame, or nothing to do */
    /* 0: the model was not loaded - setup failed first, or every video was
     * complete already (videos_skipped == video count, no runs row). */
    int model_loaded;
    int64_t run_id;
} vs_run_result;

int vs_pipeline_run(const vs_run_options *options, vs_video *videos, int video_count,
                    vs_run_result *result, vs_error *err);

/* Current resident set size in bytes (from /proc/self/statm). */
int64_t vs_rss_bytes(void);

#endif
