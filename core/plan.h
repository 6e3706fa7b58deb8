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

/* Opens the manifest's model as a run does: 3-channel NCHW input at the
 * manifest's size, max_batch frames per slot, slots buffers, the planned
 * inference threads, one warmup batch (which checks the model runs). The
 * message names the model file. */
int vs_plan_open_model(vs_torch **torch, const vs_manifest *manifest, const char *device, int half,
                       int max_batch, int slots, int threads_requested, vs_error *err);

#endif
