/* core/plan.c, the thread counts and model opening that `vidsift run` and
 * `vidsift bench` share: --threads wins, 0 means every online core; decoders
 * get one codec thread when inference is on the CPU and share the cores on
 * CUDA; preprocess workers are one beside CPU inference, more when it
 * leaves the cores free; the batch is 1 on the CPU and 8 on CUDA unless --batch says,
 * the decoded queue and the encoder's memory follow it and the device; the model opens
 * at the manifest's input size with the planned threads, and a missing model file is
 * named. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plan.h"
#include "testutil.h"

static void threads_follow_the_option_else_the_cores(void **state)
{
    (void)state;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(cores >= 1);
    assert_int_equal(vs_plan_inference_threads(3), 3);
    assert_int_equal(vs_plan_inference_threads(0), (int)cores);
    /* On the CPU the decoder never competes with inference for the cores. */
    assert_int_equal(vs_plan_codec_threads(0, 1), 1);
    assert_int_equal(vs_plan_codec_threads(0, 4), 1);
    /* On CUDA the cores are shared among the decoders, plus one each. */
    int shared = (int)(cores > 1 ? cores : 2);
    assert_int_equal(vs_plan_codec_threads(1, 1), shared + 1);
    assert_int_equal(vs_plan_codec_threads(1, 2), shared / 2 + 1);
    assert_true(vs_plan_codec_threads(1, 64) >= 1);
    /* Preprocess workers: the option wins (at most 64); one beside CPU
     * inference, half the cores (at least one) when inference leaves them free. */
    assert_int_equal(vs_plan_preprocess_threads(3, 1), 3);
    assert_int_equal(vs_plan_preprocess_threads(1000, 0), 64);
    assert_int_equal(vs_plan_preprocess_threads(0, 1), 1);
    assert_int_equal(vs_plan_preprocess_threads(0, 0), cores / 2 > 1 ? (int)(cores / 2) : 1);
    /* Encoder workers: the option wins (at most 64); one beside CPU
     * inference; else one per video decoded at once, up to half the cores. */
    assert_int_equal(vs_plan_encode_threads(3, 1, 1), 3);
    assert_int_equal(vs_plan_encode_threads(1000, 1, 0), 64);
    assert_int_equal(vs_plan_encode_threads(0, 4, 1), 1);
    assert_int_equal(vs_plan_encode_threads(0, 1, 0), 1);
    int half = cores / 2 > 1 ? (int)(cores / 2) : 1;
    assert_int_equal(vs_plan_encode_threads(0, 64, 0), half < 64 ? half : 64);
    assert_int_equal(vs_plan_encode_threads(0, 2, 0), half < 2 ? half : 2);
}

static void batch_and_pools_follow_the_device(void **state)
{
    (void)state;
    assert_int_equal(vs_plan_device_is_cuda("cpu"), 0);
    assert_int_equal(vs_plan_device_is_cuda("cuda"), 1);
    assert_int_equal(vs_plan_device_is_cuda("cuda:1"), 1);
    assert_int_equal(vs_plan_device_is_cuda("auto"), vs_torch_cuda_available());
    assert_int_equal(vs_plan_device_is_cuda(NULL), vs_torch_cuda_available());
    /* --batch wins; else 1 beside CPU inference (memory), 8 on CUDA. */
    assert_int_equal(vs_plan_batch(3, 0), 3);
    assert_int_equal(vs_plan_batch(3, 1), 3);
    assert_int_equal(vs_plan_batch(0, 0), 4);
    assert_int_equal(vs_plan_batch(0, 1), 8);
    /* The decoded queue holds two batches and two more on the CPU, at most
     * 16; on CUDA 16, or two batches when they are more. */
    assert_int_equal(vs_plan_decoded_queue(1, 0), 4);
    assert_int_equal(vs_plan_decoded_queue(8, 0), 16);
    assert_int_equal(vs_plan_decoded_queue(64, 0), 16);
    assert_int_equal(vs_plan_decoded_queue(1, 1), 16);
    assert_int_equal(vs_plan_decoded_queue(32, 1), 64);
    /* Whole batches unless $VIDSIFT_SUB_BATCH is a whole number. */
    const char *saved = getenv("VIDSIFT_SUB_BATCH");
    char *kept = saved ? strdup(saved) : NULL;
    unsetenv("VIDSIFT_SUB_BATCH");
    assert_int_equal(vs_plan_sub_batch(), 0);
    setenv("VIDSIFT_SUB_BATCH", "0", 1);
    assert_int_equal(vs_plan_sub_batch(), 0);
    setenv("VIDSIFT_SUB_BATCH", "2", 1);
    assert_int_equal(vs_plan_sub_batch(), 2);
    setenv("VIDSIFT_SUB_BATCH", "two", 1);
    assert_int_equal(vs_plan_sub_batch(), 0);
    setenv("VIDSIFT_SUB_BATCH", "1", 1);
    assert_int_equal(vs_plan_sub_batch(), 1);
    setenv("VIDSIFT_SUB_BATCH", "-1", 1);
    assert_int_equal(vs_plan_sub_batch(), 0);
    if (kept)
        setenv("VIDSIFT_SUB_BATCH", kept, 1);
    else
        unsetenv("VIDSIFT_SUB_BATCH");
    free(kept);
    /* A lean encoder beside CPU inference; x264's defaults on CUDA. */
    assert_int_equal(vs_plan_lean_encoder(0), 1);
    assert_int_equal(vs_plan_lean_encoder(1), 0);
}

