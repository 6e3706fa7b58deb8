/* advice.c: see advice.h. */
#include "advice.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void add(vs_advice *advice, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(vs_advice *advice, const char *fmt, ...)
{
    if (advice->count >= VS_ADVICE_MAX)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(advice->lines[advice->count++], VS_ADVICE_LINE, fmt, args);
    va_end(args);
}

static const vs_stage_summary *stage_named(const vs_run_result *r, const char *name)
{
    for (int s = 0; s < VS_STAGE_COUNT; s++)
        if (r->stages[s].name && !strcmp(r->stages[s].name, name))
            return &r->stages[s];
    return NULL;
}

/* What shortens a stage other than inference when the GPU waits for it. */
static const char *stage_fix(const char *stage)
{
    if (!strcmp(stage, "decode"))
        return "decode more videos at once (--jobs N), or decode on the GPU (--hwaccel cuda)";
    if (!strcmp(stage, "preprocess"))
        return "more preprocess workers, or preprocessing on the GPU";
    if (!strcmp(stage, "postprocess"))
        return "a higher --conf (fewer boxes through NMS)";
    if (!strcmp(stage, "track"))
        return "tracking off for a throughput run";
    if (!strcmp(stage, "sinks"))
        return "fewer outputs (--no-annotate, no --snapshots)";
    return "more threads for it";
}

void vs_advise_run(const vs_run_result *r, vs_advice *advice)
{
    memset(advice, 0, sizeof *advice);
    if (r->frames_decoded <= 0)
        return;
    int cuda = !strncmp(r->device, "cuda", 4);
    const vs_stage_summary *infer = stage_named(r, "inference");
    const vs_stage_summary *slowest = r->bottleneck ? stage_named(r, r->bottleneck) : NULL;
    int gpu_waits = cuda && (!r->gpu_monitored || r->gpu_util_avg < VS_ADVICE_GPU_BUSY);
    if (cuda && !r->gpu_monitored)
        add(advice,
            "GPU busy not measured (%s): whether the GPU waited cannot be told; NVML "
            "(libnvidia-ml.so.1, from the driver) gives the figure",
            r->gpu_note[0] ? r->gpu_note : "no NVML");
    if (gpu_waits && slowest && infer && slowest == infer) {
        double batch = infer->count > 0 ? (double)infer->frames / (double)infer->count : 0;
        if (r->gpu_monitored)
            add(advice,
                "GPU busy %.0f%% on average (aim %.0f%%) while inference is the slowest stage "
                "(%.2f ms a frame, batches of %.1f): the GPU waits on host work inside each call "
                "(copying the batch in, launching kernels, reading outputs back); larger "
                "batches (--batch), --half and preprocessing on the GPU cut it per frame",
                r->gpu_util_avg, VS_ADVICE_GPU_BUSY, infer->ms_per_frame, batch);
    } else if (gpu_waits && slowest && infer) {
        if (r->gpu_monitored)
            add(advice,
                "GPU busy %.0f%% on average (aim %.0f%%): the GPU waits for %s (%.2f ms a "
                "frame, inference %.2f ms): %s",
                r->gpu_util_avg, VS_ADVICE_GPU_BUSY, slowest->name, slowest->ms_per_frame,
                infer->ms_per_frame, stage_fix(slowest->name));
        else
            add(advice, "the slowest stage is %s (%.2f ms a frame, inference %.2f ms): %s",
                slowest->name, slowest->ms_per_frame, infer->ms_per_frame,
                stage_fix(slowest->name));
    }
    if (r->memory_budget_waits > 0)
        add(advice,
            "decoders waited %lld times for the memory budget for pictures (%.0f MiB): a larger "
            "--memory-budget lets them run ahead of inference",
            (long long)r->memory_budget_waits, r->memory_budget_bytes / 1048576.0);
}

static const vs_inference_point *find(const vs_inference_point *points, int count, int batch,
                                      int half)
{
    for (int i = 0; i < count; i++)
        if (points[i].batch == batch && points[i].half == half && points[i].fps > 0)
            return &points[i];
    return NULL;
}

static const vs_inference_point *largest(const vs_inference_point *points, int count, int half)
{
    const vs_inference_point *best = NULL;
    for (int i = 0; i < count; i++)
        if (points[i].half == half && points[i].fps > 0 && (!best || points[i].batch > best->batch))
            best = &points[i];
    return best;
}

void vs_advise_batches(const vs_inference_point *points, int count, int cuda, vs_advice *advice)
{
    memset(advice, 0, sizeof *advice);
    const vs_inference_point *one = find(points, count, 1, 0);
    if (!one)
        return;
    const vs_inference_point *big = largest(points, count, 0);
    if (big && big->batch > 1 && big->fps < one->fps * 1.05)
        add(advice,
            "batches bring nothing here: batch %d FP32 runs %.2fx batch 1 per frame; the "
            "smallest batch uses the least memory for the same speed",
            big->batch, big->fps / one->fps);
    if (!cuda)
        return;
    const vs_inference_point *half = find(points, count, 16, 1);
    if (!half)
        half = largest(points, count, 1);
    if (!half)
        return;
    double gain = half->fps / one->fps;
    if (gain >= VS_ADVICE_BATCH_GAIN)
        return;
    const vs_inference_point *same32 = find(points, count, half->batch, 0);
    if (!same32 || half->batch == 1) {
        add(advice,
            "batch %d FP16 gives %.2fx batch 1 FP32 (aim %.0fx); FP32 at batch %d was not "
            "measured, so the batch's share and FP16's cannot be told apart",
            half->batch, gain, VS_ADVICE_BATCH_GAIN, half->batch);
        return;
    }
    /* The gain is the batch's (FP32) times FP16's (same batch): say which fell short. */
    double by_batch = same32->fps / one->fps, by_half = half->fps / same32->fps;
    const char *why_batch =
        by_batch < 2 ? "the time per frame barely falls with the batch: per-frame work inside "
                       "the call (copying frames in and outputs out), not launch cost, limits "
                       "it, or batch 1 already fills the GPU"
                     : "the batch pays";
    add(advice,
        "batch %d FP16 gives %.2fx batch 1 FP32 (aim %.0fx): %.2fx from the batch at FP32, %.2fx "
        "from FP16 at batch %d; %s",
        half->batch, gain, VS_ADVICE_BATCH_GAIN, by_batch, by_half, half->batch, why_batch);
    if (by_half < 1.3)
        add(advice,
            "FP16 brings little at batch %d (%.2fx FP32): the model does not run on tensor cores "
            "at this input size (a channels-last layout or a compiled engine would use them)",
            half->batch, by_half);
}
