/* test_encoders.c: annotated videos drawn and encoded on encoder workers
 * (core/encoders.c) behind the sink's annotated-video output.
 *
 * The test drives vs_sink_thread through its queue, as the track stage
 * would, with two videos open at once and their frames interleaved in every
 * batch. With two workers each video goes to its own worker (each encodes
 * exactly that video's frames); with one, a single worker encodes both.
 * Either way each annotated video must be complete, in order, and decode to
 * the same pictures: the workers change who encodes, never what. The frame
 * pool is sized for what the sink and the encoders may hold, so the test
 * also shows that held frames come back to the pool. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavutil/frame.h>

#include "encoders.h"
#include "stages.h"
#include "testutil.h"

#define VIDEOS 2
#define FRAMES_PER_VIDEO 30
#define PER_BATCH 3 /* pictures of each video in one batch */
#define BATCH_SLOTS 2
#define ENTRIES (VIDEOS * PER_BATCH + 2 * VIDEOS)
#define WIDTH 160
#define HEIGHT 120

static const char *const labels[] = {"person", "car"};

typedef struct encode_fixture {
    char dir[1200], source[1300];
    int64_t bad_picture; /* video 0's picture that no scaler takes; -1: none */
    vs_pool frames, batches;
    vs_queue in;
    vs_sink_stage stage;
    vs_video videos[VIDEOS];
    pthread_t thread;
} encode_fixture;

static void fixture_start(encode_fixture *f, const char *dir, int workers)
{
    vs_error err = {{0}};
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    /* The annotator opens its source again for audio: any small clip will do. */
    snprintf(f->source, sizeof f->source, "%s/../source.mp4", dir);
    int slots = BATCH_SLOTS * ENTRIES + VS_ENCODE_HELD(workers);
    assert_int_equal(vs_pool_init(&f->frames, sizeof(vs_frame), slots, &err), VS_OK);
    for (int i = 0; i < slots; i++) {
        vs_frame *frame = vs_pool_slot(&f->frames, i);
        assert_non_null(frame->picture = av_frame_alloc());
    }
    assert_int_equal(vs_pool_init(&f->batches, sizeof(vs_batch), BATCH_SLOTS, &err), VS_OK);
    for (int i = 0; i < BATCH_SLOTS; i++) {
        vs_batch *batch = vs_pool_slot(&f->batches, i);
        assert_non_null(batch->entries = calloc(ENTRIES, sizeof *batch->entries));
    }
    assert_int_equal(vs_queue_init(&f->in, 1, &err), VS_OK);
    for (int v = 0; v < VIDEOS; v++) {
        vs_video *video = &f->videos[v];
        video->index = v;
        snprintf(video->path, sizeof video->path, "%s", f->source);
        snprintf(video->output_name, sizeof video->output_name, "clip%d", v);
        video->width = WIDTH;
        video->height = HEIGHT;
        video->fps = 25;
        video->time_base_num = 1;
        video->time_base_den = 25;
    }
    f->stage = (vs_sink_stage){.in = &f->in, .batches = &f->batches, .frames = &f->frames};
    /* The annotated video alone, lean: one x264 thread, as beside CPU inference. */
    assert_int_equal(vs_output_annotate(&f->stage.outputs[0], f->dir, labels, NULL, NULL, 1,
                                        &f->frames, workers, &err),
                     VS_OK);
    f->stage.output_count = 1;
    assert_int_equal(vs_sink_init(&f->stage, VIDEOS, &err), VS_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, vs_sink_thread, &f->stage), 0);
}

/* A picture of video v that changes with index: a bright square moving
 * across a grey field whose shade tells the videos apart. */
static void fill_picture(AVFrame *picture, int v, int64_t index)
{
    picture->format = AV_PIX_FMT_YUV420P;
    picture->width = WIDTH;
    picture->height = HEIGHT;
    assert_int_equal(av_frame_get_buffer(picture, 0), 0);
    for (int plane = 0; plane < 3; plane++) {
        int h = plane ? HEIGHT / 2 : HEIGHT, w = plane ? WIDTH / 2 : WIDTH;
        for (int y = 0; y < h; y++)
            memset(picture->data[plane] + (size_t)y * picture->linesize[plane],
                   plane ? 128 : 60 + 60 * v, (size_t)w);
    }
    int x0 = (int)(index * 4) % (WIDTH - 20);
    for (int y = 40; y < 60; y++)
        memset(picture->data[0] + (size_t)y * picture->linesize[0] + x0, 235, 20);
    picture->pts = index;
}