static void opens_the_manifest_model_at_its_size(void **state)
{
    (void)state;
    vs_manifest *manifest = calloc(1, sizeof *manifest);
    assert_non_null(manifest);
    test_load_model(manifest, "tiny_yolov5");
    vs_error err = {{0}};
    vs_torch *torch = NULL;
    if (vs_plan_open_model(&torch, manifest, "cpu", 0, 0, 2, 1, 1, &err) != VS_OK)
        fail_msg("vs_plan_open_model: %s", err.msg);
    /* The warmup ran at max_batch: the outputs the decoder will read exist. */
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = vs_torch_output_shapes(torch, outputs, VS_TORCH_MAX_OUTPUTS);
    assert_true(count >= 1);
    assert_int_equal(outputs[0].shape[0], 2);
    assert_false(vs_torch_is_cuda(torch));
    vs_torch_close(torch);

    snprintf(manifest->model_path, sizeof manifest->model_path, "%s/test/no-such-model.pt",
             test_models_dir());
    torch = NULL;
    err = (vs_error){{0}};
    assert_int_not_equal(vs_plan_open_model(&torch, manifest, "cpu", 0, 0, 1, 1, 1, &err), VS_OK);
    assert_null(torch);
    assert_non_null(strstr(err.msg, "no-such-model.pt"));
    free(manifest);
}

/* --optimize: the frozen, optimized model gives the plain model's outputs. */
static void optimized_model_gives_the_same_outputs(void **state)
{
    (void)state;
    vs_manifest *manifest = calloc(1, sizeof *manifest);
    assert_non_null(manifest);
    test_load_model(manifest, "tiny_yolov5");
    vs_error err = {{0}};
    vs_torch *models[2] = {NULL, NULL};
    vs_torch_output outputs[2][VS_TORCH_MAX_OUTPUTS];
    int counts[2] = {0, 0};
    size_t floats = (size_t)3 * manifest->input_height * manifest->input_width;
    for (int optimize = 0; optimize < 2; optimize++) {
        if (vs_plan_open_model(&models[optimize], manifest, "cpu", 0, optimize, 1, 1, 1, &err) !=
            VS_OK)
            fail_msg("vs_plan_open_model (optimize %d): %s", optimize, err.msg);
        float *input = vs_torch_input(models[optimize], 0);
        for (size_t i = 0; i < floats; i++) /* smooth, image-like values in 0..1 */
            input[i] = 0.5f + 0.5f * sinf((float)(i % 977) * 0.01f + (float)(i / 4099));
        assert_int_equal(vs_torch_submit(models[optimize], 0, 1, &err), VS_OK);
        assert_int_equal(
            vs_torch_wait(models[optimize], 0, outputs[optimize], &counts[optimize], &err), VS_OK);
    }
    assert_int_equal(counts[0], counts[1]);
    for (int o = 0; o < counts[0]; o++) {
        int64_t numel = 1;
        for (int d = 0; d < outputs[0][o].ndim; d++) {
            assert_int_equal(outputs[0][o].shape[d], outputs[1][o].shape[d]);
            numel *= outputs[0][o].shape[d];
        }
        for (int64_t i = 0; i < numel; i++) {
            float a = outputs[0][o].data[i], b = outputs[1][o].data[i];
            /* float reassociation only: relative to the value, or absolute near 0 */
            if (fabsf(a - b) > 1e-3f * (fabsf(a) > 1 ? fabsf(a) : 1))
                fail_msg("output %d value %lld: %g plain, %g optimized", o, (long long)i, a, b);
        }
    }
    vs_torch_close(models[0]);
    vs_torch_close(models[1]);
    free(manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_follow_the_option_else_the_cores),
        cmocka_unit_test(batch_and_pools_follow_the_device),
        cmocka_unit_test(opens_the_manifest_model_at_its_size),
        cmocka_unit_test(optimized_model_gives_the_same_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
