/* test_shim.c: the libtorch shim (shim/vs_torch.h) on tiny TorchScript models.
 *
 * The models are made at test time by tests/unit/make_shim_models.py with
 * python3 and torch (see that file for what each one returns). Without torch
 * the test fails rather than skips: an untested shim is not a passing one.
 * Every model here takes frames of 3x32x24 and treats each frame on its own,
 * so batch n must give the same per-frame numbers as batch 1. Runs on CPU;
 * the CUDA paths need a GPU machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vs_error.h"
#include "vs_torch.h"

enum { CHANNELS = 3, HEIGHT = 32, WIDTH = 24, FRAME_FLOATS = CHANNELS * HEIGHT * WIDTH };
/* conv.pt's output for one frame: [2, 16, 12]. */
enum { CONV_FLOATS = 2 * 16 * 12 };

static char models_dir[4096];

/* Path of a model in models_dir; a ring of buffers so that a few can be alive at once. */
static const char *model(const char *name)
{
    static char paths[4][4200];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", models_dir, name);
    return path;
}

static vs_torch_options options_for(const char *path, int max_batch, int slots)
{
    vs_torch_options options = {
        .model_path = path,
        .device = "cpu",
        .max_batch = max_batch,
        .slots = slots,
        .channels = CHANNELS,
        .height = HEIGHT,
        .width = WIDTH,
    };
    return options;
}

static vs_torch *open_ok(const vs_torch_options *options)
{
    vs_torch *torch = NULL;
    vs_error err = {{0}};
    int status = vs_torch_open(&torch, options, &err);
    if (status != VS_OK)
        fail_msg("vs_torch_open(%s): %d: %s", options->model_path, status, err.msg);
    assert_non_null(torch);
    return torch;
}

/* Opens a model that must be refused with `status`; checks the message is one
 * line that names the model. Returns the message (static). */
static const char *open_refused(const vs_torch_options *options, int status)
{
    static vs_error error;
    char *err = error.msg;
    vs_torch *torch = (vs_torch *)&error; /* must be reset to NULL */
    memset(&error, 0, sizeof error);
    int got = vs_torch_open(&torch, options, &error);
    if (got != status)
        fail_msg("vs_torch_open(%s) gave %d (%s), expected %d", options->model_path, got, err,
                 status);
    assert_null(torch);
    assert_true(strlen(err) > strlen(options->model_path) + 2);
    assert_non_null(strstr(err, options->model_path));
    if (getenv("VS_SHIM_SHOW_ERRORS"))
        fprintf(stderr, "refused: %s\n", err);
    if (strchr(err, '\n'))
        fail_msg("message has more than one line: %s", err);
    return err;
}

/* Deterministic content that differs from frame to frame (seed) and from
 * pixel to pixel, values in about [-3, 3]. */
static void fill_frame(float *frame, int seed)
{
    for (int i = 0; i < FRAME_FLOATS; i++)
        frame[i] = sinf((float)seed * 0.731f + (float)i * 0.0137f) * (float)(1 + seed % 3) +
                   (float)((i * 7 + seed * 13) % 11) * 0.05f;
}

/* Fills frames seeds[0..n) into a slot and submits them. */
static void submit_frames(vs_torch *torch, int slot, const int *seeds, int n)
{
    float *input = vs_torch_input(torch, slot);
    assert_non_null(input);
    for (int f = 0; f < n; f++)
        fill_frame(input + (size_t)f * FRAME_FLOATS, seeds[f]);
    vs_error err = {{0}};
    int status = vs_torch_submit(torch, slot, n, &err);
    if (status != VS_OK)
        fail_msg("submit slot %d, %d frames: %d: %s", slot, n, status, err.msg);
}

static int wait_ok(vs_torch *torch, int slot, vs_torch_output *outputs)
{
    vs_error err = {{0}};
    int count = -1;
    int status = vs_torch_wait(torch, slot, outputs, &count, &err);
    if (status != VS_OK)
        fail_msg("wait slot %d: %d: %s", slot, status, err.msg);
    assert_in_range(count, 1, VS_TORCH_MAX_OUTPUTS);
    return count;
}