static vs_frame *next_frame(encode_fixture *f, vs_frame_kind kind, int v, int64_t index)
{
    vs_frame *frame = vs_pool_get(&f->frames);
    assert_non_null(frame);
    AVFrame *picture = frame->picture;
    memset(frame, 0, sizeof *frame);
    frame->picture = picture;
    frame->kind = kind;
    frame->video = &f->videos[v];
    if (kind == VS_FRAME_PICTURE) {
        if (v == 0 && index == f->bad_picture) {
            /* A GPU picture with no pixels here: the annotator cannot convert it. */
            picture->format = AV_PIX_FMT_CUDA;
            picture->width = WIDTH;
            picture->height = HEIGHT;
        } else {
            fill_picture(picture, v, index);
        }
        frame->index = index;
        frame->pts = index;
        frame->pts_ms = index * 40;
        frame->analysed = 1;
        frame->detection_count = 1;
        frame->detections[0] = (vs_detection){.class_id = v,
                                              .score = 0.9f,
                                              .x1 = (float)(index * 4 % (WIDTH - 20)),
                                              .y1 = 40,
                                              .x2 = (float)(index * 4 % (WIDTH - 20) + 20),
                                              .y2 = 60};
    }
    return frame;
}

/* Both videos start, then every batch carries PER_BATCH pictures of each,
 * interleaved, then both end. */
static void send_videos(encode_fixture *f)
{
    for (int64_t next = 0; next <= FRAMES_PER_VIDEO; next += PER_BATCH) {
        vs_batch *batch = vs_pool_get(&f->batches);
        assert_non_null(batch);
        batch->entry_count = 0;
        batch->failed = 0;
        for (int v = 0; v < VIDEOS && next == 0; v++)
            batch->entries[batch->entry_count++] = next_frame(f, VS_FRAME_VIDEO_START, v, 0);
        for (int64_t i = next; i < next + PER_BATCH && i < FRAMES_PER_VIDEO; i++)
            for (int v = 0; v < VIDEOS; v++)
                batch->entries[batch->entry_count++] = next_frame(f, VS_FRAME_PICTURE, v, i);
        for (int v = 0; v < VIDEOS && next + PER_BATCH > FRAMES_PER_VIDEO; v++) {
            f->videos[v].status = VS_VIDEO_DONE; /* the decoder's, before its END marker */
            batch->entries[batch->entry_count++] = next_frame(f, VS_FRAME_VIDEO_END, v, 0);
        }
        assert_true(batch->entry_count <= ENTRIES);
        assert_int_equal(vs_queue_push(&f->in, batch), VS_OK);
    }
}

/* Frames each worker encoded, then everything freed. Every frame slot must
 * be back in the pool: the encoders released what they held. */
static void fixture_stop(encode_fixture *f, int workers, int64_t *encoded)
{
    vs_queue_close(&f->in);
    pthread_join(f->thread, NULL);
    for (int w = 0; w < workers; w++)
        encoded[w] = vs_output_annotate_frames(&f->stage.outputs[0], w);
    assert_int_equal(vs_output_annotate_frames(&f->stage.outputs[0], workers), -1);
    assert_int_equal(f->stage.failed, 0);
    vs_sink_free(&f->stage); /* joins the workers */
    assert_int_equal(vs_queue_count(&f->frames.free_slots), f->frames.count);
    for (int i = 0; i < f->frames.count; i++)
        av_frame_free(&((vs_frame *)vs_pool_slot(&f->frames, i))->picture);
    for (int i = 0; i < BATCH_SLOTS; i++)
        free(((vs_batch *)vs_pool_slot(&f->batches, i))->entries);
    vs_pool_destroy(&f->frames);
    vs_pool_destroy(&f->batches);
    vs_queue_destroy(&f->in);
}

/* One line per decoded frame of path (ffmpeg's framemd5, timestamps and
 * checksums) into lines; returns the frame count. */
static int decoded_frames(const char *path, char *lines, size_t size)
{
    char command[2400];
    snprintf(command, sizeof command,
             "ffmpeg -v error -i '%s' -map 0:v -f framemd5 - | grep -v '^#'", path);
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    size_t length = fread(lines, 1, size - 1, pipe);
    lines[length] = 0;
    assert_int_equal(pclose(pipe), 0);
    int count = 0;
    for (const char *c = lines; *c; c++)
        count += *c == '\n';
    return count;
}

