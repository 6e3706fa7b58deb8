/* test_preprocess_workers.c: the batch stage, N preprocess workers and the
 * gather stage (core/batch.c, preprocess_stage.c, gather.c) run as rows of
 * the stage table, as the pipeline wires them, between a source and a sink
 * written here. With 1 and with 3 workers the batches reach the sink in
 * the order the frames came in, and their input buffers are byte for byte
 * what vs_preprocess_frame writes called one frame after the other: workers
 * fill positions of the same batch, never reorder frames, never mix pixels.
 * On the way: two videos of other sizes (one rotated), frames not analysed,
 * start and end markers, a decoder's wake-up (NULL) with and without a batch
 * held, and a frame the scaler refuses, whose position the gather stage
 * closes so that the k-th analysed entry stays frame k of the model input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/frame.h>

#include "graph.h"
#include "stages.h"

#define FRAMES 61
#define MAX_BATCH 4
#define ENTRY_CAPACITY (MAX_BATCH + 6)
#define BATCH_SLOTS 3
#define INPUT_W 64
#define INPUT_H 48
#define FRAME_FLOATS ((size_t)3 * INPUT_W * INPUT_H)
#define WAKE (-1)  /* a NULL in the order the sink saw */
#define REFUSED 23 /* the frame whose pixel format no scaler takes */

typedef struct source_stage {
    vs_queue *out;
    vs_frame *frames;
    int count;
} source_stage;

/* What reached the sink, in order. */
typedef struct sink_stage {
    vs_queue *in;
    vs_pool *batches;
    int order[2 * FRAMES];
    int order_count;
    float *inputs; /* every analysed frame's input, in batch order */
    vs_letterbox geometry[FRAMES];
    int positions;
} sink_stage;

static vs_video videos[2];

/* Where the source pushes a NULL (a decoder waiting for memory): twice in a
 * row, so the second finds no batch held. */
static int wakes_before(int i)
{
    return i == 10 ? 1 : i == 30 ? 2 : 0;
}

static void *source_thread(void *state)
{
    source_stage *s = state;
    for (int i = 0; i < s->count; i++) {
        for (int w = 0; w < wakes_before(i); w++)
            if (vs_queue_push(s->out, NULL) != VS_OK)
                return NULL;
        if (vs_queue_push(s->out, &s->frames[i]) != VS_OK)
            return NULL;
    }
    return NULL;
}

static void *sink_thread(void *state)
{
    sink_stage *s = state;
    void *item;
    while (vs_queue_pop(s->in, &item) == VS_OK) {
        vs_batch *batch = item;
        if (!batch) {
            s->order[s->order_count++] = WAKE;
            continue;
        }
        for (int e = 0; e < batch->entry_count; e++)
            s->order[s->order_count++] = (int)batch->entries[e]->index;
        memcpy(s->inputs + s->positions * FRAME_FLOATS, batch->input,
               (size_t)batch->frames * FRAME_FLOATS * sizeof(float));
        memcpy(&s->geometry[s->positions], batch->geometry,
               (size_t)batch->frames * sizeof *batch->geometry);
        s->positions += batch->frames;
        vs_pool_put(s->batches, batch);
    }
    return NULL;
}

static void make_manifest(vs_manifest *m)
{
    memset(m, 0, sizeof *m);
    m->input_width = INPUT_W;
    m->input_height = INPUT_H;
    m->resize = VS_RESIZE_LETTERBOX;
    m->scale = 1.0f / 255.0f;
    for (int c = 0; c < 3; c++) {
        m->mean[c] = 0.1f * (float)c;
        m->std[c] = 1.0f + 0.5f * (float)c;
    }
}

/* Frame i: START, END or a picture of a pattern of its own; every third not
 * analysed; frame REFUSED in a format no scaler takes. */
static void make_frames(vs_frame *frames)
{
    for (int i = 0; i < FRAMES; i++) {
        vs_frame *f = &frames[i];
        memset(f, 0, sizeof *f);
        int second = i >= FRAMES / 2;
        f->video = &videos[second];
        f->index = i;
        if (i == 0 || i == FRAMES / 2) {
            f->kind = VS_FRAME_VIDEO_START;
            continue;
        }
        if (i == FRAMES / 2 - 1 || i == FRAMES - 1) {
            f->kind = VS_FRAME_VIDEO_END;
            continue;
        }
        f->kind = VS_FRAME_PICTURE;
        f->analysed = i % 3 != 0;
        f->picture = av_frame_alloc();
        assert_non_null(f->picture);
        f->picture->width = second ? 100 : 160;
        f->picture->height = second ? 200 : 90;
        f->picture->format = AV_PIX_FMT_YUV420P;
        assert_int_equal(av_frame_get_buffer(f->picture, 0), 0);
        for (int p = 0; p < 3; p++) {
            int w = p ? f->picture->width / 2 : f->picture->width;
            int h = p ? f->picture->height / 2 : f->picture->height;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    f->picture->data[p][y * f->picture->linesize[p] + x] =
                        (uint8_t)(x * (p + 1) + y * 3 + i * 7);
        }
        if (i == REFUSED)
            f->picture->format = AV_PIX_FMT_CUDA; /* no scaler takes it */
    }
}

