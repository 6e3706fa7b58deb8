/* core/clip.c, the clip tools `vidsift bench` cuts its inputs with: a
 * generated clip has the frames asked for, at the size asked for; a prefix
 * copy keeps exactly the first N packets (all of them with 0), each of
 * which decodes; a missing input or one without video fails, named. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "clip.h"
#include "testutil.h"

/* Video packets in path, and frames they decode to; the picture size. */
static void count_frames(const char *path, int *packets, int *frames, int *width, int *height)
{
    AVFormatContext *format = NULL;
    assert_int_equal(avformat_open_input(&format, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(format, NULL) >= 0);
    int video = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    assert_true(video >= 0);
    const AVCodecParameters *parameters = format->streams[video]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(parameters->codec_id);
    AVCodecContext *decoder = avcodec_alloc_context3(codec);
    assert_non_null(decoder);
    assert_true(avcodec_parameters_to_context(decoder, parameters) >= 0);
    assert_true(avcodec_open2(decoder, codec, NULL) >= 0);
    AVPacket *packet = av_packet_alloc();
    AVFrame *picture = av_frame_alloc();
    *packets = *frames = 0;
    int at_end = 0;
    while (!at_end) {
        if (av_read_frame(format, packet) < 0) {
            at_end = 1;
            avcodec_send_packet(decoder, NULL); /* drain */
        } else if (packet->stream_index == video) {
            (*packets)++;
            assert_true(avcodec_send_packet(decoder, packet) >= 0);
        }
        av_packet_unref(packet);
        while (avcodec_receive_frame(decoder, picture) == 0) {
            (*frames)++;
            *width = picture->width;
            *height = picture->height;
        }
    }
    av_frame_free(&picture);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
}

static void generated_clip_has_the_frames_asked_for(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pattern.mkv", test_tmpdir("clip_generate"));
    vs_error err = {{0}};
    assert_int_equal(vs_clip_generate(path, 96, 64, 12, &err), VS_OK);
    int packets, frames, width = 0, height = 0;
    count_frames(path, &packets, &frames, &width, &height);
    assert_int_equal(packets, 12);
    assert_int_equal(frames, 12);
    assert_int_equal(width, 96);
    assert_int_equal(height, 64);
}

static void prefix_copy_keeps_the_first_packets(void **state)
{
    (void)state;
    char source[PATH_MAX], first[PATH_MAX], all[PATH_MAX];
    const char *dir = test_tmpdir("clip_prefix");
    snprintf(source, sizeof source, "%s/source.mkv", dir);
    snprintf(first, sizeof first, "%s/first5.mkv", dir);
    snprintf(all, sizeof all, "%s/all.mkv", dir);
    vs_error err = {{0}};
    /* 30 frames, GOP 25, B-frames: a prefix cut inside a GOP must still decode. */
    assert_int_equal(vs_clip_generate(source, 64, 48, 30, &err), VS_OK);
    assert_int_equal(vs_clip_copy_prefix(source, first, 5, &err), VS_OK);
    assert_int_equal(vs_clip_copy_prefix(source, all, 0, &err), VS_OK);
    int packets, frames, width = 0, height = 0;
    count_frames(first, &packets, &frames, &width, &height);
    assert_int_equal(packets, 5);
    assert_int_equal(frames, 5);
    count_frames(all, &packets, &frames, &width, &height);
    assert_int_equal(packets, 30);
    assert_int_equal(frames, 30);
    assert_int_equal(width, 64);
}

static void bad_inputs_fail_named(void **state)
{
    (void)state;
    const char *dir = test_tmpdir("clip_bad");
    char missing[PATH_MAX], text[PATH_MAX], out[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing.mp4", dir);
    snprintf(text, sizeof text, "%s/notes.txt", dir);
    snprintf(out, sizeof out, "%s/out.mkv", dir);
    vs_error err = {{0}};
    assert_int_not_equal(vs_clip_copy_prefix(missing, out, 5, &err), VS_OK);
    assert_non_null(strstr(err.msg, "missing.mp4"));
    assert_null(strstr(err.msg, ".c:")); /* a message names the video, never a source file */
    FILE *file = fopen(text, "w");
    assert_non_null(file);
    fputs("not a video\n", file);
    fclose(file);
    err = (vs_error){{0}};
    assert_int_not_equal(vs_clip_copy_prefix(text, out, 5, &err), VS_OK);
    assert_non_null(strstr(err.msg, "notes.txt"));
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET); /* the encoder's statistics are not the test's output */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_clip_has_the_frames_asked_for),
        cmocka_unit_test(prefix_copy_keeps_the_first_packets),
        cmocka_unit_test(bad_inputs_fail_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
