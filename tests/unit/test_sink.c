/* test_sink.c: the sink stage (core/sink.c) against a real store.
 *
 * Two runs share a database only if neither holds the write lock while it
 * waits for the model: the sink must commit a batch's rows before it waits
 * for the next batch. The test drives vs_sink_thread through its queue and,
 * while the sink waits, takes the write lock from another connection with no
 * busy wait at all. It also checks that the sink writes a video's outputs
 * where the store placed it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "stages.h"
#include "store.h"
#include "testutil.h"

#define FRAMES_PER_BATCH 3
#define LOCK_WAIT_LIMIT_MS 10000 /* far above a commit: only a lock that stays held fails */

static const char *const labels[] = {"person", "car"};

typedef struct sink_fixture {
    char dir[1024], db_path[1200];
    vs_store *store;
    vs_pool frames, batches;
    vs_queue in;
    vs_sink_stage stage;
    vs_video video;
    int64_t run_id;
    vs_video *current;           /* the video send_batch sends; NULL: video */
    int in_use_left, in_use_max; /* the sink's videos in flight, as it ended */
    pthread_t thread;
} sink_fixture;

/* The frame and batch pools the sink returns slots to, and its input queue. */
static void fixture_pools(sink_fixture *f)
{
    vs_error err = {{0}};
    assert_int_equal(vs_pool_init(&f->frames, sizeof(vs_frame), 2 * FRAMES_PER_BATCH + 4, &err),
                     VS_OK);
    assert_int_equal(vs_pool_init(&f->batches, sizeof(vs_batch), 2, &err), VS_OK);
    for (int i = 0; i < 2; i++) {
        vs_batch *batch = vs_pool_slot(&f->batches, i);
        batch->entries = calloc(FRAMES_PER_BATCH + 2, sizeof *batch->entries);
        assert_non_null(batch->entries);
    }
    assert_int_equal(vs_queue_init(&f->in, 1, &err), VS_OK);
}

static void fixture_start(sink_fixture *f, const char *name)
{
    vs_error err = {{0}};
    const char *dir = test_tmpdir(name);
    assert_non_null(dir);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->db_path, sizeof f->db_path, "%s/results.db", f->dir);
    assert_int_equal(vs_store_open(&f->store, f->db_path, &err), VS_OK);
    assert_int_equal(vs_store_begin_run(f->store, NULL, NULL, "cpu", NULL, &f->run_id, &err),
                     VS_OK);
    fixture_pools(f);
    snprintf(f->video.path, sizeof f->video.path, "/videos/cam/clip.mp4");
    snprintf(f->video.canonical_path, sizeof f->video.canonical_path, "/videos/cam/clip.mp4");
    snprintf(f->video.output_name, sizeof f->video.output_name, "cam/clip.mp4");
    f->video.width = 64;
    f->video.height = 48;
    f->stage = (vs_sink_stage){
        .in = &f->in,
        .batches = &f->batches,
        .frames = &f->frames,
        .store = f->store,
    };
    /* The store alone: one output, one video in flight. */
    assert_int_equal(vs_output_store(&f->stage.outputs[0], f->store, f->run_id, labels, &err),
                     VS_OK);
    f->stage.output_count = 1;
    assert_int_equal(vs_sink_init(&f->stage, 1, &err), VS_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, vs_sink_thread, &f->stage), 0);
}

static void fixture_stop(sink_fixture *f)
{
    vs_queue_close(&f->in);
    pthread_join(f->thread, NULL);
    for (int i = 0; i < 2; i++)
        free(((vs_batch *)vs_pool_slot(&f->batches, i))->entries);
    vs_pool_destroy(&f->frames);
    vs_pool_destroy(&f->batches);
    vs_queue_destroy(&f->in);
    f->in_use_left = f->stage.videos.in_use;
    f->in_use_max = f->stage.videos.in_use_max;
    vs_sink_free(&f->stage);
    vs_store_close(f->store);
}

/* Sends one batch: an optional START marker, `pictures` analysed frames with
 * two detections each from frame index *next on, an optional END marker. */