static void assert_shape(const vs_torch_output *output, int ndim, int64_t d0, int64_t d1,
                         int64_t d2, int64_t d3)
{
    const int64_t want[4] = {d0, d1, d2, d3};
    assert_int_equal(output->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        if (output->shape[d] != want[d])
            fail_msg("dim %d is %lld, expected %lld", d, (long long)output->shape[d],
                     (long long)want[d]);
    assert_non_null(output->data);
}

static void assert_within(const float *got, const float *want, int n, float tolerance,
                          const char *what)
{
    float worst = 0;
    for (int i = 0; i < n; i++) {
        float diff = fabsf(got[i] - want[i]);
        if (!(diff <= worst)) /* also catches NaN */
            worst = isnan(diff) ? INFINITY : diff;
    }
    if (!(worst <= tolerance))
        fail_msg("%s: max abs diff %g > %g", what, (double)worst, (double)tolerance);
}

static void assert_close(const float *got, const float *want, int n, const char *what)
{
    assert_within(got, want, n, 1e-5f, what);
}

/* conv.pt's output for each seed, one frame at a time (batch 1). */
static void reference_outputs(vs_torch *torch, const int *seeds, int n, float *reference)
{
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    for (int f = 0; f < n; f++) {
        submit_frames(torch, 0, &seeds[f], 1);
        assert_int_equal(wait_ok(torch, 0, outputs), 1);
        assert_shape(&outputs[0], 4, 1, 2, 16, 12);
        memcpy(reference + (size_t)f * CONV_FLOATS, outputs[0].data, CONV_FLOATS * sizeof(float));
    }
}

/* ---- opening ---------------------------------------------------------------- */

static void test_open_run_close_loop(void **state)
{
    (void)state;
    int seeds[2] = {1, 2};
    for (int round = 0; round < 20; round++) {
        vs_torch_options options = options_for(model("conv.pt"), 2, 2);
        options.warmup = 1;
        vs_torch *torch = open_ok(&options);
        vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
        submit_frames(torch, round % 2, seeds, 2);
        assert_int_equal(wait_ok(torch, round % 2, outputs), 1);
        assert_shape(&outputs[0], 4, 2, 2, 16, 12);
        vs_torch_close(torch);
    }
    vs_torch_close(NULL);
}

static void test_missing_file(void **state)
{
    (void)state;
    vs_torch_options options = options_for(model("no-such-model.pt"), 1, 1);
    const char *err = open_refused(&options, VS_EMODEL);
    assert_non_null(strstr(err, "No such file"));
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static void test_not_torchscript(void **state)
{
    (void)state;
    unsigned char noise[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 16);
    }
    const char *path = model("noise.pt");
    write_file(path, noise, sizeof noise);
    vs_torch_options options = options_for(path, 1, 1);
    open_refused(&options, VS_EMODEL);

    write_file(path, "", 0); /* empty */
    open_refused(&options, VS_EMODEL);

    options.model_path = model("state_dict.pt"); /* torch.save(): a zip, not TorchScript */
    open_refused(&options, VS_EMODEL);

    options.model_path = models_dir; /* a directory */
    open_refused(&options, VS_EMODEL);
}

static void test_truncated_model(void **state)
{
    (void)state;
    static unsigned char whole[1 << 20];
    FILE *file = fopen(model("conv.pt"), "rb");
    assert_non_null(file);
    size_t size = fread(whole, 1, sizeof whole, file);
    fclose(file);
    assert_true(size > 1000 && size < sizeof whole);
    const char *path = model("truncated.pt");
    /* Cut before the zip directory at the end, and in the middle of the data. */
    size_t cuts[] = {size - 10, size / 2, 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(path, whole, cuts[i]);
        vs_torch_options options = options_for(path, 1, 1);
        open_refused(&options, VS_EMODEL);
    }
}

static void test_bad_devices(void **state)
{
    (void)state;
    const char *devices[] = {"tpu",     "CPU",     "cuda:", "cuda:x",
                             "cuda:-1", "cuda:0x", "cuda0", " cpu"};
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        vs_torch_options options = options_for(model("conv.pt"), 1, 1);
        options.device = devices[i];
        const char *err = open_refused(&options, VS_EINVAL);
        if (!strstr(err, "device"))
            fail_msg("device \"%s\": message does not say device: %s", devices[i], err);
    }
    if (!vs_torch_cuda_available()) {
        const char *cuda[] = {"cuda", "cuda:0", "cuda:3"};
        for (size_t i = 0; i < sizeof cuda / sizeof cuda[0]; i++) {
            vs_torch_options options = options_for(model("conv.pt"), 1, 1);
            options.device = cuda[i];
            const char *err = open_refused(&options, VS_EINVAL);
            assert_non_null(strstr(err, "CUDA"));
        }
    }
    /* "auto" and NULL mean the same thing and always open something. */
    const char *autos[] = {"auto", NULL};
    for (size_t i = 0; i < 2; i++) {
        vs_torch_options options = options_for(model("conv.pt"), 1, 1);
        options.device = autos[i];
        vs_torch *torch = open_ok(&options);
        assert_int_equal(vs_torch_is_cuda(torch), vs_torch_cuda_available());
        vs_torch_close(torch);
    }
}