static void free_frames(vs_frame *frames)
{
    for (int i = 0; i < FRAMES; i++)
        av_frame_free(&frames[i].picture);
}

/* The batch, preprocess (copies threads) and gather rows between a source
 * and a sink; fills sink. */
static void run_rows(const vs_manifest *manifest, int copies, sink_stage *sink)
{
    vs_error err = {{0}};
    vs_queue decoded, positions, filled, batched;
    assert_int_equal(vs_queue_init(&decoded, 4, &err), VS_OK);
    assert_int_equal(vs_queue_init(&positions, 2 * MAX_BATCH + 2, &err), VS_OK);
    assert_int_equal(vs_queue_init(&filled, BATCH_SLOTS, &err), VS_OK);
    assert_int_equal(vs_queue_init(&batched, 1, &err), VS_OK);
    vs_pool batches;
    assert_int_equal(vs_pool_init(&batches, sizeof(vs_batch), BATCH_SLOTS, &err), VS_OK);
    for (int i = 0; i < BATCH_SLOTS; i++) {
        vs_batch *batch = vs_pool_slot(&batches, i);
        batch->slot = i;
        batch->input = calloc(MAX_BATCH * FRAME_FLOATS, sizeof(float));
        batch->entries = calloc(ENTRY_CAPACITY, sizeof *batch->entries);
        batch->geometry = calloc(MAX_BATCH, sizeof *batch->geometry);
        batch->tasks = calloc(MAX_BATCH, sizeof *batch->tasks);
        assert_true(batch->input && batch->entries && batch->geometry && batch->tasks);
        for (int p = 0; p < MAX_BATCH; p++)
            batch->tasks[p] = (vs_batch_task){.batch = batch, .position = p};
        batch->seal = (vs_batch_task){.batch = batch, .position = -1};
    }
    vs_budget budget;
    assert_int_equal(vs_budget_init(&budget, 1 << 30, &err), VS_OK);

    static vs_frame frames[FRAMES];
    make_frames(frames);
    source_stage source = {.out = &decoded, .frames = frames, .count = FRAMES};
    vs_batch_stage batch = {.in = &decoded,
                            .out = &positions,
                            .batches = &batches,
                            .max_batch = MAX_BATCH,
                            .entry_capacity = ENTRY_CAPACITY,
                            .budget = &budget};
    vs_preprocess_stage *workers = calloc((size_t)copies, sizeof *workers);
    assert_non_null(workers);
    for (int w = 0; w < copies; w++) {
        workers[w] =
            (vs_preprocess_stage){.in = &positions, .out = &filled, .frame_floats = FRAME_FLOATS};
        vs_stats_init(&workers[w].stats, "preprocess", "frame");
        assert_int_equal(vs_preprocess_init(&workers[w].preprocess, manifest, &err), VS_OK);
    }
    vs_batch *held[BATCH_SLOTS] = {0};
    vs_gather_stage gather = {.in = &filled,
                              .out = &batched,
                              .batches = &batches,
                              .frame_floats = FRAME_FLOATS,
                              .held = held,
                              .held_count = BATCH_SLOTS};
    sink->in = &batched;
    sink->batches = &batches;
    vs_stage_row rows[] = {
        {.name = "t-source",
         .loop = source_thread,
         .states = &source,
         .copies = 1,
         .out = &decoded},
        {.name = "vs-batch",
         .loop = vs_batch_thread,
         .states = &batch,
         .copies = 1,
         .in = &decoded,
         .out = &positions},
        {.name = "vs-preprocess",
         .loop = vs_preprocess_thread,
         .states = workers,
         .state_size = sizeof *workers,
         .copies = copies,
         .in = &positions,
         .out = &filled},
        {.name = "vs-gather",
         .loop = vs_gather_thread,
         .states = &gather,
         .copies = 1,
         .in = &filled,
         .out = &batched},
        {.name = "t-sink", .loop = sink_thread, .states = sink, .copies = 1, .in = &batched},
    };
    assert_int_equal(vs_graph_start(rows, 5, &err), VS_OK);
    vs_graph_join(rows, 5);

    /* The refused frame was analysed as empty; every other one was timed. */
    assert_int_equal(frames[REFUSED].analysed, 0);
    int64_t timed = 0;
    for (int w = 0; w < copies; w++) {
        timed += workers[w].stats.frames;
        vs_preprocess_free(&workers[w].preprocess);
    }
    assert_int_equal(timed, sink->positions);
    frames[REFUSED].picture->format = AV_PIX_FMT_YUV420P;
    free_frames(frames);
    free(workers);
    /* Every batch slot came back: none was lost or sent twice. */
    for (int i = 0; i < BATCH_SLOTS; i++)
        assert_non_null(vs_pool_get(&batches));
    for (int i = 0; i < BATCH_SLOTS; i++) {
        vs_batch *slot = vs_pool_slot(&batches, i);
        free(slot->input);
        free(slot->entries);
        free(slot->geometry);
        free(slot->tasks);
    }
    vs_budget_destroy(&budget);
    vs_pool_destroy(&batches);
    vs_queue_destroy(&decoded);
    vs_queue_destroy(&positions);
    vs_queue_destroy(&filled);
    vs_queue_destroy(&batched);
}

