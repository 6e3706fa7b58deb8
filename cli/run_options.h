/* run_options.h: the options `vidsift run` and `vidsift worker` share - the
 * model, detection, tracking, sampling and output options - each described
 * and parsed once, so that a worker takes every option a run takes, with the
 * same help, limits and messages, and its rows are what a run's would be.
 *
 * A command's table places the groups (CLI_RUN_*_OPTIONS, rows without a
 * heading) under its own headings, and hands each option id it does not know
 * itself to cli_run_option. */
#ifndef VS_CLI_RUN_OPTIONS_H
#define VS_CLI_RUN_OPTIONS_H

#include "options.h"
#include "pipeline.h"

/* Ids of the shared options: above those a command numbers from 256. */
enum {
    CLI_RUN_MODEL = 1024,
    CLI_RUN_DEVICE,
    CLI_RUN_HALF,
    CLI_RUN_OPTIMIZE,
    CLI_RUN_BATCH,
    CLI_RUN_THREADS,
    CLI_RUN_IMGSZ,
    CLI_RUN_CONF,
    CLI_RUN_IOU,
    CLI_RUN_CLASSES,
    CLI_RUN_TRACK,
    CLI_RUN_TRACK_BUFFER,
    CLI_RUN_TRACK_LOW,
    CLI_RUN_TRACK_NEW,
    CLI_RUN_TRACK_MATCH,
    CLI_RUN_ZONES,
    CLI_RUN_EVERY,
    CLI_RUN_SAMPLE_FPS,
    CLI_RUN_SKIP_SIMILAR,
    CLI_RUN_JOBS,
    CLI_RUN_MEMORY_BUDGET,
    CLI_RUN_OUT,
    CLI_RUN_DB,
    CLI_RUN_NO_ANNOTATE,
    CLI_RUN_SNAPSHOTS,
    CLI_RUN_FORCE,
    CLI_RUN_HWACCEL,
    CLI_RUN_PREPROCESS,
    CLI_RUN_PREPROCESS_THREADS,
    CLI_RUN_ENCODE_THREADS,
};

/* clang-format off */
#define CLI_RUN_MODEL_OPTIONS                                                                      \
    {"model", 0, "NAME|PATH", CLI_RUN_MODEL,                                                       \
     "a name in `vidsift models list`, a manifest path, or a\n"                                    \
     ".pt with its manifest beside it ($VIDSIFT_DEFAULT_MODEL,\n"                                  \
     "else yolov5s)"},                                                                             \
    {"device", 0, "DEV", CLI_RUN_DEVICE, "auto, cpu, cuda or cuda:N (auto)"},                      \
    {"half", 0, NULL, CLI_RUN_HALF, "FP16 inference (CUDA only)"},                                 \
    {"optimize", 0, NULL, CLI_RUN_OPTIMIZE,                                                        \
     "freeze and optimize the model at load (CPU: 1.2-1.4x\n"                                      \
     "inference here, ~30 MB less; outputs within ~1e-3)"},                                        \
    {"batch", 0, "N", CLI_RUN_BATCH, "frames per inference batch, 1-64 (4 on CPU, 8 on CUDA)"},    \
    {"threads", 0, "N", CLI_RUN_THREADS, "CPU inference threads (0 = all cores)"},                 \
    {"preprocess-threads", 0, "N", CLI_RUN_PREPROCESS_THREADS,                                     \
     "preprocess workers filling each batch (0: one beside\n"                                      \
     "CPU inference, half the cores on CUDA)"},                                                    \
    {"imgsz", 0, "S|WxH", CLI_RUN_IMGSZ,                                                           \
     "YOLO models: input size in pixels, multiples of 32 (the\n"                                   \
     "manifest's; e.g. 512, or 640x384 for 16:9 landscape)"},                                      \
    {"hwaccel", 0, "auto|none|cuda", CLI_RUN_HWACCEL,                                              \
     "decode on the GPU with NVDEC, or in software if it\n"                                        \
     "cannot (auto: when the model runs on CUDA)"},                                                \
    {"preprocess", 0, "auto|swscale|torch", CLI_RUN_PREPROCESS,                                    \
     "resize and normalise frames with swscale on\n"                                               \
     "the CPU or with torch on the model's device\n"                                               \
     "(auto: torch on CUDA)"}