static void test_half_refused_on_cpu(void **state)
{
    (void)state;
    vs_torch_options options = options_for(model("conv.pt"), 1, 1);
    options.half = 1;
    const char *err = open_refused(&options, VS_EINVAL);
    assert_non_null(strstr(err, "CUDA"));
}

static void test_bad_options(void **state)
{
    (void)state;
    vs_torch_options options = options_for(model("conv.pt"), 0, 1);
    open_refused(&options, VS_EINVAL);
    options = options_for(model("conv.pt"), 1, 0);
    open_refused(&options, VS_EINVAL);
    options = options_for(model("conv.pt"), 1, 1);
    options.width = 0;
    open_refused(&options, VS_EINVAL);
    options = options_for(model("conv.pt"), 1, 1);
    options.cpu_threads = -1;
    open_refused(&options, VS_EINVAL);
    options = options_for(model("conv.pt"), 1, 1);
    options.sub_batch = -1;
    open_refused(&options, VS_EINVAL);

    vs_torch *torch = (vs_torch *)&options;
    vs_error err = {{0}};
    options = options_for(NULL, 1, 1);
    assert_int_equal(vs_torch_open(&torch, &options, &err), VS_EINVAL);
    assert_null(torch);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(vs_torch_open(&torch, NULL, &err), VS_EINVAL);
    /* A NULL vs_error is allowed: the status alone says it failed. */
    options = options_for(model("no-such-model.pt"), 1, 1);
    assert_int_equal(vs_torch_open(&torch, &options, NULL), VS_EMODEL);
}

/* A model that does not fit the input fails at warmup (open) or at submit
 * with libtorch's real reason on one line, not its traceback. */
static void test_forward_error_is_one_line(void **state)
{
    (void)state;
    vs_torch_options options = options_for(model("conv.pt"), 2, 1);
    options.channels = 5;
    options.warmup = 1;
    const char *err = open_refused(&options, VS_EMODEL);
    if (!strstr(err, "warmup") || !strstr(err, "channels"))
        fail_msg("unexpected message: %s", err);

    options.warmup = 0;
    vs_torch *torch = open_ok(&options);
    vs_error error = {{0}};
    const char *message = error.msg;
    assert_int_equal(vs_torch_submit(torch, 0, 1, &error), VS_EMODEL);
    assert_null(strchr(message, '\n'));
    assert_non_null(strstr(message, "channels"));
    assert_non_null(strstr(message, options.model_path));
    /* The failed run left the slot idle. */
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = -1;
    assert_int_equal(vs_torch_wait(torch, 0, outputs, &count, &error), VS_EINVAL);
    assert_int_equal(count, 0);
    vs_torch_close(torch);
}

