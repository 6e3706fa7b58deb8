/* sequential.c: the sequential baseline (see sequential.h). Every call here
 * is one the pipeline's stages make - reader, vs_preprocess_frame, the shim,
 * vs_detect_frame, the store, the annotator - so the baseline differs from
 * the pipeline only in how the calls are scheduled. */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "annotate.h"
#include "detect.h"
#include "plan.h"
#include "preprocess.h"
#include "reader.h"
#include "sequential.h"
#include "stats.h"
#include "store.h"
#include "vs_torch.h"

/* What one run of the baseline holds, opened before the clock starts. */
typedef struct sequential {
    const vs_sequential_options *options;
    const char *labels[VS_MAX_CLASSES];
    vs_torch *torch;
    vs_preprocess preprocess;
    int preprocess_ready;
    vs_store *store; /* NULL without options->store_path */
    int64_t run_id;
    void *scratch;   /* vs_detect_frame's, sized from the first outputs */
    vs_frame *frame; /* the one frame slot every picture goes through */
} sequential;

static int stopping(const sequential *s)
{
    return s->options->stop && *s->options->stop;
}

/* Boxes of the frame just inferred (batch position 0), in source pixels. */
static int detect(sequential *s, const vs_torch_output *outputs, int output_count,
                  const vs_letterbox *geometry, vs_error *err)
{
    const vs_manifest *manifest = s->options->manifest;
    const float *data[VS_TORCH_MAX_OUTPUTS];
    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    for (int i = 0; i < output_count; i++) {
        data[i] = outputs[i].data;
        memcpy(shapes[i], outputs[i].shape, sizeof shapes[i]);
    }
    if (!s->scratch && !(s->scratch = malloc(vs_detect_scratch_size(manifest, shapes[0]))))
        return vs_fail(err, VS_ENOMEM, "out of memory for the detection scratch");
    vs_frame *frame = s->frame;
    int count = vs_detect_frame(manifest, data, (const int64_t(*)[4])shapes, output_count, 0, NULL,
                                s->scratch, frame->detections);
    if (count < 0)
        return vs_fail(err, VS_EMODEL, "%s: outputs do not fit the %s decoder",
                       VS_NAME(manifest->model_path), vs_decoder_name(manifest->decoder));
    frame->detection_count = count;
    vs_detect_to_source(frame->detections, count, geometry, frame->picture->width,
                        frame->picture->height);
    return VS_OK;
}

/* One decoded picture through preprocess, the model, detect, store and
 * annotator. */
static int analyse_picture(sequential *s, vs_video *video, int64_t video_id, vs_annotate *annotate,
                           vs_error *err)
{
    vs_frame *frame = s->frame;
    AVFrame *picture = frame->picture;
    vs_letterbox geometry;
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int output_count = 0;
    int status = vs_preprocess_frame(&s->preprocess, picture, video->rotation,
                                     vs_torch_input(s->torch, 0), &geometry, err);
    if (status == VS_OK)
        status = vs_torch_submit(s->torch, 0, 1, err);
    if (status == VS_OK)
        status = vs_torch_wait(s->torch, 0, outputs, &output_count, err);
    int64_t index = video->frames_decoded;
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->index = index;
    frame->pts = picture->best_effort_timestamp;
    frame->pts_ms = (int64_t)llround(vs_reader_time_s(video, frame->pts, index) * 1000.0);
    frame->analysed = 1;
    frame->carried = 0;
    if (status == VS_OK)
        status = detect(s, outputs, output_count, &geometry, err);
    if (status != VS_OK)
        return status;
    video->frames_decoded++;
    video->frames_analysed++;
    if (s->store)
        status = vs_store_add_frame(s->store, video_id, frame, s->labels, err);
    if (status == VS_OK && annotate)
        status = vs_annotate_frame(annotate, frame, s->labels, err);
    return status;
}

/* One video, frame after frame; its status and error are set as the
 * pipeline sets them. */
