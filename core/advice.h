/* advice.h: where a run or a bench fell short of what its hardware allows,
 * why, and what would fix it, read off figures already measured (stage
 * times, NVML's GPU busy figure, inference alone at each batch size), never
 * guessed. report.json carries the run's lines as "advice", the bench's
 * notes carry the batch lines. Nothing here measures or allocates. */
#ifndef VS_ADVICE_H
#define VS_ADVICE_H

#include "pipeline.h"

#define VS_ADVICE_MAX 6
#define VS_ADVICE_LINE 320
/* The GPU busy figure (NVML, average over the run) below which a CUDA run
 * is said to leave the GPU waiting (issue 18: >= 90% when inference-bound). */
#define VS_ADVICE_GPU_BUSY 90.0
/* Batch 16 FP16 over batch 1 FP32, inference alone on CUDA, below which the
 * batch lines say why (issue 18's aim on an H200). */
#define VS_ADVICE_BATCH_GAIN 4.0

typedef struct vs_advice {
    char lines[VS_ADVICE_MAX][VS_ADVICE_LINE];
    int count;
} vs_advice;

/* A run: a CUDA run whose GPU was busy less than VS_ADVICE_GPU_BUSY on
 * average (inference the slowest stage: the GPU waits inside each call;
 * another stage: the GPU waits for it, and that stage's fix), or whose GPU
 * busy was not measured; decoders that waited for the memory budget. */
void vs_advise_run(const vs_run_result *result, vs_advice *advice);

/* Inference alone at one batch size and precision (frames/s). */
typedef struct vs_inference_point {
    int batch, half;
    double fps;
} vs_inference_point;

/* Batch scaling: on CUDA, batch 16 FP16 (else the largest FP16 batch)
 * against batch 1 FP32 under VS_ADVICE_BATCH_GAIN, with the reason the
 * figures show (a fixed cost per call, FP16 no faster than FP32, or the
 * gain simply smaller); on any device, larger batches no faster per frame
 * than batch 1. */
void vs_advise_batches(const vs_inference_point *points, int count, int cuda, vs_advice *advice);

#endif