/* Outputs the shim cannot carry are refused at warmup with a reason. */
static void test_unsupported_outputs(void **state)
{
    (void)state;
    const struct {
        const char *model, *reason;
    } cases[] = {
        {"five.pt", "5 outputs"},
        {"rank5.pt", "1 to 4 dims"},
        {"nobatch.pt", "dim 0 must be the batch"},
        {"dict.pt", "Dict"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vs_torch_options options = options_for(model(cases[i].model), 3, 1);
        options.warmup = 1;
        const char *err = open_refused(&options, VS_EMODEL);
        if (!strstr(err, cases[i].reason))
            fail_msg("%s: message lacks \"%s\": %s", cases[i].model, cases[i].reason, err);
    }
}

/* ---- running ---------------------------------------------------------------- */

/* Runs conv.pt on the n frames seeds[start..] in slot and checks that each
 * frame's output equals its batch-1 output in reference (CONV_FLOATS a
 * frame); label names the case in a failure. Returns the output's data. */
static const float *run_and_compare(vs_torch *torch, int slot, const int *seeds, int start, int n,
                                    const float *reference, const char *label)
{
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    submit_frames(torch, slot, seeds + start, n);
    assert_int_equal(wait_ok(torch, slot, outputs), 1);
    assert_shape(&outputs[0], 4, n, 2, 16, 12);
    for (int f = 0; f < n; f++) {
        char what[96];
        snprintf(what, sizeof what, "%sbatch %d frame %d", label, n, f);
        assert_close(outputs[0].data + (size_t)f * CONV_FLOATS,
                     reference + (size_t)(start + f) * CONV_FLOATS, CONV_FLOATS, what);
    }
    return outputs[0].data;
}

static void test_batches_match_batch_one(void **state)
{
    (void)state;
    enum { FRAMES = 16 };
    int seeds[FRAMES];
    for (int f = 0; f < FRAMES; f++)
        seeds[f] = 100 + f * 7;
    static float reference[FRAMES * CONV_FLOATS];

    vs_torch_options options = options_for(model("conv.pt"), FRAMES, 2);
    options.warmup = 1;
    vs_torch *torch = open_ok(&options);
    reference_outputs(torch, seeds, FRAMES, reference);
    /* Frames differ, so a mixed-up frame order cannot pass. */
    float first_difference = 0;
    for (int i = 0; i < CONV_FLOATS; i++)
        first_difference =
            fmaxf(first_difference, fabsf(reference[i] - reference[CONV_FLOATS + i]));
    assert_true(first_difference > 1e-2f);

    const int batches[] = {1, 7, 8, 16};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        int n = batches[b];
        for (int slot = 0; slot < 2; slot++) {
            /* Start the batch at a different frame each time. */
            int start = (int)(b + (size_t)slot) % (FRAMES - n + 1);
            run_and_compare(torch, slot, seeds, start, n, reference, "");
        }
    }
    vs_torch_close(torch);
}

/* A batch run in sub-batches (sub_batch frames per forward pass, the last
 * one shorter) gives each frame the outputs of batch 1, in order, for every
 * output type; the outputs land in the slot's own buffers, allocated at
 * open: the same memory run after run, distinct between slots, and not the
 * input even for a model that returns its input. */
static void test_sub_batches_match_batch_one(void **state)
{
    (void)state;
    enum { FRAMES = 16 };
    int seeds[FRAMES];
    for (int f = 0; f < FRAMES; f++)
        seeds[f] = 200 + f * 5;
    static float reference[FRAMES * CONV_FLOATS];
    const int sub_batches[] = {1, 3, FRAMES};
    for (size_t s = 0; s < sizeof sub_batches / sizeof sub_batches[0]; s++) {
        vs_torch_options options = options_for(model("conv.pt"), FRAMES, 2);
        options.warmup = 1;
        options.sub_batch = sub_batches[s];
        vs_torch *torch = open_ok(&options);
        reference_outputs(torch, seeds, FRAMES, reference);
        const float *first_data[2] = {NULL, NULL};
        const int batches[] = {16, 7, 8, 1, 16};
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            int n = batches[b];
            for (int slot = 0; slot < 2; slot++) {
                int start = (int)(b + (size_t)slot) % (FRAMES - n + 1);
                char label[32];
                snprintf(label, sizeof label, "sub-batch %d, ", sub_batches[s]);
                const float *data = run_and_compare(torch, slot, seeds, start, n, reference, label);
                if (sub_batches[s] < FRAMES && n > sub_batches[s]) {
                    if (!first_data[slot])
                        first_data[slot] = data;
                    assert_ptr_equal(data, first_data[slot]);
                }
            }
        }
        if (sub_batches[s] < FRAMES)
            assert_ptr_not_equal(first_data[0], first_data[1]);
        vs_torch_close(torch);
    }

    /* Four outputs (one int64, given back as float), 5 frames as 2 + 2 + 1. */
    const int tuple_seeds[5] = {5, 6, 7, 8, 9};
    vs_torch_options options = options_for(model("tuple.pt"), 5, 1);
    options.warmup = 1;
    vs_torch *torch = open_ok(&options);
    static float whole[4][5 * 2 * 16 * 12];
    const int frame_floats[4] = {2 * 16 * 12, 4, 1, 16 * 12};
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    submit_frames(torch, 0, tuple_seeds, 5);
    assert_int_equal(wait_ok(torch, 0, outputs), 4);
    for (int i = 0; i < 4; i++)
        memcpy(whole[i], outputs[i].data, (size_t)(5 * frame_floats[i]) * sizeof(float));
    vs_torch_close(torch);
    options.sub_batch = 2;
    torch = open_ok(&options);
    submit_frames(torch, 0, tuple_seeds, 5);
    assert_int_equal(wait_ok(torch, 0, outputs), 4);
    assert_shape(&outputs[0], 4, 5, 2, 16, 12);
    assert_shape(&outputs[1], 2, 5, 4, 0, 0);
    assert_shape(&outputs[2], 1, 5, 0, 0, 0);
    assert_shape(&outputs[3], 3, 5, 16, 12, 0);
    for (int i = 0; i < 4; i++)
        assert_close(outputs[i].data, whole[i], 5 * frame_floats[i], "tuple output in parts");
    vs_torch_close(torch);

    /* A model that returns its input, run a frame at a time. */
    static float frames[2 * FRAME_FLOATS];
    const int identity_seeds[2] = {41, 42};
    fill_frame(frames, identity_seeds[0]);
    fill_frame(frames + FRAME_FLOATS, identity_seeds[1]);
    options = options_for(model("identity.pt"), 2, 1);
    options.sub_batch = 1;
    torch = open_ok(&options);
    submit_frames(torch, 0, identity_seeds, 2);
    assert_int_equal(wait_ok(torch, 0, outputs), 1);
    assert_close(outputs[0].data, frames, 2 * FRAME_FLOATS, "identity in parts");
    memset(vs_torch_input(torch, 0), 0, 2 * FRAME_FLOATS * sizeof(float));
    assert_close(outputs[0].data, frames, 2 * FRAME_FLOATS, "identity in parts after refill");
    vs_torch_close(torch);
}

