/* core/sequential.c, the baseline `vidsift bench --sequential` compares the
 * pipeline with, and core/reader.c, the decoder it shares with the decode
 * stage: on two tiny generated clips and the tiny YOLO model every frame is
 * decoded, analysed, stored and annotated; the store's rows and the
 * annotated copies say so; a file that is not a video fails alone, named; a
 * stop request ends the run with VS_EINTR, the video named. */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/frame.h>

#include "clip.h"
#include "reader.h"
#include "scan.h"
#include "sequential.h"
#include "store.h"
#include "testutil.h"

#define CLIP_FRAMES 5

typedef struct fixture {
    char dir[PATH_MAX - 64]; /* room for the names made under it */
    char clips[2][PATH_MAX];
    vs_manifest manifest;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *dir = test_tmpdir("sequential");
    assert_non_null(dir);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    vs_error err = {{0}};
    static const int sizes[2][2] = {{96, 64}, {64, 48}};
    for (int i = 0; i < 2; i++) {
        snprintf(f->clips[i], sizeof f->clips[i], "%s/clip%d.mkv", f->dir, i);
        if (vs_clip_generate(f->clips[i], sizes[i][0], sizes[i][1], CLIP_FRAMES, &err) != VS_OK)
            fail_msg("vs_clip_generate: %s", err.msg);
    }
    test_load_model(&f->manifest, "tiny_yolov5");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void scan(const char *const *paths, int count, vs_scan_result *result)
{
    vs_error err = {{0}};
    if (vs_scan(paths, count, NULL, NULL, NULL, result, &err) != VS_OK)
        fail_msg("vs_scan: %s", err.msg);
    assert_int_equal(result->video_count, count);
}

/* Frames the reader decodes from path; its size as described. */
static int64_t read_frames(const char *path, int *width, int *height)
{
    vs_reader reader;
    vs_video video = {0};
    vs_error err = {{0}};
    if (vs_reader_open(&reader, path, 1, &err) != VS_OK)
        fail_msg("vs_reader_open: %s", err.msg);
    vs_reader_describe(&reader, &video);
    *width = video.width;
    *height = video.height;
    AVFrame *picture = av_frame_alloc();
    assert_non_null(picture);
    int64_t frames = 0;
    int status;
    while ((status = vs_reader_next(&reader, picture, &err)) == VS_OK) {
        assert_int_equal(picture->width, video.width);
        frames++;
        av_frame_unref(picture);
    }
    assert_int_equal(status, VS_EOF);
    av_frame_free(&picture);
    vs_reader_close(&reader);
    return frames;
}

static void reader_decodes_every_frame_and_names_a_bad_file(void **state)
{
    fixture *f = *state;
    int width = 0, height = 0;
    assert_int_equal(read_frames(f->clips[0], &width, &height), CLIP_FRAMES);
    assert_int_equal(width, 96);
    assert_int_equal(height, 64);

    char text[PATH_MAX];
    snprintf(text, sizeof text, "%s/notes.mkv", f->dir);
    assert_int_equal(test_sh("echo 'not a video' > '%s'", text), 0);
    vs_reader reader;
    vs_error err = {{0}};
    assert_int_not_equal(vs_reader_open(&reader, text, 1, &err), VS_OK);
    assert_non_null(strstr(err.msg, "notes.mkv"));
    vs_reader_close(&reader); /* after a failed open too */
    vs_reader_close(&reader); /* and twice */
}

static void every_frame_is_analysed_stored_and_annotated(void **state)
{
    fixture *f = *state;
    char store_path[PATH_MAX], annotated[PATH_MAX];
    snprintf(store_path, sizeof store_path, "%s/sequential.db", f->dir);
    snprintf(annotated, sizeof annotated, "%s/annotated", f->dir);
    assert_int_equal(test_sh("mkdir -p '%s'", annotated), 0);
    vs_scan_result videos;
    const char *paths[2] = {f->clips[0], f->clips[1]};
    scan(paths, 2, &videos);
    vs_sequential_options options = {
        .manifest = &f->manifest,
        .device = "cpu",
        .threads = 1,
        .store_path = store_path,
        .annotate_dir = annotated,
    };
    vs_sequential_result result = {0};
    vs_error err = {{0}};
    if (vs_sequential_run(&options, videos.videos, 2, &result, &err) != VS_OK)
        fail_msg("vs_sequential_run: %s", err.msg);
    assert_int_equal(result.frames, 2 * CLIP_FRAMES);
    assert_true(result.seconds > 0);
    for (int i = 0; i < 2; i++) {
        const vs_video *video = &videos.videos[i];
        assert_int_equal(video->status, VS_VIDEO_DONE);
        assert_int_equal(video->frames_decoded, CLIP_FRAMES);
        assert_int_equal(video->frames_analysed, CLIP_FRAMES);
        assert_string_equal(video->container, "matroska,webm");
        /* The annotated copy has every frame, at the source's size. */
        char copy[PATH_MAX + 16];
        snprintf(copy, sizeof copy, "%s/%02d.mp4", annotated, video->index);
        int width = 0, height = 0;
        assert_int_equal(read_frames(copy, &width, &height), CLIP_FRAMES);
        assert_int_equal(width, video->width);
        assert_int_equal(height, video->height);
    }
    vs_scan_free(&videos);

    /* The store has one finished run and both videos, done, every frame analysed. */
    vs_store *store = NULL;
    if (vs_store_open_read(&store, store_path, &err) != VS_OK)
        fail_msg("vs_store_open_read: %s", err.msg);
    vs_store_filter all = {0};
    vs_store_cursor *cursor = NULL;
    vs_store_run_row run;
    assert_int_equal(vs_store_read_runs(store, &all, &cursor, &err), VS_OK);
    assert_int_equal(vs_store_next_run(cursor, &run, &err), 1);
    assert_string_equal(run.status, "done");
    assert_int_equal(vs_store_next_run(cursor, &run, &err), 0);
    vs_store_cursor_close(cursor);
    vs_store_video_row row;
    int rows = 0;
    assert_int_equal(vs_store_read_videos(store, &all, &cursor, &err), VS_OK);
    while (vs_store_next_video(cursor, &row, &err) == 1) {
        assert_string_equal(row.status, "done");
        assert_int_equal(row.frames_analysed, CLIP_FRAMES);
        rows++;
    }
    assert_int_equal(rows, 2);
    vs_store_cursor_close(cursor);
    vs_store_close(store);
}

static void a_bad_video_fails_named_and_a_stop_interrupts(void **state)
{
    fixture *f = *state;
    char text[PATH_MAX];
    snprintf(text, sizeof text, "%s/broken.mp4", f->dir);
    assert_int_equal(test_sh("head -c 4096 /dev/urandom > '%s'", text), 0);
    vs_scan_result videos;
    const char *paths[1] = {text};
    scan(paths, 1, &videos);
    vs_sequential_options options = {.manifest = &f->manifest, .device = "cpu", .threads = 1};
    vs_sequential_result result = {0};
    vs_error err = {{0}};
    assert_int_not_equal(vs_sequential_run(&options, videos.videos, 1, &result, &err), VS_OK);
    assert_non_null(strstr(err.msg, "broken.mp4"));
    assert_int_equal(videos.videos[0].status, VS_VIDEO_FAILED);
    assert_non_null(strstr(videos.videos[0].error.msg, "broken.mp4"));
    vs_scan_free(&videos);

    const char *clip[1] = {f->clips[0]};
    scan(clip, 1, &videos);
    static volatile sig_atomic_t stop = 1;
    options.stop = &stop;
    err = (vs_error){{0}};
    assert_int_equal(vs_sequential_run(&options, videos.videos, 1, &result, &err), VS_EINTR);
    assert_non_null(strstr(err.msg, "clip0.mkv"));
    assert_int_equal(videos.videos[0].status, VS_VIDEO_INTERRUPTED);
    assert_int_equal(videos.videos[0].frames_decoded, 0);
    vs_scan_free(&videos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_decodes_every_frame_and_names_a_bad_file),
        cmocka_unit_test(every_frame_is_analysed_stored_and_annotated),
        cmocka_unit_test(a_bad_video_fails_named_and_a_stop_interrupts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
