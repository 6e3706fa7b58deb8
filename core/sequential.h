/* sequential.h: the sequential baseline that `vidsift bench --sequential`
 * compares the pipeline with. The same code as the pipeline's stages -
 * reader (decode), preprocess, model, detect, store, annotator - called one
 * after the other on the caller's thread, batch 1, a single-threaded
 * decoder, nothing overlapped: each frame goes through every step before the
 * next one is decoded. What the pipeline gains over it is what its queues,
 * threads and batches buy. */
#ifndef VS_SEQUENTIAL_H
#define VS_SEQUENTIAL_H

#include <signal.h>
#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "vs_error.h"

typedef struct vs_sequential_options {
    const vs_manifest *manifest; /* the model, opened as a run opens it (core/plan.c) */
    const char *device;          /* auto, cpu, cuda or cuda:N */
    int half;                    /* FP16 inference (CUDA only) */
    int threads;                 /* CPU inference threads; 0 = every core */
    const char *store_path;      /* SQLite database the detections go to; NULL: none */
    /* Directory the annotated videos go to, as NN.mp4 (NN: the video's index);
     * NULL: none. It must exist. */
    const char *annotate_dir;
    const volatile sig_atomic_t *stop; /* set asynchronously: stop after this frame; may be NULL */
} vs_sequential_options;

typedef struct vs_sequential_result {
    int64_t frames; /* decoded, every video together */
    /* From the first frame to the last video's end, with the model loaded
     * and the store opened beforehand: timed like the pipeline's wall_s. */
    double seconds;
} vs_sequential_result;

/* Runs videos[0..count) one after the other. Each video's fields are filled
 * as the decode stage fills them (description, frames_decoded, status and
 * error). Stops at the first video that fails, with its message (naming the
 * video), or VS_EINTR when *stop was set; result is filled only on VS_OK. */
int vs_sequential_run(const vs_sequential_options *options, vs_video *videos, int count,
                      vs_sequential_result *result, vs_error *err);

#endif