/* The documented rule: two slots in flight, each wait gives its own slot's
 * outputs, and those stay valid until that slot is submitted again. */
static void test_two_slots_in_flight(void **state)
{
    (void)state;
    enum { BATCH = 4 };
    const int seeds_a[BATCH] = {11, 12, 13, 14}, seeds_b[BATCH] = {21, 22, 23, 24};
    static float reference_a[BATCH * CONV_FLOATS], reference_b[BATCH * CONV_FLOATS];

    vs_torch_options options = options_for(model("conv.pt"), BATCH, 2);
    options.cpu_threads = 2;
    vs_torch *torch = open_ok(&options);
    reference_outputs(torch, seeds_a, BATCH, reference_a);
    reference_outputs(torch, seeds_b, BATCH, reference_b);

    for (int round = 0; round < 3; round++) {
        vs_torch_output outputs_a[VS_TORCH_MAX_OUTPUTS], outputs_b[VS_TORCH_MAX_OUTPUTS];
        submit_frames(torch, 0, seeds_a, BATCH);
        submit_frames(torch, 1, seeds_b, BATCH);
        assert_int_equal(wait_ok(torch, 0, outputs_a), 1);
        assert_close(outputs_a[0].data, reference_a, BATCH * CONV_FLOATS, "slot 0");
        assert_int_equal(wait_ok(torch, 1, outputs_b), 1);
        assert_close(outputs_b[0].data, reference_b, BATCH * CONV_FLOATS, "slot 1");
        assert_ptr_not_equal(outputs_a[0].data, outputs_b[0].data);
        /* Slot 0's outputs survive slot 1's run. */
        assert_close(outputs_a[0].data, reference_a, BATCH * CONV_FLOATS, "slot 0 after slot 1");
    }
    vs_torch_close(torch);
}

static void test_tuple_outputs(void **state)
{
    (void)state;
    const int seeds[5] = {5, 6, 7, 8, 9};
    vs_torch_options options = options_for(model("tuple.pt"), 5, 1);
    options.warmup = 1;
    vs_torch *torch = open_ok(&options);

    /* Batch 1, one frame at a time, as the reference for pooled and score. */
    float pooled[5][4], score[5];
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    for (int f = 0; f < 5; f++) {
        submit_frames(torch, 0, &seeds[f], 1);
        assert_int_equal(wait_ok(torch, 0, outputs), 4);
        memcpy(pooled[f], outputs[1].data, sizeof pooled[f]);
        score[f] = outputs[2].data[0];
    }

    submit_frames(torch, 0, seeds, 5);
    assert_int_equal(wait_ok(torch, 0, outputs), 4);
    assert_shape(&outputs[0], 4, 5, 2, 16, 12);
    assert_shape(&outputs[1], 2, 5, 4, 0, 0);
    assert_shape(&outputs[2], 1, 5, 0, 0, 0);
    assert_shape(&outputs[3], 3, 5, 16, 12, 0); /* int64 argmax, given back as float */
    assert_close(outputs[1].data, &pooled[0][0], 5 * 4, "pooled");
    assert_close(outputs[2].data, score, 5, "score");
    for (int i = 0; i < 5 * 16 * 12; i++) {
        float best = outputs[3].data[i];
        if (best != 0.0f && best != 1.0f)
            fail_msg("argmax output %d is %g", i, (double)best);
    }
    vs_torch_close(torch);
}

