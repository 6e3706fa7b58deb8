/* decode.c: the decode stage. Each thread takes the next video from the
 * run's source (source.h: its list, or a worker's queue),
 * demuxes and decodes it with FFmpeg (frame threading on), decides which
 * frames are analysed (--every, --sample-fps, --skip-similar), and sends
 * frame slots downstream between a START and an END marker.
 *
 * It reads each video through core/reader.c (the one demux + decode loop,
 * which `vidsift bench` measures too) and owns that reader while decoding
 * the video. A bad video ends that video (status FAILED, error says why),
 * never the run. It never drops a frame that a sink needs: when the frame
 * pool is empty it waits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "reader.h"
#include "scaler.h"
#include "stages.h"

#define THUMB_SIZE 32

typedef struct decoder {
    vs_reader reader;
    AVFrame *scratch; /* the picture just decoded, until a frame slot takes it */
    AVFrame *spare;   /* for copying a picture out of GPU memory */
    /* sampling state */
    double next_sample_s;
    vs_scaler thumb_scaler; /* per video, keyed on all the picture's properties */
    uint8_t last_thumb[THUMB_SIZE * THUMB_SIZE], thumb[THUMB_SIZE * THUMB_SIZE];
    int have_thumb;
    int analysed_width, analysed_height; /* of the last analysed picture, 0 before one */
    /* Taken from the run's memory budget when the video opens, for what it
     * holds besides pictures in flight; given back with its END marker. */
    int64_t working_set_bytes;
} decoder;

static void close_video(decoder *d)
{
    vs_reader_close(&d->reader);
    av_frame_free(&d->scratch);
    av_frame_free(&d->spare);
    vs_scaler_free(&d->thumb_scaler);
    memset(d, 0, sizeof *d);
}

/* Mean absolute difference of small luma thumbnails, 0..1: cheap, and blind
 * to sensor noise that a full-size comparison would count. */
static double thumb_difference(decoder *d, const AVFrame *picture)
{
    struct SwsContext *scaler = vs_scaler_get(&d->thumb_scaler, picture, THUMB_SIZE, THUMB_SIZE,
                                              AV_PIX_FMT_GRAY8, SWS_AREA);
    if (!scaler)
        return 1.0;
    uint8_t *planes[4] = {d->thumb, NULL, NULL, NULL};
    int strides[4] = {THUMB_SIZE, 0, 0, 0};
    sws_scale(scaler, (const uint8_t *const *)picture->data, picture->linesize, 0, picture->height,
              planes, strides);
    if (!d->have_thumb)
        return 1.0;
    long sum = 0;
    for (int i = 0; i < THUMB_SIZE * THUMB_SIZE; i++)
        sum += abs(d->thumb[i] - d->last_thumb[i]);
    return sum / (255.0 * THUMB_SIZE * THUMB_SIZE);
}

/* What the sampling options make of one decoded frame: 1 analysed, 2
 * carried, 0 neither. */
static int sample_frame(decoder *d, const vs_sampling *sampling, int64_t index, double t_s,
                        const AVFrame *picture)
{
    if (sampling->every > 1 && index % sampling->every != 0)
        return 0;
    if (sampling->sample_fps > 0) {
        if (t_s + 1e-6 < d->next_sample_s)
            return 0;
        /* Stay on the grid k / sample_fps, so the chosen frames do not drift. */
        d->next_sample_s = (floor(t_s * sampling->sample_fps + 1e-6) + 1) / sampling->sample_fps;
    }
    if (sampling->skip_similar > 0) {
        double difference = thumb_difference(d, picture);
        if (d->have_thumb && difference < sampling->skip_similar)
            return 2;
        memcpy(d->last_thumb, d->thumb, sizeof d->thumb);
        d->have_thumb = 1;
    }
    return 1;
}

/* Decides the fate of one decoded frame: 1 analysed, 2 carried, 0 neither.
 * Boxes are in the pixels of the picture they were found in, so none can be
 * carried onto a picture of another size (a stream whose resolution changes
 * mid-way): the first frame after a change is analysed whatever the
 * sampling says, and later similar frames are compared with it. */
static int classify_frame(decoder *d, const vs_sampling *sampling, int64_t index, double t_s,
                          const AVFrame *picture)
{
    int new_size = d->analysed_width > 0 &&
                   (picture->width != d->analysed_width || picture->height != d->analysed_height);
    int fate = new_size ? 1 : sample_frame(d, sampling, index, t_s, picture);
    if (new_size && sampling->skip_similar > 0) {
        thumb_difference(d, picture);
        memcpy(d->last_thumb, d->thumb, sizeof d->thumb);
        d->have_thumb = 1;
    }
    if (fate == 1) {
        d->analysed_width = picture->width;
        d->analysed_height = picture->height;
    }
    return fate;
}