static void send_batch(sink_fixture *f, int start, int pictures, int end, int64_t *next)
{
    vs_batch *batch = vs_pool_get(&f->batches);
    assert_non_null(batch);
    batch->entry_count = 0;
    batch->failed = 0;
    for (int i = 0; i < start + pictures + end; i++) {
        vs_frame *frame = vs_pool_get(&f->frames);
        assert_non_null(frame);
        memset(frame, 0, sizeof *frame);
        frame->video = f->current ? f->current : &f->video;
        if (start && i == 0) {
            frame->kind = VS_FRAME_VIDEO_START;
        } else if (end && i == start + pictures) {
            frame->kind = VS_FRAME_VIDEO_END;
        } else {
            frame->kind = VS_FRAME_PICTURE;
            frame->index = (*next)++;
            frame->pts_ms = frame->index * 40;
            frame->analysed = 1;
            frame->detection_count = 2;
            for (int d = 0; d < 2; d++)
                frame->detections[d] = (vs_detection){
                    .class_id = d, .score = 0.9f, .x1 = 1, .y1 = 2, .x2 = 30, .y2 = 40};
        }
        batch->entries[batch->entry_count++] = frame;
    }
    assert_int_equal(vs_queue_push(&f->in, batch), VS_OK);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Takes and releases the write lock from another connection, never waiting
 * on a busy handler: SQLITE_OK when free, SQLITE_BUSY while held. */
static int try_write_lock(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 0);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t count_rows(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM detections", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t rows = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

/* While the sink waits for its next batch, its rows are committed and the
 * database is free for another run. */
static void test_no_lock_between_batches(void **state)
{
    (void)state;
    sink_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fixture_start(f, "sink-lock");
    int64_t next = 0;
    for (int round = 1; round <= 2; round++) {
        send_batch(f, round == 1, FRAMES_PER_BATCH, 0, &next);
        /* The sink takes the batch, writes its rows, and waits on the empty
         * queue: then its rows are visible and the lock is free. */
        int64_t expected = 2 * FRAMES_PER_BATCH * round, rows = -1;
        int rc = SQLITE_BUSY;
        double started = now_ms();
        while (now_ms() - started < LOCK_WAIT_LIMIT_MS) {
            rows = count_rows(f->db_path);
            if (rows == expected && (rc = try_write_lock(f->db_path)) == SQLITE_OK)
                break;
            usleep(2000);
        }
        if (rows != expected || rc != SQLITE_OK)
            fail_msg("batch %d: %lld of %lld rows committed, write lock %s, while the sink waits "
                     "for the next batch",
                     round, (long long)rows, (long long)expected,
                     rc == SQLITE_OK ? "free" : "held");
    }
    f->video.status = VS_VIDEO_DONE;
    f->video.frames_decoded = f->video.frames_analysed = next;
    send_batch(f, 0, 0, 1, &next);
    fixture_stop(f);
    assert_int_equal(f->stage.failed, 0);
    assert_int_equal(count_rows(f->db_path), 2 * FRAMES_PER_BATCH * 2);
    free(f);
}

/* The sink records the video through the store, which settles its output
 * name: a video whose name another video of the database holds gets the
 * store's tagged name, and that is the name the sink's outputs use. */
static void test_outputs_where_the_store_says(void **state)
{
    (void)state;
    sink_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fixture_start(f, "sink-names");
    /* Another video of the database already holds cam/clip.mp4. */
    vs_video other = f->video;
    snprintf(other.canonical_path, sizeof other.canonical_path, "/elsewhere/cam/clip.mp4");
    int64_t other_id;
    vs_error err = {{0}};
    assert_int_equal(vs_store_begin_video(f->store, f->run_id, &other, &other_id, &err), VS_OK);
    assert_string_equal(other.output_name, "cam/clip.mp4");
    int64_t next = 0;
    send_batch(f, 1, 0, 0, &next);
    f->video.status = VS_VIDEO_DONE;
    send_batch(f, 0, 0, 1, &next);
    fixture_stop(f);
    assert_int_equal(f->stage.failed, 0);
    assert_true(!strncmp(f->video.output_name, "cam/clip~", 9));
    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT output_name, status FROM videos"
                                        " WHERE canonical_path = '/videos/cam/clip.mp4'",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), f->video.output_name);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 1), "done");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    free(f);
}