static void test_list_outputs(void **state)
{
    (void)state;
    const int seeds[3] = {1, 2, 3};
    vs_torch_options options = options_for(model("list.pt"), 3, 1);
    vs_torch *torch = open_ok(&options);
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    submit_frames(torch, 0, seeds, 3);
    assert_int_equal(wait_ok(torch, 0, outputs), 2);
    assert_shape(&outputs[0], 4, 3, 2, 16, 12);
    assert_shape(&outputs[1], 2, 3, 4, 0, 0);
    vs_torch_close(torch);
}

/* A model that returns its input: refilling the input for the next batch must
 * not change the outputs already handed out. */
static void test_output_does_not_alias_input(void **state)
{
    (void)state;
    const int seeds[2] = {31, 32};
    static float frames[2 * FRAME_FLOATS];
    fill_frame(frames, seeds[0]);
    fill_frame(frames + FRAME_FLOATS, seeds[1]);

    vs_torch_options options = options_for(model("identity.pt"), 2, 1);
    vs_torch *torch = open_ok(&options);
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    submit_frames(torch, 0, seeds, 2);
    assert_int_equal(wait_ok(torch, 0, outputs), 1);
    assert_shape(&outputs[0], 4, 2, CHANNELS, HEIGHT, WIDTH);
    assert_close(outputs[0].data, frames, 2 * FRAME_FLOATS, "identity");
    memset(vs_torch_input(torch, 0), 0, 2 * FRAME_FLOATS * sizeof(float));
    assert_close(outputs[0].data, frames, 2 * FRAME_FLOATS, "identity after refill");
    vs_torch_close(torch);
}

static void test_inputs_distinct_and_writable(void **state)
{
    (void)state;
    enum { SLOTS = 3, BATCH = 2 };
    vs_torch_options options = options_for(model("conv.pt"), BATCH, SLOTS);
    vs_torch *torch = open_ok(&options);
    float *inputs[SLOTS];
    for (int s = 0; s < SLOTS; s++) {
        inputs[s] = vs_torch_input(torch, s);
        assert_non_null(inputs[s]);
        assert_ptr_equal(vs_torch_input(torch, s), inputs[s]); /* a pure lookup */
        /* Fresh buffers are zeros, and all of each is ours to write. */
        for (size_t i = 0; i < (size_t)BATCH * FRAME_FLOATS; i++)
            assert_true(inputs[s][i] == 0.0f);
        for (size_t i = 0; i < (size_t)BATCH * FRAME_FLOATS; i++)
            inputs[s][i] = (float)s;
    }
    for (int a = 0; a < SLOTS; a++)
        for (int b = 0; b < SLOTS; b++) {
            if (a == b)
                continue;
            /* No overlap: ranges [a, a+n) and [b, b+n) are disjoint. */
            assert_true(inputs[a] + BATCH * FRAME_FLOATS <= inputs[b] ||
                        inputs[b] + BATCH * FRAME_FLOATS <= inputs[a]);
        }
    for (int s = 0; s < SLOTS; s++)
        for (size_t i = 0; i < (size_t)BATCH * FRAME_FLOATS; i++)
            assert_true(inputs[s][i] == (float)s);
    assert_null(vs_torch_input(torch, -1));
    assert_null(vs_torch_input(torch, SLOTS));
    assert_null(vs_torch_input(NULL, 0));
    vs_torch_close(torch);
}

