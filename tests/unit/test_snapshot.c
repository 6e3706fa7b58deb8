/* test_snapshot.c: thumbnails and best crops (core/snapshot.c).
 *
 * Pictures are synthetic: a grey background with solid rectangles, made in
 * RGB and converted to the pixel format under test, so a JPEG's mean colour
 * says which rectangle (and so which frame) it came from. JPEGs are read
 * back with TurboJPEG, rows in the store with plain SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
#include <sqlite3.h>
#include <turbojpeg.h>

#include "snapshot.h"
#include "store.h"
#include "testutil.h"

static const char *const labels[] = {"person", "traffic light/red", NULL, "thumb", "car"};

static const uint8_t red[3] = {220, 20, 20}, green[3] = {20, 200, 20}, blue[3] = {20, 20, 220},
                     gray[3] = {128, 128, 128};

typedef struct rect {
    int x0, y0, x1, y1;
    const uint8_t *rgb;
} rect;

/* A width x height picture of `format`: grey, with rects painted on it. */
static AVFrame *make_picture(int format, int width, int height, const rect *rects, int count)
{
    AVFrame *rgb = av_frame_alloc(), *picture = av_frame_alloc();
    assert_non_null(rgb);
    assert_non_null(picture);
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = picture->width = width;
    rgb->height = picture->height = height;
    picture->format = format;
    assert_int_equal(av_frame_get_buffer(rgb, 0), 0);
    assert_int_equal(av_frame_get_buffer(picture, 0), 0);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            const uint8_t *color = gray;
            for (int i = 0; i < count; i++)
                if (x >= rects[i].x0 && x < rects[i].x1 && y >= rects[i].y0 && y < rects[i].y1)
                    color = rects[i].rgb;
            memcpy(rgb->data[0] + (size_t)y * rgb->linesize[0] + (size_t)x * 3, color, 3);
        }
    /* yuvj444p: written as yuv444p at full range (swscale warns about yuvj) */
    int jpeg_range = format == AV_PIX_FMT_YUVJ444P;
    struct SwsContext *sws =
        sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height,
                       jpeg_range ? AV_PIX_FMT_YUV444P : format, SWS_POINT, NULL, NULL, NULL);
    assert_non_null(sws);
    if (jpeg_range) {
        const int *matrix = sws_getCoefficients(SWS_CS_DEFAULT);
        sws_setColorspaceDetails(sws, matrix, 1, matrix, 1, 0, 1 << 16, 1 << 16);
    }
    sws_scale(sws, (const uint8_t *const *)rgb->data, rgb->linesize, 0, height, picture->data,
              picture->linesize);
    sws_freeContext(sws);
    av_frame_free(&rgb);
    return picture;
}

static void fill_frame(vs_frame *frame, vs_video *video, AVFrame *picture, int64_t index)
{
    memset(frame, 0, sizeof *frame);
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->picture = picture;
    frame->index = index;
    frame->analysed = 1;
}

static void add_detection(vs_frame *frame, int class_id, float score, const rect *r)
{
    vs_detection *det = &frame->detections[frame->detection_count++];
    *det = (vs_detection){.x1 = (float)r->x0,
                          .y1 = (float)r->y0,
                          .x2 = (float)r->x1,
                          .y2 = (float)r->y1,
                          .score = score,
                          .class_id = class_id};
}

static void make_video(vs_video *video, const char *path, int rotation)
{
    memset(video, 0, sizeof *video);
    snprintf(video->path, sizeof video->path, "%s", path);
    snprintf(video->relative_path, sizeof video->relative_path, "clip.mp4");
    video->rotation = rotation;
}

typedef struct jpeg_info {
    int width, height;
    double mean[3];
    uint8_t rgb[3]; /* the pixel at (probe_x, probe_y) */
} jpeg_info;

static int probe_x = -1, probe_y = -1;