/* The analysed frames preprocessed one after the other on this thread. */
static int reference_inputs(const vs_manifest *manifest, float *inputs, vs_letterbox *geometry)
{
    vs_error err = {{0}};
    vs_preprocess pre;
    assert_int_equal(vs_preprocess_init(&pre, manifest, &err), VS_OK);
    static vs_frame frames[FRAMES];
    make_frames(frames);
    int positions = 0;
    for (int i = 0; i < FRAMES; i++) {
        vs_frame *f = &frames[i];
        if (f->kind != VS_FRAME_PICTURE || !f->analysed || i == REFUSED)
            continue;
        assert_int_equal(vs_preprocess_frame(&pre, f->picture, f->video->rotation,
                                             inputs + positions * FRAME_FLOATS,
                                             &geometry[positions], &err),
                         VS_OK);
        positions++;
    }
    frames[REFUSED].picture->format = AV_PIX_FMT_YUV420P;
    free_frames(frames);
    vs_preprocess_free(&pre);
    return positions;
}

static void workers_fill_batches_in_order_with_the_same_bytes(void **state)
{
    (void)state;
    videos[0] = (vs_video){.index = 0};
    videos[1] = (vs_video){.index = 1, .rotation = 90};
    vs_manifest *manifest = malloc(sizeof *manifest);
    assert_non_null(manifest);
    make_manifest(manifest);
    float *reference = calloc(FRAMES * FRAME_FLOATS, sizeof(float));
    static vs_letterbox reference_geometry[FRAMES];
    int positions = reference_inputs(manifest, reference, reference_geometry);
    assert_true(positions > 2 * MAX_BATCH);

    static sink_stage sinks[2];
    const int copies[2] = {1, 3};
    for (int run = 0; run < 2; run++) {
        sink_stage *sink = &sinks[run];
        memset(sink, 0, sizeof *sink);
        sink->inputs = calloc(FRAMES * FRAME_FLOATS, sizeof(float));
        assert_non_null(sink->inputs);
        run_rows(manifest, copies[run], sink);

        /* Every frame and wake-up once, in the order the source sent them. */
        int expected = 0;
        for (int i = 0; i < FRAMES; i++) {
            for (int w = 0; w < wakes_before(i); w++)
                assert_int_equal(sink->order[expected++], WAKE);
            assert_int_equal(sink->order[expected++], i);
        }
        assert_int_equal(sink->order_count, expected);
        /* Byte for byte the frames preprocessed one by one, refused one left out. */
        assert_int_equal(sink->positions, positions);
        assert_memory_equal(sink->inputs, reference, positions * FRAME_FLOATS * sizeof(float));
        assert_memory_equal(sink->geometry, reference_geometry,
                            (size_t)positions * sizeof *reference_geometry);
    }
    assert_memory_equal(sinks[0].inputs, sinks[1].inputs, positions * FRAME_FLOATS * sizeof(float));
    free(sinks[0].inputs);
    free(sinks[1].inputs);
    free(reference);
    free(manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_fill_batches_in_order_with_the_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
