/* plan.h: how a run uses the machine - inference threads, decoder threads,
 * and how the model is opened. `vidsift run` (core/pipeline.c) and
 * `vidsift bench` take these from here, so that the benchmark measures the
 * configuration users run and a change to one reaches the other. */
#ifndef VS_PLAN_H
#define VS_PLAN_H

#include "manifest.h"
#include "vs_error.h"
#include "vs_torch.h"

/* CPU inference threads: requested (--threads) when > 0, else every online
 * core. libtorch's own default can be fewer (physical cores only). */
int vs_plan_inference_threads(int requested);

/* FFmpeg codec threads for each of jobs decoders: one when inference runs on
 * the CPU, which owns the cores (extra decoder threads would only preempt
 * its OpenMP workers); on CUDA decoding is what keeps the GPU fed, so the
 * cores are shared among the decoders, plus one. */
int vs_plan_codec_threads(int inference_on_cuda, int jobs);

/* Preprocess workers (core/preprocess_stage.c): requested
 * (--preprocess-threads) when > 0, at most 64. Otherwise one when inference
 * runs on the CPU: it owns the cores and is the bottleneck by far (a
 * 640x640 model runs at 10-20 frames/s here, one worker preprocesses
 * 1080p at well over 100), so a second worker would only preempt it and
 * hold another scaler's memory. When inference does not use the CPU (CUDA,
 * or the no-op inference of `vidsift bench`'s ceiling) preprocessing is
 * what may starve it: half the cores, the decoders take the rest. */
int vs_plan_preprocess_threads(int requested, int inference_on_cpu);

/* Encoder workers for annotated videos (core/encoders.h): requested
 * (--encode-threads) when > 0, at most 64. Otherwise one when inference
 * runs on the CPU (it owns the cores and runs ten times slower than one
 * encoder). When it does not (CUDA, or the no-op ceiling), drawing and
 * encoding is what may starve it: a worker per video decoded at once
 * (jobs), up to half the cores. More workers than videos in flight would
 * idle: one video is encoded by one worker, in order. */
int vs_plan_encode_threads(int requested, int jobs, int inference_on_cpu);
/* 1 when inference will run on CUDA: device "cuda" or "cuda:N", or "auto"
 * (also NULL or "") when libtorch finds a GPU. Lets the choices below be made
 * before the model is open. */
int vs_plan_device_is_cuda(const char *device);

/* Frames per inference batch: requested (--batch) when > 0. Otherwise, on
 * the CPU, 4: each frame of a batch holds ~90 MB of activations, and on an
 * idle 2-core machine yolov5s at 512 ran batch 4 at 0.94x batch 8's frames/s
 * for 822 MiB of peak RSS instead of 1288; batch 1 fits in 500 MiB but runs at
 * 0.56-0.74x, a price a user asks for with --batch 1 rather than pays by
 * default (bench/RESULTS.md). On CUDA 8, where batching is what keeps the
 * device busy. */
int vs_plan_batch(int requested, int inference_on_cuda);

/* Capacity of the decoded queue, pictures waiting for the batch stage. Each
 * one is a whole decoded picture (3 MB at 1080p). Beside CPU inference,
 * which takes a batch in hundreds of milliseconds, two batches' worth and
 * two more keep it fed; on CUDA 16, or two batches if more, absorb the
 * decoders' jitter at thousands of frames a second. */
int vs_plan_decoded_queue(int batch, int inference_on_cuda);

/* Frames per forward pass within a batch (vs_torch_options.sub_batch):
 * $VIDSIFT_SUB_BATCH when it is a whole number 0-1024 (any other value is
 * ignored), else 0, the whole batch. On the CPU a pass's heap grows ~85 MB a
 * frame (yolov5s at 512): VIDSIFT_SUB_BATCH=1 runs batch 4 in ~610 MiB
 * instead of ~820, but whole passes ran 1.1-1.8x faster at moderate load
 * (bench/RESULTS.md), so memory is the user's choice, as --batch 1 is. CUDA
 * ignores it (the shim runs whole batches there). */
int vs_plan_sub_batch(void);

/* 1: annotated videos are encoded lean (vs_annotate_set_lean: one x264
 * thread, short lookahead; ~80 MB instead of ~230 MB at 1080p) beside
 * CPU inference, which owns the cores and runs ten times slower than one
 * encoder thread. 0 on CUDA: x264's defaults, since encoding may then be
 * what limits the run. */
int vs_plan_lean_encoder(int inference_on_cuda);

/* Opens the manifest's model as a run does: 3-channel NCHW input at the
 * manifest's size, max_batch frames per slot, slots buffers, the planned
 * inference threads, one warmup batch (which checks the model runs);
 * optimize: frozen and optimized for inference (--optimize). The message
 * names the model file. */
int vs_plan_open_model(vs_torch **torch, const vs_manifest *manifest, const char *device, int half,
                       int optimize, int max_batch, int slots, int threads_requested,
                       vs_error *err);

#endif