/* budget_bytes: what the marker gives back to the budget when the sink is
 * done with it (the video's working set, on its END marker). */
static int send_marker(vs_decode_stage *stage, vs_video *video, vs_frame_kind kind,
                       int64_t budget_bytes)
{
    vs_frame *frame = vs_pool_get(stage->frames);
    if (!frame) {
        vs_budget_give(stage->budget, budget_bytes);
        return VS_EINTR;
    }
    frame->kind = kind;
    frame->video = video;
    frame->analysed = frame->carried = 0;
    frame->detection_count = 0;
    frame->budget = stage->budget;
    frame->budget_bytes = budget_bytes;
    return vs_queue_push(stage->out, frame);
}

/* Wakes the batch stage so that it sends the frames it holds (see batch.c). */
static void ask_for_frames_back(void *context)
{
    vs_decode_stage *stage = context;
    vs_queue_push(stage->out, NULL);
}

static void take_budget(vs_decode_stage *stage, int64_t bytes)
{
    vs_budget_take(stage->budget, bytes, ask_for_frames_back, stage);
}

static double mib(int64_t bytes)
{
    return bytes / (1024.0 * 1024.0);
}

/* Takes the video's working set from the budget: its picture size times
 * the pictures its decoder, preprocessing and annotator hold. A video whose
 * working set and one picture in flight exceed the whole budget is refused
 * now, with one line, rather than let it take the machine's memory. */
static int reserve_working_set(vs_decode_stage *stage, decoder *d, vs_video *video, vs_error *err)
{
    const AVCodecParameters *par = vs_reader_parameters(&d->reader);
    int64_t picture =
        par->format >= 0 ? av_image_get_buffer_size(par->format, par->width, par->height, 64) : 0;
    if (picture <= 0)
        picture = (int64_t)par->width * par->height * 4; /* unknown format: the widest common */
    int pictures = stage->working_set_pictures;
    if (stage->annotator_pictures)
        pictures += stage->annotator_pictures(par->width, par->height);
    int64_t working_set = picture * pictures;
    if (!vs_budget_fits(stage->budget, working_set + picture))
        return vs_fail(err, VS_ENOMEM,
                       "%s: its %dx%d pictures take %.0f MiB each, and decoding and analysing "
                       "it needs %.0f MiB at that size, more than the memory budget of %.0f MiB "
                       "(--memory-budget)",
                       VS_NAME(video->path), par->width, par->height, mib(picture),
                       mib(working_set + picture), mib(stage->budget->limit));
    take_budget(stage, working_set);
    d->working_set_bytes = working_set;
    return VS_OK;
}

/* Bytes of pixels a decoded picture holds (its buffers, padding included). */
static int64_t picture_bytes(const AVFrame *picture)
{
    int64_t bytes = 0;
    for (int i = 0; i < AV_NUM_DATA_POINTERS && picture->buf[i]; i++)
        bytes += (int64_t)picture->buf[i]->size;
    return bytes;
}

/* Copies a picture NVDEC left in GPU memory to the host unless it may stay
 * there: only the model reads it, and it needs no turning (core/hwaccel.h). */
static int to_host_unless_kept(const vs_decode_stage *stage, decoder *d, const vs_video *video,
                               vs_error *err)
{
    if (stage->keep_on_gpu && video->rotation == 0 && vs_hwaccel_on_device_nv12(d->scratch))
        return VS_OK;
    return vs_hwaccel_download(d->scratch, d->spare, video->path, err);
}

/* Sends one decoded picture on (or lets it go when no stage needs it). */
static int emit_picture(vs_decode_stage *stage, decoder *d, vs_video *video, vs_error *err)
{
    AVFrame *picture = d->scratch;
    int64_t index = video->frames_decoded;
    __atomic_store_n(&video->frames_decoded, index + 1, __ATOMIC_RELAXED);
    int64_t pts = picture->best_effort_timestamp;
    double t_s = vs_reader_time_s(video, pts, index);
    stage->frames_on_gpu += picture->format == AV_PIX_FMT_CUDA;
    /* Thumbnails are made on the CPU; other pictures are copied only once
     * they are known to go on. */
    int status =
        stage->sampling.skip_similar > 0 ? to_host_unless_kept(stage, d, video, err) : VS_OK;
    if (status != VS_OK)
        return status;
    int fate = classify_frame(d, &stage->sampling, index, t_s, picture);
    if (fate == 0 && !stage->sampling.keep_unsampled) {
        av_frame_unref(picture);
        return VS_OK;
    }
    if ((status = to_host_unless_kept(stage, d, video, err)) != VS_OK)
        return status;
    /* A picture bigger than the video's first (a size change mid-way) may
     * not fit beside the working set taken for the first. */
    int64_t bytes = picture_bytes(picture);
    if (!vs_budget_fits(stage->budget, d->working_set_bytes + bytes)) {
        av_frame_unref(picture);
        return vs_fail(err, VS_ENOMEM,
                       "%s: frame %lld (%dx%d) takes %.0f MiB, more than the memory budget of "
                       "%.0f MiB leaves beside the video's working set (--memory-budget)",
                       VS_NAME(video->path), (long long)index, picture->width, picture->height,
                       mib(bytes), mib(stage->budget->limit));
    }
    take_budget(stage, bytes);
    vs_frame *frame = vs_pool_get(stage->frames);
    if (!frame) {
        vs_budget_give(stage->budget, bytes);
        return VS_EINTR;
    }
    frame->budget = stage->budget;
    frame->budget_bytes = bytes;
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->index = index;
    frame->pts = pts;
    frame->pts_ms = (int64_t)llround(t_s * 1000.0);
    frame->analysed = fate == 1;
    frame->carried = fate == 2;
    frame->detection_count = 0;
    video->frames_analysed += fate == 1;
    av_frame_move_ref(frame->picture, picture);
    return vs_queue_push(stage->out, frame);
}

