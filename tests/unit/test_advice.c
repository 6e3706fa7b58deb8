/* vs_advise_run / vs_advise_batches: the lines that say why an aim of issue 18
 * was missed, fed with synthetic figures (no GPU needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "advice.h"

/* A CUDA run of 1000 frames: decode 0.5 ms a frame, inference batches of 16
 * at `infer_ms` a frame; NVML's busy figure `busy` (< 0: not monitored). */
static void cuda_run(vs_run_result *r, double infer_ms, double busy)
{
    memset(r, 0, sizeof *r);
    snprintf(r->device, sizeof r->device, "cuda:0 (NVIDIA H200)");
    r->frames_decoded = r->frames_analysed = 1000;
    const char *names[VS_STAGE_COUNT] = {"decode",      "preprocess", "inference",
                                         "postprocess", "track",      "sinks"};
    double ms[VS_STAGE_COUNT] = {0.5, 0.3, infer_ms, 0.1, 0, 0.05};
    for (int s = 0; s < VS_STAGE_COUNT; s++) {
        r->stages[s].name = names[s];
        r->stages[s].ms_per_frame = ms[s];
        r->stages[s].frames = ms[s] > 0 ? 1000 : 0;
        r->stages[s].count = s == VS_STAGE_INFER ? 1000 / 16 : r->stages[s].frames;
    }
    r->bottleneck = vs_stats_bottleneck(r->stages, VS_STAGE_COUNT);
    r->gpu_monitored = busy >= 0;
    r->gpu_util_avg = busy;
    if (busy < 0)
        snprintf(r->gpu_note, sizeof r->gpu_note, "libnvidia-ml.so.1 not found");
}

static int has(const vs_advice *a, const char *text)
{
    for (int i = 0; i < a->count; i++) /* every line whole: none cut at the buffer's end */
        assert_true(strlen(a->lines[i]) < VS_ADVICE_LINE - 1);
    for (int i = 0; i < a->count; i++)
        if (strstr(a->lines[i], text))
            return 1;
    return 0;
}

static void gpu_idle_while_inference_bound_says_why(void **state)
{
    (void)state;
    vs_run_result r;
    vs_advice a;
    cuda_run(&r, 0.8, 62);
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 1);
    assert_true(has(&a, "GPU busy 62% on average (aim 90%)"));
    assert_true(has(&a, "inference is the slowest stage (0.80 ms a frame, batches of 16.1)"));
    assert_true(has(&a, "--batch"));
}

static void gpu_waiting_for_decode_names_the_stage_and_fix(void **state)
{
    (void)state;
    vs_run_result r;
    vs_advice a;
    cuda_run(&r, 0.2, 40);
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 1);
    assert_true(has(&a, "the GPU waits for decode (0.50 ms a frame, inference 0.20 ms)"));
    assert_true(has(&a, "--hwaccel cuda"));
}

static void busy_gpu_gets_no_advice(void **state)
{
    (void)state;
    vs_run_result r;
    vs_advice a;
    cuda_run(&r, 0.8, 95);
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 0);
    /* A CPU run says nothing about a GPU. */
    cuda_run(&r, 0.8, -1);
    snprintf(r.device, sizeof r.device, "cpu");
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 0);
    /* Nor does a run that decoded nothing. */
    cuda_run(&r, 0.8, 10);
    r.frames_decoded = 0;
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 0);
}

static void unmeasured_gpu_and_budget_waits_are_said(void **state)
{
    (void)state;
    vs_run_result r;
    vs_advice a;
    cuda_run(&r, 0.2, -1);
    r.memory_budget_waits = 7;
    r.memory_budget_bytes = 512LL << 20;
    vs_advise_run(&r, &a);
    assert_int_equal(a.count, 3);
    assert_true(has(&a, "GPU busy not measured (libnvidia-ml.so.1 not found)"));
    assert_true(has(&a, "the slowest stage is decode"));
    assert_true(has(&a, "waited 7 times for the memory budget for pictures (512 MiB)"));
}

static void batch_gain_met_says_nothing(void **state)
{
    (void)state;
    vs_advice a;
    vs_inference_point p[] = {{1, 0, 500}, {16, 0, 2000}, {16, 1, 4000}};
    vs_advise_batches(p, 3, 1, &a);
    assert_int_equal(a.count, 0);
    /* FP16 at a batch whose FP32 figure is missing: the split cannot be made. */
    p[2].fps = 1000;
    vs_advise_batches((vs_inference_point[]){p[0], p[2]}, 2, 1, &a);
    assert_int_equal(a.count, 1);
    assert_true(has(&a, "batch 16 FP16 gives 2.00x batch 1 FP32 (aim 4x); FP32 at batch 16 was "
                        "not measured"));
}

static void batch_gain_short_says_which_part(void **state)
{
    (void)state;
    vs_advice a;
    /* The batch gives 1.5x, FP16 1.1x more: both fall short. */
    vs_inference_point p[] = {{1, 0, 100}, {16, 0, 150}, {16, 1, 165}};
    vs_advise_batches(p, 3, 1, &a);
    assert_int_equal(a.count, 2);
    assert_true(has(&a, "batch 16 FP16 gives 1.65x batch 1 FP32 (aim 4x): 1.50x from the batch "
                        "at FP32, 1.10x from FP16 at batch 16"));
    assert_true(has(&a, "barely falls with the batch"));
    assert_true(has(&a, "FP16 brings little at batch 16 (1.10x FP32)"));
    /* The batch pays, FP16 does not. */
    p[1].fps = 300, p[2].fps = 330;
    vs_advise_batches(p, 3, 1, &a);
    assert_int_equal(a.count, 2);
    assert_true(has(&a, "at batch 16; the batch pays"));
    assert_true(has(&a, "FP16 brings little"));
    /* Both pay, not enough. */
    p[2].fps = 390;
    vs_advise_batches(p, 3, 1, &a);
    assert_true(has(&a, "3.90x batch 1 FP32 (aim 4x): 3.00x from the batch at FP32, 1.30x"));
    assert_int_equal(a.count, 1);
    assert_true(has(&a, "from FP16 at batch 16; the batch pays"));
    /* Without CUDA no FP16 line. */
    vs_advise_batches(p, 3, 0, &a);
    assert_int_equal(a.count, 0);
}

static void flat_batches_on_cpu(void **state)
{
    (void)state;
    vs_advice a;
    vs_inference_point p[] = {{1, 0, 15}, {8, 0, 14}};
    vs_advise_batches(p, 2, 0, &a);
    assert_int_equal(a.count, 1);
    assert_true(has(&a, "batches bring nothing here: batch 8 FP32 runs 0.93x batch 1"));
    /* Without batch 1 nothing can be compared. */
    vs_advise_batches(p + 1, 1, 0, &a);
    assert_int_equal(a.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpu_idle_while_inference_bound_says_why),
        cmocka_unit_test(gpu_waiting_for_decode_names_the_stage_and_fix),
        cmocka_unit_test(busy_gpu_gets_no_advice),
        cmocka_unit_test(unmeasured_gpu_and_budget_waits_are_said),
        cmocka_unit_test(batch_gain_met_says_nothing),
        cmocka_unit_test(batch_gain_short_says_which_part),
        cmocka_unit_test(flat_batches_on_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