static void run_with(const char *root, int workers, int64_t *encoded)
{
    encode_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->bad_picture = -1;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/workers%d", root, workers);
    assert_int_equal(test_sh("mkdir -p '%s'", dir), 0);
    fixture_start(f, dir, workers);
    send_videos(f);
    fixture_stop(f, workers, encoded);
    for (int v = 0; v < VIDEOS; v++) {
        assert_int_equal(f->videos[v].status, VS_VIDEO_DONE); /* no output failed it */
        char part[1300];
        snprintf(part, sizeof part, "%s/annotated/clip%d.mp4.part", dir, v);
        assert_int_equal(access(part, F_OK), -1); /* finalized, renamed */
    }
    free(f);
}

/* A fresh test directory named name, copied into root, holding the source
 * clip each test's videos are opened on (source.mp4). */
static void make_source(const char *name, char *root, size_t size)
{
    const char *tmp = test_tmpdir(name);
    assert_non_null(tmp);
    snprintf(root, size, "%s", tmp);
    assert_int_equal(test_sh("ffmpeg -v error -f lavfi -i testsrc=size=%dx%d:rate=25 -t 0.2"
                             " -c:v mpeg4 '%s/source.mp4'",
                             WIDTH, HEIGHT, root),
                     0);
}

static void test_videos_on_their_own_workers(void **state)
{
    (void)state;
    char root[1024];
    make_source("encoders", root, sizeof root);
    int64_t one[1], two[2];
    run_with(root, 1, one);
    run_with(root, 2, two);
    /* One worker encodes both videos; two take one video each. */
    assert_int_equal(one[0], VIDEOS * FRAMES_PER_VIDEO);
    assert_int_equal(two[0], FRAMES_PER_VIDEO);
    assert_int_equal(two[1], FRAMES_PER_VIDEO);
    static char alone[16384], shared[16384];
    for (int v = 0; v < VIDEOS; v++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/workers1/annotated/clip%d.mp4", root, v);
        assert_int_equal(decoded_frames(path, alone, sizeof alone), FRAMES_PER_VIDEO);
        snprintf(path, sizeof path, "%s/workers2/annotated/clip%d.mp4", root, v);
        assert_int_equal(decoded_frames(path, shared, sizeof shared), FRAMES_PER_VIDEO);
        /* Every frame, in order, the same pictures: timestamps and checksums. */
        assert_string_equal(alone, shared);
    }
    /* And the videos differ from each other: each worker drew its own video. */
    char first[1200], second[1200];
    snprintf(first, sizeof first, "%s/workers2/annotated/clip0.mp4", root);
    snprintf(second, sizeof second, "%s/workers2/annotated/clip1.mp4", root);
    decoded_frames(first, alone, sizeof alone);
    decoded_frames(second, shared, sizeof shared);
    assert_string_not_equal(alone, shared);
}

/* A worker that fails on a picture fails that video's annotated copy alone,
 * as the sink's own encoding did: the video fails naming itself, its .part
 * file goes, and the other video, on the other worker, is complete. */
static void test_failure_fails_its_video_only(void **state)
{
    (void)state;
    char root[1024];
    make_source("encoders-failure", root, sizeof root);
    encode_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->bad_picture = 10;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/workers2", root);
    assert_int_equal(test_sh("mkdir -p '%s'", dir), 0);
    fixture_start(f, dir, 2);
    send_videos(f);
    int64_t encoded[2];
    fixture_stop(f, 2, encoded); /* every held frame came back to the pool */
    assert_int_equal(f->videos[0].status, VS_VIDEO_FAILED);
    assert_non_null(strstr(f->videos[0].error.msg, "annotated video"));
    assert_int_equal(strncmp(f->videos[0].error.msg, f->source, strlen(f->source)), 0);
    assert_int_equal(f->videos[1].status, VS_VIDEO_DONE);
    char path[1300];
    snprintf(path, sizeof path, "%s/annotated/clip0.mp4", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/annotated/clip0.mp4.part", dir);
    assert_int_equal(access(path, F_OK), -1);
    static char lines[16384];
    snprintf(path, sizeof path, "%s/annotated/clip1.mp4", dir);
    assert_int_equal(decoded_frames(path, lines, sizeof lines), FRAMES_PER_VIDEO);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_videos_on_their_own_workers),
        cmocka_unit_test(test_failure_fails_its_video_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