/* Decodes a JPEG file: its size and mean colour. */
static void read_jpeg(const char *path, jpeg_info *info)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("%s: missing", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *jpeg = malloc((size_t)size);
    assert_int_equal(fread(jpeg, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    tjhandle decompressor = tjInitDecompress();
    int subsampling, colorspace;
    assert_int_equal(tjDecompressHeader3(decompressor, jpeg, (unsigned long)size, &info->width,
                                         &info->height, &subsampling, &colorspace),
                     0);
    unsigned char *rgb = malloc((size_t)info->width * info->height * 3);
    assert_int_equal(tjDecompress2(decompressor, jpeg, (unsigned long)size, rgb, info->width, 0,
                                   info->height, TJPF_RGB, 0),
                     0);
    double sum[3] = {0, 0, 0};
    for (int i = 0; i < info->width * info->height; i++)
        for (int c = 0; c < 3; c++)
            sum[c] += rgb[(size_t)i * 3 + c];
    for (int c = 0; c < 3; c++)
        info->mean[c] = sum[c] / ((double)info->width * info->height);
    if (probe_x >= 0 && probe_x < info->width && probe_y >= 0 && probe_y < info->height)
        memcpy(info->rgb, rgb + ((size_t)probe_y * info->width + probe_x) * 3, 3);
    tjDestroy(decompressor);
    free(rgb);
    free(jpeg);
}

static int near_color(const double mean[3], const uint8_t rgb[3], double tolerance)
{
    for (int c = 0; c < 3; c++)
        if (mean[c] < rgb[c] - tolerance || mean[c] > rgb[c] + tolerance)
            return 0;
    return 1;
}

static int exists(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* class 0: red at .5, then green at .9 elsewhere, then blue at .7 (worse than
 * green: ignored). class 4: one small box. The thumbnail is the first frame.
 * Boxes sit on even pixels: crops widen to whole chroma samples. */
static void feed_sequence(vs_snapshot *snapshot, vs_video *video, int format)
{
    const rect red_box = {40, 40, 200, 160, red}, green_box = {400, 300, 560, 420, green},
               blue_box = {40, 40, 200, 160, blue}, car_box = {10, 400, 74, 448, blue};
    const rect *boxes[3] = {&red_box, &green_box, &blue_box};
    const float scores[3] = {0.5f, 0.9f, 0.7f};
    vs_frame *frame = calloc(1, sizeof *frame);
    vs_error err = {{0}};
    for (int i = 0; i < 3; i++) {
        rect painted[2] = {*boxes[i], car_box};
        AVFrame *picture = make_picture(format, 640, 480, painted, 2);
        fill_frame(frame, video, picture, i);
        add_detection(frame, 0, scores[i], boxes[i]);
        if (i == 1)
            add_detection(frame, 4, 0.4f, &car_box);
        if (vs_snapshot_frame(snapshot, frame, labels, &err) != VS_OK)
            fail_msg("%s", err.msg);
        av_frame_free(&picture);
    }
    /* Frames that were not analysed never count, whatever they carry. */
    rect white = {0, 0, 640, 480, (const uint8_t[3]){255, 255, 255}};
    AVFrame *picture = make_picture(format, 640, 480, &white, 1);
    fill_frame(frame, video, picture, 3);
    frame->analysed = 0;
    frame->carried = 1;
    add_detection(frame, 0, 1.0f, &white);
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_OK);
    av_frame_free(&picture);
    free(frame);
}

/* rotation: the clockwise turn that displays the picture upright. */
static void check_sequence_files(const char *dir, int rotation)
{
    int rotated = rotation == 90 || rotation == 270;
    jpeg_info info;
    char path[1200];
    snprintf(path, sizeof path, "%s/thumb.jpg", dir);
    /* The red box's centre, coded (120, 100) of 640x480, as displayed. */
    probe_x = rotation == 90 ? 252 : rotation == 180 ? 259 : rotation == 270 ? 66 : 60;
    probe_y = rotation == 90 ? 80 : rotation == 180 ? 189 : rotation == 270 ? 346 : 50;
    read_jpeg(path, &info);
    probe_x = probe_y = -1;
    assert_int_equal(info.width, VS_SNAPSHOT_THUMB_WIDTH);
    assert_int_equal(info.height, rotated ? 427 : 240); /* 480x640 shown, or 640x480 */
    assert_true(info.mean[0] > info.mean[1] + 3);       /* mostly grey, a red box: reddish */
    double probed[3] = {info.rgb[0], info.rgb[1], info.rgb[2]};
    if (!near_color(probed, red, 40))
        fail_msg("thumb.jpg (rotation %d): (%d,%d,%d) where the red box should be", rotation,
                 info.rgb[0], info.rgb[1], info.rgb[2]);

    snprintf(path, sizeof path, "%s/person.jpg", dir);
    read_jpeg(path, &info);
    assert_int_equal(info.width, rotated ? 120 : 160);
    assert_int_equal(info.height, rotated ? 160 : 120);
    if (!near_color(info.mean, green, 30))
        fail_msg("person.jpg is (%.0f,%.0f,%.0f), not green", info.mean[0], info.mean[1],
                 info.mean[2]);

    snprintf(path, sizeof path, "%s/car.jpg", dir);
    read_jpeg(path, &info);
    assert_int_equal(info.width, rotated ? 48 : 64);
    assert_true(near_color(info.mean, blue, 30));
}

static void test_thumb_and_best_crop(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/snapshots/clip.mp4", test_tmpdir("snapshot-best"));
    vs_video video;
    make_video(&video, "/videos/clip.mp4", 0);
    vs_snapshot *snapshot;
    vs_error err = {{0}};
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    feed_sequence(snapshot, &video, AV_PIX_FMT_YUV420P);
    if (vs_snapshot_close(snapshot, NULL, 0, &err) != VS_OK)
        fail_msg("%s", err.msg);
    check_sequence_files(dir, 0);
    /* only the thumbnail and the two classes seen; nothing half-written */
    assert_int_equal(test_sh("test $(ls '%s' | wc -l) = 3", dir), 0);
    assert_false(exists(dir, "thumb.jpg.part"));
}

/* Other layouts of pixels: semi-planar chroma (NV12), packed RGB, grey, and
 * a display rotation of a quarter turn. */
static void test_formats_and_rotation(void **state)
{
    (void)state;
    static const struct {
        int format, rotation;
        const char *name;
    } cases[] = {
        {AV_PIX_FMT_NV12, 0, "nv12"},
        {AV_PIX_FMT_RGB24, 90, "rgb24-rot90"},
        {AV_PIX_FMT_YUV420P, 270, "yuv420p-rot270"},
        {AV_PIX_FMT_YUVJ444P, 180, "yuvj444p-rot180"},
    };
    const char *root = test_tmpdir("snapshot-formats");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, cases[i].name);
        vs_video video;
        make_video(&video, "/videos/clip.mp4", cases[i].rotation);
        vs_snapshot *snapshot;
        vs_error err = {{0}};
        assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
        feed_sequence(snapshot, &video, cases[i].format);
        if (vs_snapshot_close(snapshot, NULL, 0, &err) != VS_OK)
            fail_msg("%s: %s", cases[i].name, err.msg);
        check_sequence_files(dir, cases[i].rotation);
    }
    /* Gray: a crop at odd coordinates keeps its exact size. */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/gray8", root);
    vs_video video;
    make_video(&video, "/videos/gray.mp4", 0);
    vs_snapshot *snapshot;
    vs_error err = {{0}};
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    rect box = {3, 5, 40, 30, (const uint8_t[3]){250, 250, 250}};
    AVFrame *picture = make_picture(AV_PIX_FMT_GRAY8, 99, 77, &box, 1);
    vs_frame *frame = calloc(1, sizeof *frame);
    fill_frame(frame, &video, picture, 0);
    add_detection(frame, 0, 0.8f, &box);
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_OK);
    assert_int_equal(vs_snapshot_close(snapshot, NULL, 0, &err), VS_OK);
    jpeg_info info;
    char path[1200];
    snprintf(path, sizeof path, "%s/person.jpg", dir);
    read_jpeg(path, &info);
    assert_int_equal(info.width, 37);
    assert_int_equal(info.height, 25);
    assert_true(info.mean[1] > 235);
    snprintf(path, sizeof path, "%s/thumb.jpg", dir);
    read_jpeg(path, &info);
    assert_int_equal(info.width, VS_SNAPSHOT_THUMB_WIDTH);
    assert_int_equal(info.height, 249); /* 77 * 320 / 99, rounded */
    av_frame_free(&picture);
    free(frame);
}