static int sequential_video(sequential *s, vs_video *video, vs_error *err)
{
    const vs_sequential_options *o = s->options;
    vs_reader reader;
    int64_t video_id = 0;
    vs_annotate *annotate = NULL;
    int status = vs_reader_open(&reader, video->path, 1, err);
    if (status == VS_OK)
        vs_reader_describe(&reader, video);
    if (status == VS_OK && s->store)
        status = vs_store_begin_video(s->store, s->run_id, video, &video_id, err);
    if (status == VS_OK && o->annotate_dir) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%02d.mp4", o->annotate_dir, video->index);
        status = vs_annotate_open(&annotate, video, path, err);
    }
    while (status == VS_OK && !stopping(s)) {
        status = vs_reader_next(&reader, s->frame->picture, err);
        if (status == VS_OK)
            status = analyse_picture(s, video, video_id, annotate, err);
        av_frame_unref(s->frame->picture);
    }
    if (status == VS_EOF)
        status = VS_OK;
    if (stopping(s) && status == VS_OK)
        status = vs_fail(err, VS_EINTR, "%s: interrupted", VS_NAME(video->path));
    video->status = status == VS_OK      ? VS_VIDEO_DONE
                    : status == VS_EINTR ? VS_VIDEO_INTERRUPTED
                                         : VS_VIDEO_FAILED;
    if (status != VS_OK)
        snprintf(video->error.msg, sizeof video->error.msg, "%s", err->msg);
    if (annotate) {
        int closed = vs_annotate_close(annotate, status == VS_OK, err);
        status = status == VS_OK ? closed : status;
    }
    if (s->store && video_id) {
        int ended = vs_store_end_video(s->store, video_id, video, err);
        status = status == VS_OK ? ended : status;
    }
    vs_reader_close(&reader);
    return status;
}

/* Model, preprocess, store and the frame slot: everything the clock does
 * not count. */
static int open_baseline(sequential *s, vs_error *err)
{
    const vs_sequential_options *o = s->options;
    for (int i = 0; i < o->manifest->classes && i < VS_MAX_CLASSES; i++)
        s->labels[i] = o->manifest->labels[i];
    s->frame = calloc(1, sizeof *s->frame);
    if (!s->frame || !(s->frame->picture = av_frame_alloc()))
        return vs_fail(err, VS_ENOMEM, "out of memory");
    int status =
        vs_plan_open_model(&s->torch, o->manifest, o->device, o->half, 0, 1, 1, o->threads, err);
    if (status == VS_OK && (status = vs_preprocess_init(&s->preprocess, o->manifest, err)) == VS_OK)
        s->preprocess_ready = 1;
    if (status == VS_OK && o->store_path) {
        status = vs_store_open(&s->store, o->store_path, err);
        if (status == VS_OK)
            status = vs_store_begin_run(s->store, "{\"bench\":\"sequential\"}", NULL,
                                        vs_torch_device_name(s->torch), NULL, &s->run_id, err);
    }
    return status;
}

/* Ends the run in the store (with how it went) and frees everything. */
static int close_baseline(sequential *s, int status, vs_error *err)
{
    if (s->store) {
        if (s->run_id) {
            int ended = vs_store_end_run(s->store, s->run_id,
                                         status == VS_OK      ? "done"
                                         : status == VS_EINTR ? "interrupted"
                                                              : "failed",
                                         NULL, err);
            status = status == VS_OK ? ended : status;
        }
        vs_store_close(s->store);
    }
    if (s->preprocess_ready)
        vs_preprocess_free(&s->preprocess);
    vs_torch_close(s->torch);
    free(s->scratch);
    if (s->frame)
        av_frame_free(&s->frame->picture);
    free(s->frame);
    return status;
}

int vs_sequential_run(const vs_sequential_options *options, vs_video *videos, int count,
                      vs_sequential_result *result, vs_error *err)
{
    assert(options && options->manifest && (videos || count == 0) && result);
    sequential s = {.options = options};
    int status = open_baseline(&s, err);
    int64_t frames = 0;
    double started = vs_now_ms();
    for (int i = 0; i < count && status == VS_OK; i++) {
        status = sequential_video(&s, &videos[i], err);
        frames += videos[i].frames_decoded;
    }
    double seconds = (vs_now_ms() - started) / 1000;
    status = close_baseline(&s, status, err);
    if (status == VS_OK)
        *result = (vs_sequential_result){.frames = frames, .seconds = seconds};
    return status;
}