static void test_submit_wait_misuse(void **state)
{
    (void)state;
    vs_torch_options options = options_for(model("conv.pt"), 2, 2);
    vs_torch *torch = open_ok(&options);
    vs_error error;
    const char *err = error.msg;
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count;
    assert_int_equal(vs_torch_submit(torch, 0, 0, &error), VS_EINVAL);
    assert_int_equal(vs_torch_submit(torch, 0, 3, &error), VS_EINVAL);
    assert_int_equal(vs_torch_submit(torch, -1, 1, &error), VS_EINVAL);
    assert_int_equal(vs_torch_submit(torch, 2, 1, &error), VS_EINVAL);
    assert_non_null(strstr(err, "slot 2"));
    assert_int_equal(vs_torch_wait(torch, 1, outputs, &count, &error), VS_EINVAL);
    assert_int_equal(vs_torch_wait(torch, 5, outputs, &count, &error), VS_EINVAL);
    assert_int_equal(vs_torch_submit(NULL, 0, 1, &error), VS_EINVAL);
    assert_int_equal(vs_torch_wait(NULL, 0, outputs, &count, &error), VS_EINVAL);

    assert_int_equal(vs_torch_submit(torch, 1, 2, &error), VS_OK);
    assert_int_equal(vs_torch_submit(torch, 1, 2, &error), VS_EINVAL); /* twice */
    assert_non_null(strstr(err, "already submitted"));
    assert_int_equal(vs_torch_wait(torch, 1, outputs, &count, &error), VS_OK);
    assert_int_equal(count, 1);
    assert_int_equal(vs_torch_wait(torch, 1, outputs, &count, &error), VS_EINVAL);
    /* Closing with a slot still submitted is fine. */
    assert_int_equal(vs_torch_submit(torch, 0, 1, &error), VS_OK);
    vs_torch_close(torch);
}

static void test_device_info(void **state)
{
    (void)state;
    const char *version = vs_torch_version();
    assert_non_null(version);
    assert_true(version[0] >= '1' && version[0] <= '9');
    assert_non_null(strchr(version, '.'));
    int cuda = vs_torch_cuda_available();
    assert_true(cuda == 0 || cuda == 1);

    vs_torch_options options = options_for(model("conv.pt"), 1, 1);
    vs_torch *torch = open_ok(&options);
    assert_string_equal(vs_torch_device_name(torch), "cpu");
    assert_int_equal(vs_torch_is_cuda(torch), 0);
    vs_torch_memory memory;
    memset(&memory, 0xff, sizeof memory);
    vs_torch_memory_stats(torch, &memory);
    assert_int_equal(memory.cuda_allocated, 0);
    assert_int_equal(memory.cuda_peak_allocated, 0);
    assert_int_equal(memory.cuda_reserved, 0);
    vs_torch_close(torch);
    assert_int_equal(vs_torch_is_cuda(NULL), 0);
}

/* ---- CUDA (skipped without a GPU and a CUDA build) ---------------------------- */

/* Runs batches on a CUDA model and compares them with CPU references.
 * FP32 convolutions may use TF32 on recent GPUs, hence the tolerance. */
static void check_cuda_model(int half, float tolerance)
{
    enum { FRAMES = 8 };
    int seeds[FRAMES];
    for (int f = 0; f < FRAMES; f++)
        seeds[f] = 300 + f;
    static float reference[FRAMES * CONV_FLOATS];
    vs_torch_options options = options_for(model("conv.pt"), FRAMES, 2);
    vs_torch *cpu = open_ok(&options);
    reference_outputs(cpu, seeds, FRAMES, reference);
    vs_torch_close(cpu);

    options.device = "cuda";
    options.half = half;
    options.warmup = 1;
    vs_torch *torch = open_ok(&options);
    assert_int_equal(vs_torch_is_cuda(torch), 1);
    assert_true(strncmp(vs_torch_device_name(torch), "cuda:0 (", 8) == 0);

    const int batches[] = {1, 5, 8, 8, 3};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        int n = batches[b], slot = (int)(b % 2), start = FRAMES - n;
        vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
        submit_frames(torch, slot, seeds + start, n);
        assert_int_equal(wait_ok(torch, slot, outputs), 1);
        assert_shape(&outputs[0], 4, n, 2, 16, 12);
        assert_within(outputs[0].data, reference + (size_t)start * CONV_FLOATS, n * CONV_FLOATS,
                      tolerance, half ? "cuda half" : "cuda");
    }

    /* Two slots in flight, waited in order. */
    vs_torch_output outputs_a[VS_TORCH_MAX_OUTPUTS], outputs_b[VS_TORCH_MAX_OUTPUTS];
    submit_frames(torch, 0, seeds, 4);
    submit_frames(torch, 1, seeds + 4, 4);
    assert_int_equal(wait_ok(torch, 0, outputs_a), 1);
    assert_int_equal(wait_ok(torch, 1, outputs_b), 1);
    assert_within(outputs_a[0].data, reference, 4 * CONV_FLOATS, tolerance, "cuda slot 0");
    assert_within(outputs_b[0].data, reference + 4 * CONV_FLOATS, 4 * CONV_FLOATS, tolerance,
                  "cuda slot 1");

    vs_torch_memory memory;
    vs_torch_memory_stats(torch, &memory);
    assert_true(memory.cuda_allocated > 0);
    assert_true(memory.cuda_peak_allocated >= memory.cuda_allocated);
    assert_true(memory.cuda_reserved >= memory.cuda_allocated);
    vs_torch_close(torch);
}