/* ---- the output interface, with outputs that record what they see ---- */

typedef struct fake_output {
    char name;         /* 'a', 'b', ... in the log */
    int fail_at_frame; /* fail add_frame at this frame index; -1: never */
    char *log;         /* shared: one letter and one event per call */
} fake_output;

static void log_event(fake_output *o, const char *event, int video)
{
    char line[32];
    snprintf(line, sizeof line, "%c:%s%d ", o->name, event, video);
    strcat(o->log, line);
}

static int fake_open(void *output, vs_output_video *v, void **state, vs_error *err)
{
    (void)err;
    log_event(output, "open", v->video->index);
    *state = output;
    return VS_OK;
}

static int fake_add(void *output, void *state, vs_output_video *v, vs_frame *frame,
                    vs_error *err)
{
    fake_output *o = output;
    assert_ptr_equal(state, output);
    if (frame->index == o->fail_at_frame)
        return vs_fail(err, VS_EIO, "%s: output %c failed", v->video->path, o->name);
    return VS_OK;
}

static int fake_end(void *output, void *state, vs_output_video *v, const vs_frame *marker, int keep,
                    vs_error *err)
{
    (void)state, (void)marker, (void)err;
    log_event(output, keep ? "end" : "drop", v->video->index);
    return VS_OK;
}

static const vs_output_ops fake_ops = {
    .name = "fake", .open_video = fake_open, .add_frame = fake_add, .end_video = fake_end};

/* Outputs open in table order and end in reverse; one that fails on a
 * frame is dropped for that video alone, which fails with its reason, while
 * the others go on. Videos one after another reuse one in-flight slot: the
 * per-video state does not grow with the number of videos. */
static void test_outputs_order_and_failure(void **state)
{
    (void)state;
    sink_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char log[1024] = "";
    fake_output a = {'a', -1, log}, b = {'b', 1, log};
    vs_error err = {{0}};
    fixture_pools(f);
    f->stage = (vs_sink_stage){.in = &f->in, .batches = &f->batches, .frames = &f->frames};
    f->stage.outputs[0] = (vs_output){.ops = &fake_ops, .self = &a};
    f->stage.outputs[1] = (vs_output){.ops = &fake_ops, .self = &b};
    f->stage.output_count = 2;
    assert_int_equal(vs_sink_init(&f->stage, 1, &err), VS_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, vs_sink_thread, &f->stage), 0);
    enum { VIDEOS = 5 };
    vs_video *videos = calloc(VIDEOS, sizeof *videos);
    assert_non_null(videos);
    for (int v = 0; v < VIDEOS; v++) {
        videos[v].index = v;
        snprintf(videos[v].path, sizeof videos[v].path, "/videos/v%d.mp4", v);
        f->current = &videos[v];
        int64_t next = 0;
        send_batch(f, 1, FRAMES_PER_BATCH, 0, &next);
        videos[v].status = VS_VIDEO_DONE; /* as the decoder sets it before the END marker */
        send_batch(f, 0, 0, 1, &next);
    }
    fixture_stop(f);
    assert_int_equal(f->stage.failed, 0);
    for (int v = 0; v < VIDEOS; v++) {
        char expected[128];
        snprintf(expected, sizeof expected, "a:open%d b:open%d b:drop%d a:end%d ", v, v, v, v);
        if (!strstr(log, expected))
            fail_msg("video %d: expected \"%s\" in the log \"%s\"", v, expected, log);
        assert_int_equal(videos[v].status, VS_VIDEO_FAILED);
        assert_non_null(strstr(videos[v].error.msg, "output b failed"));
    }
    assert_int_equal(f->in_use_left, 0);
    assert_int_equal(f->in_use_max, 1);
    free(videos);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_lock_between_batches),
        cmocka_unit_test(test_outputs_where_the_store_says),
        cmocka_unit_test(test_outputs_order_and_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
