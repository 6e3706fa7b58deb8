/* plan.c: threads and model opening shared by run and bench (see plan.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"

static int online_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

int vs_plan_inference_threads(int requested)
{
    return requested > 0 ? requested : online_cores();
}

int vs_plan_codec_threads(int inference_on_cuda, int jobs)
{
    assert(jobs >= 1);
    int cores = online_cores();
    return inference_on_cuda ? (cores > 1 ? cores : 2) / jobs + 1 : 1;
}

/* The rule both CPU-side worker pools follow (plan.h): requested when > 0,
 * at most most; else one beside CPU inference, else half the cores, at most
 * useful (more would idle), never fewer than one. */
static int side_workers(int requested, int most, int useful, int inference_on_cpu)
{
    if (requested > 0)
        return requested < most ? requested : most;
    int half = online_cores() / 2;
    int workers = half < useful ? half : useful;
    return inference_on_cpu || workers < 1 ? 1 : workers < most ? workers : most;
}

int vs_plan_preprocess_threads(int requested, int inference_on_cpu)
{
    enum { MOST = 64 }; /* VS_STAGE_COPIES_MAX */
    return side_workers(requested, MOST, MOST, inference_on_cpu);
}

int vs_plan_encode_threads(int requested, int jobs, int inference_on_cpu)
{
    enum { MOST = 64 }; /* VS_ENCODE_WORKERS_MAX */
    assert(jobs >= 1);
    /* One video is encoded by one worker: more workers than videos idle. */
    return side_workers(requested, MOST, jobs, inference_on_cpu);
}

int vs_plan_device_is_cuda(const char *device)
{
    if (!device || !*device || !strcmp(device, "auto"))
        return vs_torch_cuda_available();
    return !strncmp(device, "cuda", 4);
}

int vs_plan_batch(int requested, int inference_on_cuda)
{
    if (requested > 0)
        return requested;
    return inference_on_cuda ? 8 : 4;
}

int vs_plan_sub_batch(void)
{
    /* The user's choice of memory over speed, and a measurement knob as
     * OMP_WAIT_POLICY is (cli/omp.c): one binary runs both ways. */
    const char *text = getenv("VIDSIFT_SUB_BATCH");
    if (text && *text) {
        char *end;
        long frames = strtol(text, &end, 10);
        if (!*end && frames >= 0 && frames <= 1024)
            return (int)frames;
    }
    return 0;
}

int vs_plan_decoded_queue(int batch, int inference_on_cuda)
{
    assert(batch >= 1);
    if (inference_on_cuda)
        return 2 * batch > 16 ? 2 * batch : 16;
    return 2 * batch + 2 < 16 ? 2 * batch + 2 : 16;
}

int vs_plan_lean_encoder(int inference_on_cuda)
{
    return !inference_on_cuda;
}

int vs_plan_open_model(vs_torch **torch, const vs_manifest *manifest, const char *device, int half,
                       int optimize, int max_batch, int slots, int threads_requested, vs_error *err)
{
    assert(max_batch >= 1 && slots >= 1);
    vs_torch_options options = {
        .model_path = manifest->model_path,
        .device = device,
        .half = half,
        .max_batch = max_batch,
        .slots = slots,
        .channels = 3,
        .height = manifest->input_height,
        .width = manifest->input_width,
        .cpu_threads = vs_plan_inference_threads(threads_requested),
        .warmup = 1,
        .optimize = optimize,
        .sub_batch = vs_plan_sub_batch(),
    };
    return vs_torch_open(torch, &options, err);
}