/* File names from labels; boxes partly or wholly off the picture. */
static void test_names_and_edges(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/out", test_tmpdir("snapshot-names"));
    vs_video video;
    make_video(&video, "/videos/clip.mp4", 0);
    vs_snapshot *snapshot;
    vs_error err = {{0}};
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    AVFrame *picture = make_picture(AV_PIX_FMT_YUV420P, 160, 120, NULL, 0);
    vs_frame *frame = calloc(1, sizeof *frame);
    fill_frame(frame, &video, picture, 0);
    rect inside = {10, 10, 50, 50, NULL}, overhanging = {-30, 100, 60, 500, NULL},
         outside = {500, 500, 600, 600, NULL};
    add_detection(frame, 0, 0.9f, &inside);
    add_detection(frame, 1, 0.9f, &overhanging); /* "traffic light/red" */
    add_detection(frame, 2, 0.9f, &inside);      /* no label */
    add_detection(frame, 3, 0.9f, &inside);      /* "thumb": taken */
    add_detection(frame, 4, 0.9f, &outside);     /* nothing to crop: no file */
    add_detection(frame, -1, 0.9f, &inside);     /* invalid: ignored */
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_OK);
    assert_int_equal(vs_snapshot_close(snapshot, NULL, 0, &err), VS_OK);
    assert_true(exists(dir, "thumb.jpg"));
    assert_true(exists(dir, "person.jpg"));
    assert_true(exists(dir, "traffic_light_red.jpg"));
    assert_true(exists(dir, "class_2.jpg"));
    assert_true(exists(dir, "class_3.jpg"));
    assert_false(exists(dir, "car.jpg"));
    jpeg_info info;
    char path[1200];
    snprintf(path, sizeof path, "%s/traffic_light_red.jpg", dir);
    read_jpeg(path, &info);
    assert_int_equal(info.width, 60);
    assert_int_equal(info.height, 20);
    av_frame_free(&picture);
    free(frame);
}