/* A signal, or a store that can record nothing more: decoding on would be
 * wasted work (hours of it, on a long run whose disk filled up). */
static int stopping(const vs_decode_stage *stage)
{
    return *stage->stop || __atomic_load_n(stage->halt, __ATOMIC_RELAXED);
}

static int decode_video(vs_decode_stage *stage, decoder *d, vs_video *video, vs_error *err)
{
    int status =
        vs_reader_open_hw(&d->reader, video->path, stage->codec_threads, stage->hwaccel, err);
    if (status != VS_OK)
        return status;
    vs_reader_describe(&d->reader, video);
    if (!(d->scratch = av_frame_alloc()) || !(d->spare = av_frame_alloc()))
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(video->path));
    if ((status = reserve_working_set(stage, d, video, err)) != VS_OK)
        return status;
    if ((status = send_marker(stage, video, VS_FRAME_VIDEO_START, 0)) != VS_OK)
        return status;
    for (;;) {
        if (stopping(stage))
            return VS_EINTR;
        /* Decode time per frame: waiting on a full pipeline is not in it. */
        double started = vs_now_ms();
        status = vs_reader_next(&d->reader, d->scratch, err);
        if (status == VS_EOF)
            break;
        if (status != VS_OK)
            return status;
        vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
        if ((status = emit_picture(stage, d, video, err)) != VS_OK)
            return status;
    }
    if (video->frames_decoded == 0)
        return vs_fail(err, VS_EINVAL, "%s: no frame could be decoded", VS_NAME(video->path));
    if (video->frames_expected > 0 && video->frames_decoded < video->frames_expected * 9 / 10)
        return vs_fail(err, VS_EIO, "%s: truncated: decoded %lld of %lld frames",
                       VS_NAME(video->path), (long long)video->frames_decoded,
                       (long long)video->frames_expected);
    int corrupt_packets = d->reader.corrupt_packets;
    if (corrupt_packets > 0 && video->frames_decoded < corrupt_packets)
        return vs_fail(err, VS_EIO, "%s: %d corrupt packets", VS_NAME(video->path),
                       corrupt_packets);
    return VS_OK;
}

void *vs_decode_thread(void *arg)
{
    vs_decode_stage *stage = arg;
    for (;;) {
        if (stopping(stage))
            break;
        vs_video *video = stage->source->next(stage->source);
        if (!video)
            break;
        if (video->status == VS_VIDEO_SKIPPED)
            continue;
        if (video->status == VS_VIDEO_FAILED) {
            /* Failed by the scan (a FIFO, a device, a missing path): never
             * opened, yet its END marker lets the sinks record why. */
            if (send_marker(stage, video, VS_FRAME_VIDEO_END, 0) != VS_OK)
                break;
            continue;
        }
        decoder d = {0};
        int status = decode_video(stage, &d, video, &video->error);
        int64_t working_set = d.working_set_bytes; /* given back when the sink is done */
        close_video(&d);
        __atomic_store_n(&video->status,
                         status == VS_OK      ? VS_VIDEO_DONE
                         : status == VS_EINTR ? VS_VIDEO_INTERRUPTED
                                              : VS_VIDEO_FAILED,
                         __ATOMIC_RELAXED);
        if (status == VS_EINTR)
            vs_fail(&video->error, VS_EINTR, "%s: interrupted", VS_NAME(video->path));
        /* Every video gets an END marker, even one that never opened, so the
         * sinks can record its failure in order. */
        if (send_marker(stage, video, VS_FRAME_VIDEO_END, working_set) != VS_OK)
            break;
    }
    return NULL; /* the stage table closes stage->out once every decoder is done */
}
