/* reader.c: the one FFmpeg demux + decode loop (see reader.h). It owns the
 * video's FFmpeg contexts from open to close and nothing else: no queue, no
 * sampling, no budget, no thread of its own beside the codec's. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>

#include "reader.h"

static int av_fail(vs_error *err, const char *path, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof reason);
    return vs_fail(err, VS_EIO, "%s: %s: %s", VS_NAME(path), what, reason);
}

/* The clockwise turn (0, 90, 180, 270) a player applies to the stream's
 * pictures: its display matrix, rounded to a quarter turn. */
static int stream_rotation(const AVStream *stream)
{
    const uint8_t *matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!matrix)
        return 0;
    double degrees = -av_display_rotation_get((const int32_t *)matrix);
    int rotation = (int)lround(degrees / 90.0) * 90 % 360;
    return rotation < 0 ? rotation + 360 : rotation;
}

int vs_reader_open(vs_reader *reader, const char *path, int codec_threads, vs_error *err)
{
    return vs_reader_open_hw(reader, path, codec_threads, NULL, err);
}

int vs_reader_open_hw(vs_reader *reader, const char *path, int codec_threads,
                      const vs_hwaccel *hwaccel, vs_error *err)
{
    memset(reader, 0, sizeof *reader);
    reader->path = path;
    int averr = avformat_open_input(&reader->format, path, NULL, NULL);
    if (averr < 0)
        return av_fail(err, path, "cannot open", averr);
    if ((averr = avformat_find_stream_info(reader->format, NULL)) < 0)
        return av_fail(err, path, "cannot read stream info", averr);
    const AVCodec *codec = NULL;
    reader->stream_index =
        av_find_best_stream(reader->format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (reader->stream_index < 0)
        return vs_fail(err, VS_EINVAL, "%s: no video stream", VS_NAME(path));
    AVStream *stream = reader->format->streams[reader->stream_index];
    if (stream->disposition & AV_DISPOSITION_ATTACHED_PIC ||
        !strncmp(reader->format->iformat->name, "image2", 6) ||
        strstr(reader->format->iformat->name, "_pipe"))
        return vs_fail(err, VS_EINVAL, "%s: a still image, not a video", VS_NAME(path));
    if (!codec)
        return vs_fail(err, VS_EINVAL, "%s: no decoder for codec '%s'", VS_NAME(path),
                       avcodec_get_name(stream->codecpar->codec_id));
    reader->codec = avcodec_alloc_context3(codec);
    if (!reader->codec)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory for a decoder", VS_NAME(path));
    avcodec_parameters_to_context(reader->codec, stream->codecpar);
    reader->codec->thread_count = codec_threads;
    reader->codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    reader->on_gpu = vs_hwaccel_attach(hwaccel, reader->codec);
    if ((averr = avcodec_open2(reader->codec, codec, NULL)) < 0)
        return av_fail(err, path, "cannot open the decoder", averr);
    reader->packet = av_packet_alloc();
    if (!reader->packet)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
    return VS_OK;
}

void vs_reader_describe(const vs_reader *reader, vs_video *video)
{
    assert(reader->format && reader->codec); /* opened */
    const AVStream *stream = reader->format->streams[reader->stream_index];
    snprintf(video->container, sizeof video->container, "%s", reader->format->iformat->name);
    snprintf(video->codec, sizeof video->codec, "%s", reader->codec->codec->name);
    video->width = stream->codecpar->width;
    video->height = stream->codecpar->height;
    video->rotation = stream_rotation(stream);
    AVRational rate = stream->avg_frame_rate.num ? stream->avg_frame_rate : stream->r_frame_rate;
    video->fps = rate.num && rate.den ? av_q2d(rate) : 0;
    video->duration_s =
        reader->format->duration > 0 ? reader->format->duration / (double)AV_TIME_BASE : 0;
    /* Read meanwhile by the progress display: an atomic store. */
    __atomic_store_n(&video->frames_expected, stream->nb_frames, __ATOMIC_RELAXED);
    video->time_base_num = stream->time_base.num;
    video->time_base_den = stream->time_base.den;
    video->has_audio =
        av_find_best_stream(reader->format, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
}

const struct AVCodecParameters *vs_reader_parameters(const vs_reader *reader)
{
    assert(reader->format); /* opened */
    return reader->format->streams[reader->stream_index]->codecpar;
}

/* Feeds the decoder the next packet of the video stream, or starts its
 * flush at the end of the file (or at a read error, kept for later). */
static void feed_decoder(vs_reader *reader)
{
    int averr = av_read_frame(reader->format, reader->packet);
    if (averr < 0) {
        reader->draining = 1;
        reader->read_error = averr == AVERROR_EOF ? 0 : averr;
        avcodec_send_packet(reader->codec, NULL);
        return;
    }
    if (reader->packet->stream_index == reader->stream_index) {
        averr = avcodec_send_packet(reader->codec, reader->packet);
        if (averr < 0 && averr != AVERROR(EAGAIN))
            reader->corrupt_packets++; /* the decoder conceals; the decode stage judges the count */
    }
    av_packet_unref(reader->packet);
}

int vs_reader_next(vs_reader *reader, struct AVFrame *picture, vs_error *err)
{
    assert(reader->codec); /* opened */
    for (;;) {
        int averr = avcodec_receive_frame(reader->codec, picture);
        if (averr == 0)
            return VS_OK;
        if (averr == AVERROR_EOF || (averr == AVERROR(EAGAIN) && reader->draining)) {
            if (reader->read_error)
                return av_fail(err, reader->path, "read error", reader->read_error);
            return VS_EOF;
        }
        if (averr != AVERROR(EAGAIN))
            return av_fail(err, reader->path, "decoding failed", averr);
        feed_decoder(reader);
    }
}

void vs_reader_close(vs_reader *reader)
{
    avcodec_free_context(&reader->codec);
    avformat_close_input(&reader->format);
    av_packet_free(&reader->packet);
    memset(reader, 0, sizeof *reader);
}

double vs_reader_time_s(const vs_video *video, int64_t pts, int64_t index)
{
    if (pts != AV_NOPTS_VALUE && video->time_base_den)
        return pts * av_q2d((AVRational){video->time_base_num, video->time_base_den});
    return video->fps > 0 ? index / video->fps : 0;
}