static int64_t query_int(const char *db_path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

/* With a store, each file gets a row; the rows name files that exist. */
static void test_rows_in_store(void **state)
{
    (void)state;
    const char *root = test_tmpdir("snapshot-store");
    char dir[1100], db[1100];
    snprintf(dir, sizeof dir, "%s/snapshots/clip.mp4", root);
    snprintf(db, sizeof db, "%s/results.db", root);
    vs_store *store;
    vs_error err = {{0}};
    assert_int_equal(vs_store_open(&store, db, &err), VS_OK);
    int64_t run_id, video_id;
    vs_video video;
    make_video(&video, "/videos/clip.mp4", 0);
    assert_int_equal(vs_store_begin_run(store, NULL, NULL, NULL, NULL, &run_id, &err), VS_OK);
    assert_int_equal(vs_store_begin_video(store, run_id, &video, &video_id, &err), VS_OK);
    vs_snapshot *snapshot;
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    feed_sequence(snapshot, &video, AV_PIX_FMT_YUV420P);
    if (vs_snapshot_close(snapshot, store, video_id, &err) != VS_OK)
        fail_msg("%s", err.msg);
    vs_store_close(store);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots"), 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE kind = 'thumb'"
                                   " AND class_id IS NULL AND path LIKE '%/thumb.jpg'"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE kind = 'best'"
                                   " AND class_id = 0 AND abs(score - 0.9) < 1e-6"
                                   " AND path LIKE '%/person.jpg'"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE kind = 'best'"
                                   " AND class_id = 4 AND path LIKE '%/car.jpg'"),
                     1);
    /* Each row says where it was cut from: the frame and the crop's box in
     * coded pixels (these boxes are on chroma samples already). */
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE kind = 'thumb'"
                                   " AND frame_index = 0 AND x1 = 0 AND y1 = 0 AND x2 = 640"
                                   " AND y2 = 480"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE class_id = 0"
                                   " AND frame_index = 1 AND x1 = 400 AND y1 = 300 AND x2 = 560"
                                   " AND y2 = 420"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM snapshots WHERE class_id = 4"
                                   " AND frame_index = 1 AND x1 = 10 AND y1 = 400 AND x2 = 74"
                                   " AND y2 = 448"),
                     1);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'SELECT path FROM snapshots' | xargs -n1 test -s", db);
    assert_int_equal(test_sh("%s", cmd), 0);
}