#define CLI_RUN_DETECTION_OPTIONS                                                                  \
    {"conf", 0, "X", CLI_RUN_CONF, "minimum score, 0-1 (the model's default)"},                    \
    {"iou", 0, "X", CLI_RUN_IOU, "NMS overlap threshold, 0-1 (the model's default)"},              \
    {"classes", 0, "A,B", CLI_RUN_CLASSES,                                                         \
     "keep only these labels or class ids, any case (e.g.\n"                                       \
     "person,car)"}

#define CLI_RUN_TRACKING_OPTIONS                                                                   \
    {"track", 0, "bytetrack|none", CLI_RUN_TRACK,                                                  \
     "follow objects across frames: ids in\n"                                                      \
     "detections.track_id, the tracks table (bytetrack)"},                                         \
    {"track-buffer", 0, "S", CLI_RUN_TRACK_BUFFER,                                                 \
     "seconds of video a track waits for its lost object (1)"},                                    \
    {"track-low", 0, "X", CLI_RUN_TRACK_LOW,                                                       \
     "boxes from X up to --conf feed the tracker's second pass\n"                                  \
     "and are stored only when a track claims them (0.1)"},                                        \
    {"track-new", 0, "X", CLI_RUN_TRACK_NEW, "score a box needs to start a track (--conf + 0.1)"}, \
    {"track-match", 0, "X", CLI_RUN_TRACK_MATCH, "first-pass cost limit, 1 - IoU x score (0.8)"},  \
    {"zones", 0, "FILE", CLI_RUN_ZONES,                                                            \
     "counting lines and zones (JSON, see the man page):\n"                                        \
     "crossings, visits and, with a calibration, speeds"}

#define CLI_RUN_SAMPLING_OPTIONS                                                                   \
    {"every", 0, "N", CLI_RUN_EVERY, "analyse every Nth frame (1)"},                               \
    {"sample-fps", 0, "F", CLI_RUN_SAMPLE_FPS, "analyse at most F frames per second of video"},    \
    {"skip-similar", 0, "T", CLI_RUN_SKIP_SIMILAR,                                                 \
     "carry detections over frames whose 32x32 luma thumbnail\n"                                   \
     "differs from the last analysed one by less than T\n"                                         \
     "(0-1, e.g. 0.02)"}

#define CLI_RUN_OUTPUT_OPTIONS                                                                     \
    {"jobs", 0, "N", CLI_RUN_JOBS, "videos decoded at once (1)"},                                  \
    {"memory-budget", 0, "SIZE", CLI_RUN_MEMORY_BUDGET,                                            \
     "memory for decoded pictures, e.g. 512M or 4G (2G, or a\n"                                    \
     "quarter of the machine's memory if less); a video that\n"                                    \
     "cannot fit fails alone"},                                                                    \
    {"out", 0, "DIR", CLI_RUN_OUT, "output directory (vidsift-out)"},                              \
    {"db", 0, "FILE", CLI_RUN_DB, "results database (OUT/results.db)"},                            \
    {"no-annotate", 0, NULL, CLI_RUN_NO_ANNOTATE, "do not write annotated videos"},                \
    {"encode-threads", 0, "N", CLI_RUN_ENCODE_THREADS,                                             \
     "workers drawing and encoding annotated videos, one video\n"                                  \
     "each at a time (0: one beside CPU inference; on CUDA one\n"                                  \
     "per --jobs, up to half the cores)"},                                                         \
    {"snapshots", 0, NULL, CLI_RUN_SNAPSHOTS, "write JPEG thumbnails and best crops per class"},   \
    {"force", 0, NULL, CLI_RUN_FORCE, "redo videos already complete in the database"}
/* clang-format on */

/* run's defaults, which a worker shares: a worker's rows equal a run's. */
void cli_run_defaults(vs_run_options *o, const volatile sig_atomic_t *stop);

/* Applies shared option id with its value (optarg) to o; --model sets
 * *model. 1: done; 0: a bad value, a line naming command and option was
 * printed (exit 2); -1: id is not a shared option. */
int cli_run_option(const char *command, int id, const char *value, vs_run_options *o,
                   const char **model);

#endif
