/* test_annotate.c: annotated videos (core/annotate.c) and the label font.
 *
 * Synthetic clips come from ffmpeg's lavfi sources. The test decodes them
 * itself (as the pipeline's decoder would), hands each picture with fixed
 * detections to the annotator, and checks the result with ffprobe and by
 * decoding it again: frame count, duration, audio, and where the box is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "annotate.h"
#include "font.h"
#include "testutil.h"

static const char *const labels[] = {"person", "bicycle", "car", "bus"};

typedef struct clip_info {
    char codec[32];
    int width, height;
    int64_t frames;
    double duration;
    int has_audio;
    char audio_codec[32];
    double audio_duration;
} clip_info;

/* Reads what ffprobe says about path's first video and audio streams. */
static void probe(const char *path, clip_info *info)
{
    memset(info, 0, sizeof *info);
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -show_entries"
             " stream=codec_type,codec_name,width,height,nb_read_frames,duration '%s'",
             path);
    FILE *pipe = popen(cmd, "r");
    assert_non_null(pipe);
    char line[256], type[32] = "", codec[32] = "";
    int width = 0, height = 0;
    int64_t frames = 0;
    double duration = 0;
    while (fgets(line, sizeof line, pipe)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, "[/STREAM]")) {
            if (!strcmp(type, "video") && !info->codec[0]) {
                snprintf(info->codec, sizeof info->codec, "%s", codec);
                info->width = width;
                info->height = height;
                info->frames = frames;
                info->duration = duration;
            } else if (!strcmp(type, "audio") && !info->has_audio) {
                info->has_audio = 1;
                snprintf(info->audio_codec, sizeof info->audio_codec, "%s", codec);
                info->audio_duration = duration;
            }
            continue;
        }
        char *value = strchr(line, '=');
        if (!value)
            continue;
        *value++ = 0;
        if (!strcmp(line, "codec_name"))
            snprintf(codec, sizeof codec, "%s", value);
        else if (!strcmp(line, "codec_type"))
            snprintf(type, sizeof type, "%s", value);
        else if (!strcmp(line, "width"))
            width = atoi(value);
        else if (!strcmp(line, "height"))
            height = atoi(value);
        else if (!strcmp(line, "nb_read_frames"))
            frames = atoll(value);
        else if (!strcmp(line, "duration"))
            duration = strcmp(value, "N/A") ? atof(value) : 0;
    }
    assert_int_equal(pclose(pipe), 0);
}

/* Makes a clip of `seconds` at 25 fps from a lavfi source, with or without a
 * sine tone in AAC. */
static void make_clip(const char *path, const char *source, int with_audio, const char *codec)
{
    int rc = test_sh("ffmpeg -v error -y -f lavfi -i '%s' %s -t 2 -c:v %s -pix_fmt yuv420p"
                     " %s '%s'",
                     source, with_audio ? "-f lavfi -i sine=frequency=440:sample_rate=44100" : "",
                     codec, with_audio ? "-c:a aac -b:a 64k" : "", path);
    assert_int_equal(rc, 0);
}

typedef void (*picture_fn)(void *ctx, vs_video *video, AVFrame *picture, int64_t index);

/* Decodes every picture of path's video stream; fills video as the pipeline's
 * decoder would. Returns the number of pictures. */