static void test_cuda_matches_cpu(void **state)
{
    (void)state;
    if (!vs_torch_cuda_available())
        skip();
    check_cuda_model(0, 5e-3f);
    check_cuda_model(1, 3e-2f);

    /* Several outputs, an int64 one among them, and an output that is the input. */
    const int seeds[3] = {1, 2, 3};
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    vs_torch_options options = options_for(model("tuple.pt"), 3, 2);
    options.device = "cuda:0";
    options.warmup = 1;
    vs_torch *torch = open_ok(&options);
    submit_frames(torch, 1, seeds, 3);
    assert_int_equal(wait_ok(torch, 1, outputs), 4);
    assert_shape(&outputs[1], 2, 3, 4, 0, 0);
    assert_shape(&outputs[3], 3, 3, 16, 12, 0);
    vs_torch_close(torch);

    static float frames[2 * FRAME_FLOATS];
    fill_frame(frames, seeds[0]);
    fill_frame(frames + FRAME_FLOATS, seeds[1]);
    options = options_for(model("identity.pt"), 2, 1);
    options.device = "cuda";
    torch = open_ok(&options);
    submit_frames(torch, 0, seeds, 2);
    assert_int_equal(wait_ok(torch, 0, outputs), 1);
    memset(vs_torch_input(torch, 0), 0, 2 * FRAME_FLOATS * sizeof(float));
    assert_close(outputs[0].data, frames, 2 * FRAME_FLOATS, "cuda identity after refill");
    vs_torch_close(torch);
}

/* The interpreter that can save models the linked libtorch reads: Debian's
 * (same torch version as libtorch-dev) if it has torch, else python3 on PATH;
 * $VS_PYTHON overrides. */
static const char *python(void)
{
    const char *chosen = getenv("VS_PYTHON");
    if (chosen && *chosen)
        return chosen;
    if (test_sh("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0)
        return "/usr/bin/python3";
    return "python3";
}

int main(void)
{
    const char *dir = test_tmpdir("shim");
    if (!dir) {
        fprintf(stderr, "test_shim: cannot create a temporary directory\n");
        return 1;
    }
    snprintf(models_dir, sizeof models_dir, "%s", dir);
    /* The script sits next to this file; $VS_SOURCE_DIR (set by CTest) finds it
     * from anywhere, __FILE__ (absolute in a CMake build) when run by hand. */
    char script[4200];
    const char *source = getenv("VS_SOURCE_DIR");
    if (source && *source) {
        snprintf(script, sizeof script, "%s/tests/unit/make_shim_models.py", source);
    } else {
        snprintf(script, sizeof script, "%s", __FILE__);
        char *slash = strrchr(script, '/');
        snprintf(slash ? slash + 1 : script,
                 sizeof script - (size_t)(slash ? slash + 1 - script : 0), "make_shim_models.py");
    }
    const char *interpreter = python();
    if (test_sh("'%s' '%s' '%s'", interpreter, script, models_dir) != 0) {
        fprintf(stderr,
                "test_shim: FAILED to make the test models with %s "
                "(is python3-torch installed? is VS_SOURCE_DIR set?)\n",
                interpreter);
        return 1;
    }

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_run_close_loop),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_torchscript),
        cmocka_unit_test(test_truncated_model),
        cmocka_unit_test(test_bad_devices),
        cmocka_unit_test(test_half_refused_on_cpu),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_forward_error_is_one_line),
        cmocka_unit_test(test_unsupported_outputs),
        cmocka_unit_test(test_batches_match_batch_one),
        cmocka_unit_test(test_sub_batches_match_batch_one),
        cmocka_unit_test(test_two_slots_in_flight),
        cmocka_unit_test(test_tuple_outputs),
        cmocka_unit_test(test_list_outputs),
        cmocka_unit_test(test_output_does_not_alias_input),
        cmocka_unit_test(test_inputs_distinct_and_writable),
        cmocka_unit_test(test_submit_wait_misuse),
        cmocka_unit_test(test_device_info),
        cmocka_unit_test(test_cuda_matches_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