/* Nothing analysed: no directory at all. A failed frame: nothing written.
 * A directory that cannot be made: a clear error. NULL closes. */
static void test_nothing_and_errors(void **state)
{
    (void)state;
    const char *root = test_tmpdir("snapshot-errors");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/empty", root);
    vs_video video;
    make_video(&video, "/videos/clip.mp4", 0);
    vs_snapshot *snapshot;
    vs_error err = {{0}};
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    vs_frame *frame = calloc(1, sizeof *frame);
    frame->kind = VS_FRAME_VIDEO_START;
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_OK);
    assert_int_equal(vs_snapshot_close(snapshot, NULL, 0, &err), VS_OK);
    assert_int_equal(access(dir, F_OK), -1);

    /* 1 bit per pixel cannot be cropped in memory */
    snprintf(dir, sizeof dir, "%s/mono", root);
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    AVFrame *mono = av_frame_alloc();
    mono->format = AV_PIX_FMT_MONOBLACK;
    mono->width = 64;
    mono->height = 48;
    assert_int_equal(av_frame_get_buffer(mono, 0), 0);
    fill_frame(frame, &video, mono, 0);
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_EINVAL);
    /* The message names the input video first, never a source file. */
    assert_int_equal(strncmp(err.msg, video.path, strlen(video.path)), 0);
    assert_null(strstr(err.msg, ".c:"));
    assert_non_null(strstr(err.msg, "monob"));
    assert_int_equal(vs_snapshot_close(snapshot, NULL, 0, &err), VS_OK);
    assert_int_equal(access(dir, F_OK), -1);
    av_frame_free(&mono);

    /* a file where the directory should be */
    char blocker[1100];
    snprintf(blocker, sizeof blocker, "%s/file", root);
    assert_int_equal(test_sh("touch '%s'", blocker), 0);
    snprintf(dir, sizeof dir, "%s/file/clip.mp4", root);
    assert_int_equal(vs_snapshot_open(&snapshot, &video, dir, &err), VS_OK);
    AVFrame *picture = make_picture(AV_PIX_FMT_YUV420P, 64, 48, NULL, 0);
    fill_frame(frame, &video, picture, 0);
    assert_int_equal(vs_snapshot_frame(snapshot, frame, labels, &err), VS_OK);
    assert_int_equal(vs_snapshot_close(snapshot, NULL, 0, &err), VS_EIO);
    assert_int_equal(strncmp(err.msg, video.path, strlen(video.path)), 0);
    assert_non_null(strstr(err.msg, ": snapshots: cannot create directory"));
    assert_int_equal(vs_snapshot_close(NULL, NULL, 0, &err), VS_OK);
    av_frame_free(&picture);
    free(frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumb_and_best_crop), cmocka_unit_test(test_formats_and_rotation),
        cmocka_unit_test(test_names_and_edges),     cmocka_unit_test(test_rows_in_store),
        cmocka_unit_test(test_nothing_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