static int64_t decode_clip(const char *path, vs_video *video, picture_fn fn, void *ctx)
{
    AVFormatContext *input = NULL;
    assert_int_equal(avformat_open_input(&input, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(input, NULL) >= 0);
    const AVCodec *codec = NULL;
    int index = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    assert_true(index >= 0);
    AVStream *stream = input->streams[index];
    AVCodecContext *decoder = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(decoder, stream->codecpar);
    assert_int_equal(avcodec_open2(decoder, codec, NULL), 0);
    memset(video, 0, sizeof *video);
    snprintf(video->path, sizeof video->path, "%s", path);
    video->width = stream->codecpar->width;
    video->height = stream->codecpar->height;
    video->fps = av_q2d(stream->avg_frame_rate);
    video->time_base_num = stream->time_base.num;
    video->time_base_den = stream->time_base.den;
    video->has_audio = av_find_best_stream(input, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
    AVPacket *packet = av_packet_alloc();
    AVFrame *picture = av_frame_alloc();
    int64_t count = 0;
    int draining = 0;
    while (!draining || avcodec_receive_frame(decoder, picture) == 0) {
        if (draining) {
            fn(ctx, video, picture, count++);
            av_frame_unref(picture);
            continue;
        }
        if (av_read_frame(input, packet) < 0) {
            avcodec_send_packet(decoder, NULL);
            draining = 1;
            continue;
        }
        if (packet->stream_index == index) {
            assert_int_equal(avcodec_send_packet(decoder, packet), 0);
            while (avcodec_receive_frame(decoder, picture) == 0) {
                picture->pts = picture->best_effort_timestamp;
                fn(ctx, video, picture, count++);
                av_frame_unref(picture);
            }
        }
        av_packet_unref(packet);
    }
    av_frame_free(&picture);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&input);
    return count;
}

typedef struct annotate_job {
    vs_annotate *annotate;
    vs_frame *frame;
    vs_detection box;
    int64_t stop_after; /* 0 = all frames */
    int64_t fed;
} annotate_job;

static void annotate_picture(void *ctx, vs_video *video, AVFrame *picture, int64_t index)
{
    annotate_job *job = ctx;
    if (job->stop_after && index >= job->stop_after)
        return;
    vs_frame *frame = job->frame;
    memset(frame, 0, sizeof *frame);
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->picture = picture;
    frame->index = index;
    frame->pts = picture->pts;
    frame->analysed = 1;
    frame->detection_count = 1;
    frame->detections[0] = job->box;
    vs_error err = {{0}};
    if (vs_annotate_frame(job->annotate, frame, labels, &err) != VS_OK)
        fail_msg("%s", err.msg);
    job->fed++;
}

/* Annotates every frame of source into out with one fixed box. */
static void annotate_clip(const char *source, const char *out, const char *encoder,
                          vs_detection box, vs_video *video)
{
    /* The annotator is opened with the video description, which the
     * decoder only knows once it opened the file: decode a first pass for it. */
    annotate_job job = {.box = box};
    job.frame = calloc(1, sizeof *job.frame);
    vs_error err = {{0}};
    vs_video probe_video;
    {
        AVFormatContext *input = NULL;
        assert_int_equal(avformat_open_input(&input, source, NULL, NULL), 0);
        avformat_find_stream_info(input, NULL);
        int index = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        memset(&probe_video, 0, sizeof probe_video);
        snprintf(probe_video.path, sizeof probe_video.path, "%s", source);
        probe_video.fps = av_q2d(input->streams[index]->avg_frame_rate);
        probe_video.time_base_num = input->streams[index]->time_base.num;
        probe_video.time_base_den = input->streams[index]->time_base.den;
        probe_video.width = input->streams[index]->codecpar->width;
        probe_video.height = input->streams[index]->codecpar->height;
        avformat_close_input(&input);
    }
    if (vs_annotate_open_with(&job.annotate, &probe_video, out, encoder, &err) != VS_OK)
        fail_msg("%s", err.msg);
    decode_clip(source, video, annotate_picture, &job);
    if (vs_annotate_close(job.annotate, 1, &err) != VS_OK)
        fail_msg("%s", err.msg);
    free(job.frame);
}

static const vs_detection fixed_box = {
    .x1 = 40, .y1 = 60, .x2 = 200, .y2 = 180, .score = 0.87f, .class_id = 3};

static void test_video_only(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-video"));
    snprintf(source, sizeof source, "%s/testsrc.mp4", dir);
    snprintf(out, sizeof out, "%s/nested/deeper/annotated.mp4", dir);
    make_clip(source, "testsrc=size=320x240:rate=25", 0, "libx264");
    vs_video video;
    annotate_clip(source, out, NULL, fixed_box, &video);
    clip_info in, result;
    probe(source, &in);
    probe(out, &result);
    assert_string_equal(result.codec, "h264");
    assert_int_equal(result.width, 320);
    assert_int_equal(result.height, 240);
    assert_int_equal(result.frames, in.frames);
    assert_int_equal(result.frames, 50);
    assert_true(result.duration > in.duration - 0.001 && result.duration < in.duration + 0.001);
    assert_int_equal(result.has_audio, 0);
    char part[1200];
    snprintf(part, sizeof part, "%s.part", out);
    assert_int_equal(access(part, F_OK), -1);
}

static void test_audio_copied(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-audio"));
    snprintf(source, sizeof source, "%s/testsrc-sine.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    make_clip(source, "testsrc=size=320x240:rate=25", 1, "libx264");
    vs_video video;
    annotate_clip(source, out, NULL, fixed_box, &video);
    assert_int_equal(video.has_audio, 1);
    clip_info in, result;
    probe(source, &in);
    probe(out, &result);
    assert_int_equal(result.frames, in.frames);
    assert_true(result.duration > in.duration - 0.001 && result.duration < in.duration + 0.001);
    assert_int_equal(result.has_audio, 1);
    assert_string_equal(result.audio_codec, "aac");
    /* Audio stops with the last video frame, within one AAC frame (23 ms). */
    assert_true(result.audio_duration > in.duration - 0.05);
    assert_true(result.audio_duration < in.duration + 0.05);
    /* and decodes without errors */
    assert_int_equal(test_sh("test -z \"$(ffmpeg -v error -i '%s' -f null - 2>&1)\"", out), 0);
}

static void test_mpeg4_fallback(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-mpeg4"));
    snprintf(source, sizeof source, "%s/testsrc.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    make_clip(source, "testsrc=size=320x240:rate=25", 1, "libx264");
    vs_video video;
    annotate_clip(source, out, "mpeg4", fixed_box, &video);
    clip_info in, result;
    probe(source, &in);
    probe(out, &result);
    assert_string_equal(result.codec, "mpeg4");
    assert_int_equal(result.frames, in.frames);
    assert_true(result.duration > in.duration - 0.001 && result.duration < in.duration + 0.001);
    assert_int_equal(result.has_audio, 1);
}

typedef struct pixel_grab {
    int64_t wanted;
    uint8_t *rgb;
    int width, height;
} pixel_grab;

static void grab_rgb(void *ctx, vs_video *video, AVFrame *picture, int64_t index)
{
    (void)video;
    pixel_grab *grab = ctx;
    if (index != grab->wanted)
        return;
    grab->width = picture->width;
    grab->height = picture->height;
    grab->rgb = malloc((size_t)picture->width * picture->height * 3);
    struct SwsContext *sws =
        sws_getContext(picture->width, picture->height, picture->format, picture->width,
                       picture->height, AV_PIX_FMT_RGB24, SWS_POINT, NULL, NULL, NULL);
    uint8_t *planes[4] = {grab->rgb};
    int strides[4] = {picture->width * 3};
    sws_scale(sws, (const uint8_t *const *)picture->data, picture->linesize, 0, picture->height,
              planes, strides);
    sws_freeContext(sws);
}

static int near_color(const uint8_t *pixel, const uint8_t rgb[3], int tolerance)
{
    for (int c = 0; c < 3; c++)
        if (abs(pixel[c] - rgb[c]) > tolerance)
            return 0;
    return 1;
}

static void test_box_pixels(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-pixels"));
    snprintf(source, sizeof source, "%s/gray.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    make_clip(source, "color=c=gray:size=320x240:rate=25", 0, "libx264");
    vs_video video;
    annotate_clip(source, out, NULL, fixed_box, &video);
    pixel_grab grab = {.wanted = 25};
    decode_clip(out, &video, grab_rgb, &grab);
    assert_non_null(grab.rgb);
    uint8_t color[3], gray[3] = {128, 128, 128};
    vs_annotate_class_color(fixed_box.class_id, color);
    const uint8_t *rgb = grab.rgb;
#define PIXEL(x, y) (rgb + ((size_t)(y)*grab.width + (x)) * 3)
    /* On each edge of the box (40,60)-(200,180) the class colour ... */
    assert_true(near_color(PIXEL(40, 120), color, 40));
    assert_true(near_color(PIXEL(41, 120), color, 40));
    assert_true(near_color(PIXEL(199, 120), color, 40));
    assert_true(near_color(PIXEL(120, 61), color, 40));
    assert_true(near_color(PIXEL(120, 179), color, 40));
    /* ... far inside and outside the source's grey, untouched. */
    assert_true(near_color(PIXEL(120, 120), gray, 12));
    assert_false(near_color(PIXEL(120, 120), color, 40));
    assert_true(near_color(PIXEL(260, 220), gray, 12));
    assert_true(near_color(PIXEL(30, 120), gray, 12));
    /* The tag sits above the box: class colour around the text, white ink in it. */
    int tag_h = vs_font_text_height(2) + 4;
    assert_true(near_color(PIXEL(41, 60 - tag_h + 1), color, 40));
    int white_pixels = 0;
    for (int y = 60 - tag_h; y < 60; y++)
        for (int x = 40; x < 40 + vs_font_text_width("bus 0.87", 2); x++)
            white_pixels += near_color(PIXEL(x, y), (uint8_t[3]){255, 255, 255}, 60);
    assert_true(white_pixels > 40);
#undef PIXEL
    free(grab.rgb);
}

/* A box at the top-left corner puts its tag inside; boxes past the frame are clipped. */
static void test_boxes_at_edges(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-edges"));
    snprintf(source, sizeof source, "%s/gray.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    make_clip(source, "color=c=gray:size=322x242:rate=25", 0, "libx264");
    vs_video video;
    vs_detection box = {.x1 = -20, .y1 = -10, .x2 = 400, .y2 = 300, .score = 1.0f, .class_id = 0};
    annotate_clip(source, out, NULL, box, &video);
    clip_info result;
    probe(out, &result);
    assert_int_equal(result.frames, 50);
    assert_int_equal(result.width, 322);
}

static void test_part_file_and_abort(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100], part[1200];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-abort"));
    snprintf(source, sizeof source, "%s/testsrc.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    snprintf(part, sizeof part, "%s.part", out);
    make_clip(source, "testsrc=size=320x240:rate=25", 1, "libx264");
    annotate_job job = {.box = fixed_box, .stop_after = 10};
    job.frame = calloc(1, sizeof *job.frame);
    vs_video video;
    memset(&video, 0, sizeof video);
    snprintf(video.path, sizeof video.path, "%s", source);
    video.fps = 25;
    video.time_base_num = 1;
    video.time_base_den = 12800;
    vs_error err = {{0}};
    assert_int_equal(vs_annotate_open(&job.annotate, &video, out, &err), VS_OK);
    decode_clip(source, &video, annotate_picture, &job);
    assert_int_equal(job.fed, 10);
    assert_int_equal(access(part, F_OK), 0); /* being written */
    assert_int_equal(access(out, F_OK), -1); /* never under the final name */
    assert_int_equal(vs_annotate_close(job.annotate, 0, &err), VS_OK);
    assert_int_equal(access(part, F_OK), -1);
    assert_int_equal(access(out, F_OK), -1);

    /* Finalizing a video that never had a picture is an error, and leaves nothing. */
    assert_int_equal(vs_annotate_open(&job.annotate, &video, out, &err), VS_OK);
    assert_int_equal(vs_annotate_close(job.annotate, 1, &err), VS_EINVAL);
    /* The message names the input video first, never a source file. */
    assert_int_equal(strncmp(err.msg, source, strlen(source)), 0);
    assert_non_null(strstr(err.msg, "annotated video"));
    assert_null(strstr(err.msg, ".c:"));
    assert_int_equal(access(part, F_OK), -1);
    assert_int_equal(access(out, F_OK), -1);
    free(job.frame);
}

static void test_open_errors(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-errors"));
    snprintf(source, sizeof source, "%s/testsrc.mp4", dir);
    make_clip(source, "testsrc=size=320x240:rate=25", 0, "libx264");
    vs_video video;
    memset(&video, 0, sizeof video);
    snprintf(video.path, sizeof video.path, "%s", source);
    vs_annotate *annotate = (vs_annotate *)1;
    vs_error err = {{0}};
    /* A parent "directory" that is a file. */
    snprintf(out, sizeof out, "%s/testsrc.mp4/annotated.mp4", dir);
    assert_int_equal(vs_annotate_open(&annotate, &video, out, &err), VS_EIO);
    assert_null(annotate);
    assert_int_equal(strncmp(err.msg, source, strlen(source)), 0);
    assert_non_null(strstr(err.msg, ": annotated video: cannot create directory"));
    /* A source that vanished. */
    snprintf(video.path, sizeof video.path, "%s/missing.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    assert_int_equal(vs_annotate_open(&annotate, &video, out, &err), VS_EIO);
    assert_non_null(strstr(err.msg, "missing.mp4"));
    assert_int_equal(test_sh("ls '%s' | grep -q part", dir), 1);
    /* An encoder this FFmpeg lacks. */
    snprintf(video.path, sizeof video.path, "%s", source);
    assert_int_equal(vs_annotate_open_with(&annotate, &video, out, "no-such-encoder", &err), VS_OK);
    AVFrame *picture = av_frame_alloc();
    picture->format = AV_PIX_FMT_YUV420P;
    picture->width = 64;
    picture->height = 48;
    assert_int_equal(av_frame_get_buffer(picture, 0), 0);
    vs_frame *frame = calloc(1, sizeof *frame);
    frame->kind = VS_FRAME_PICTURE;
    frame->picture = picture;
    assert_int_equal(vs_annotate_frame(annotate, frame, labels, &err), VS_EIO);
    assert_non_null(strstr(err.msg, "no-such-encoder"));
    vs_annotate_close(annotate, 0, NULL);
    av_frame_free(&picture);
    free(frame);
}

/* A gray YUV420P picture of width x height. */
static AVFrame *gray_picture(int width, int height)
{
    AVFrame *picture = av_frame_alloc();
    assert_non_null(picture);
    picture->format = AV_PIX_FMT_YUV420P;
    picture->width = width;
    picture->height = height;
    assert_int_equal(av_frame_get_buffer(picture, 0), 0);
    for (int plane = 0; plane < 3; plane++)
        for (int y = 0; y < (plane ? height / 2 : height); y++)
            memset(picture->data[plane] + (ptrdiff_t)y * picture->linesize[plane], 128,
                   (size_t)(plane ? width / 2 : width));
    return picture;
}

/* A stream that changes size mid-way is scaled to the first picture's size,
 * and boxes (in the coordinates of each picture) follow. */
static void test_resolution_change(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-resize"));
    snprintf(source, sizeof source, "%s/gray.mp4", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    make_clip(source, "color=c=gray:size=320x240:rate=25", 0, "libx264");
    vs_video video;
    memset(&video, 0, sizeof video);
    snprintf(video.path, sizeof video.path, "%s", source);
    video.fps = 25;
    video.time_base_num = 1;
    video.time_base_den = 25;
    vs_annotate *annotate;
    vs_error err = {{0}};
    assert_int_equal(vs_annotate_open(&annotate, &video, out, &err), VS_OK);
    AVFrame *small = gray_picture(320, 240), *large = gray_picture(640, 480);
    vs_frame *frame = calloc(1, sizeof *frame);
    for (int i = 0; i < 20; i++) {
        int second_half = i >= 10;
        memset(frame, 0, sizeof *frame);
        frame->kind = VS_FRAME_PICTURE;
        frame->video = &video;
        frame->picture = second_half ? large : small;
        frame->index = frame->pts = i;
        frame->analysed = 1;
        frame->detection_count = 1;
        frame->detections[0] = fixed_box;
        if (second_half) { /* the same place, in the larger picture's pixels */
            frame->detections[0].x1 *= 2;
            frame->detections[0].y1 *= 2;
            frame->detections[0].x2 *= 2;
            frame->detections[0].y2 *= 2;
        }
        if (vs_annotate_frame(annotate, frame, labels, &err) != VS_OK)
            fail_msg("%s", err.msg);
    }
    assert_int_equal(vs_annotate_close(annotate, 1, &err), VS_OK);
    clip_info result;
    probe(out, &result);
    assert_int_equal(result.frames, 20);
    assert_int_equal(result.width, 320);
    assert_int_equal(result.height, 240);
    pixel_grab grab = {.wanted = 15};
    decode_clip(out, &video, grab_rgb, &grab);
    assert_non_null(grab.rgb);
    uint8_t color[3], gray[3] = {128, 128, 128};
    vs_annotate_class_color(fixed_box.class_id, color);
    const uint8_t *rgb = grab.rgb;
#define PIXEL(x, y) (rgb + ((size_t)(y)*grab.width + (x)) * 3)
    assert_true(near_color(PIXEL(40, 120), color, 40));
    assert_true(near_color(PIXEL(199, 120), color, 40));
    assert_true(near_color(PIXEL(120, 120), gray, 12));
#undef PIXEL
    free(grab.rgb);
    free(frame);
    av_frame_free(&small);
    av_frame_free(&large);
}

/* Audio that MP4 cannot hold (PCM in Matroska) is left out with a note. */
static void test_audio_left_out(void **state)
{
    (void)state;
    char dir[1024], source[1100], out[1100];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("annotate-pcm"));
    snprintf(source, sizeof source, "%s/pcm.mkv", dir);
    snprintf(out, sizeof out, "%s/annotated.mp4", dir);
    assert_int_equal(
        test_sh("ffmpeg -v error -y -f lavfi -i testsrc=size=160x120:rate=25"
                " -f lavfi -i sine -t 1 -c:v libx264 -pix_fmt yuv420p -c:a pcm_s16le '%s'",
                source),
        0);
    annotate_job job = {.box = fixed_box};
    job.frame = calloc(1, sizeof *job.frame);
    vs_video video;
    memset(&video, 0, sizeof video);
    snprintf(video.path, sizeof video.path, "%s", source);
    video.fps = 25;
    video.time_base_num = 1;
    video.time_base_den = 1000;
    vs_error err = {{0}};
    assert_int_equal(vs_annotate_open(&job.annotate, &video, out, &err), VS_OK);
    const char *note = vs_annotate_note(job.annotate);
    assert_non_null(note);
    assert_non_null(strstr(note, "pcm_s16le"));
    decode_clip(source, &video, annotate_picture, &job);
    assert_string_equal(vs_annotate_encoder(job.annotate), "libx264");
    assert_int_equal(vs_annotate_close(job.annotate, 1, &err), VS_OK);
    clip_info result;
    probe(out, &result);
    assert_int_equal(result.frames, 25);
    assert_int_equal(result.has_audio, 0);
    free(job.frame);
}

static void test_font(void **state)
{
    (void)state;
    /* Every printable glyph but the space has ink; others fall back to '?'. */
    for (int c = 33; c < 127; c++) {
        const uint8_t *glyph = vs_font_glyph((unsigned char)c);
        int ink = 0;
        for (int row = 0; row < VS_FONT_CELL; row++)
            ink |= glyph[row];
        assert_true(ink != 0);
    }
    assert_ptr_equal(vs_font_glyph(0xc3), vs_font_glyph('?'));
    assert_ptr_equal(vs_font_glyph('\n'), vs_font_glyph('?'));
    assert_int_equal(vs_font_text_width("", 2), 0);
    assert_int_equal(vs_font_text_width("ab", 1), VS_FONT_ADVANCE + 5);
    assert_int_equal(vs_font_text_height(2), 16);
    /* Distinct glyphs for characters that labels and scores use. */
    assert_memory_not_equal(vs_font_glyph('0'), vs_font_glyph('O'), VS_FONT_CELL);
    assert_memory_not_equal(vs_font_glyph('l'), vs_font_glyph('1'), VS_FONT_CELL);
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR); /* keep libx264's banner out of the test log */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_font),
        cmocka_unit_test(test_video_only),
        cmocka_unit_test(test_audio_copied),
        cmocka_unit_test(test_mpeg4_fallback),
        cmocka_unit_test(test_box_pixels),
        cmocka_unit_test(test_boxes_at_edges),
        cmocka_unit_test(test_part_file_and_abort),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_audio_left_out),
        cmocka_unit_test(test_resolution_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
