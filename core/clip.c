/* clip.c: small video files for measurements and tests (see clip.h): a
 * stream copy of a clip's first frames, and a synthetic clip. FFmpeg only;
 * nothing here decodes. */
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "clip.h"

static int av_fail(vs_error *err, const char *path, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof reason);
    return vs_fail(err, VS_EIO, "%s: %s: %s", VS_NAME(path), what, reason);
}

int vs_clip_copy_prefix(const char *src, const char *dst, int max_frames, vs_error *err)
{
    AVFormatContext *in = NULL, *out = NULL;
    AVPacket *packet = av_packet_alloc();
    int status = VS_OK, averr;
    if (!packet)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(src));
    if ((averr = avformat_open_input(&in, src, NULL, NULL)) < 0) {
        status = av_fail(err, src, "cannot open", averr);
        goto done;
    }
    if ((averr = avformat_find_stream_info(in, NULL)) < 0) {
        status = av_fail(err, src, "cannot read stream info", averr);
        goto done;
    }
    int video = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (video < 0) {
        status = vs_fail(err, VS_EINVAL, "%s: no video stream", VS_NAME(src));
        goto done;
    }
    AVStream *in_stream = in->streams[video];
    if ((averr = avformat_alloc_output_context2(&out, NULL, "matroska", dst)) < 0) {
        status = av_fail(err, dst, "cannot create", averr);
        goto done;
    }
    AVStream *out_stream = avformat_new_stream(out, NULL);
    if (!out_stream || avcodec_parameters_copy(out_stream->codecpar, in_stream->codecpar) < 0) {
        status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(dst));
        goto done;
    }
    out_stream->codecpar->codec_tag = 0;
    out_stream->time_base = in_stream->time_base;
    out_stream->avg_frame_rate = in_stream->avg_frame_rate;
#if LIBAVFORMAT_VERSION_INT < AV_VERSION_INT(60, 15, 100)
    /* The display matrix (phone clips are often rotated) is stream side data here;
     * later FFmpeg carries it in codecpar, which the copy above already took. */
    for (int i = 0; i < in_stream->nb_side_data; i++) {
        const AVPacketSideData *side = &in_stream->side_data[i];
        uint8_t *data = av_stream_new_side_data(out_stream, side->type, side->size);
        if (data)
            memcpy(data, side->data, side->size);
    }
#endif
    if ((averr = avio_open(&out->pb, dst, AVIO_FLAG_WRITE)) < 0) {
        status = av_fail(err, dst, "cannot create", averr);
        goto done;
    }
    if ((averr = avformat_write_header(out, NULL)) < 0) {
        status = av_fail(err, dst, "cannot write the header", averr);
        goto done;
    }
    int copied = 0;
    while ((max_frames <= 0 || copied < max_frames) && (averr = av_read_frame(in, packet)) >= 0) {
        if (packet->stream_index == video) {
            packet->stream_index = 0;
            av_packet_rescale_ts(packet, in_stream->time_base, out_stream->time_base);
            packet->pos = -1;
            if ((averr = av_interleaved_write_frame(out, packet)) < 0) {
                status = av_fail(err, dst, "cannot write", averr);
                break;
            }
            copied++;
        }
        av_packet_unref(packet);
    }
    if (status == VS_OK && (averr = av_write_trailer(out)) < 0)
        status = av_fail(err, dst, "cannot finish", averr);
    if (status == VS_OK && copied == 0)
        status = vs_fail(err, VS_EINVAL, "%s: no video packet", VS_NAME(src));
done:
    av_packet_free(&packet);
    avformat_close_input(&in);
    if (out) {
        avio_closep(&out->pb);
        avformat_free_context(out);
    }
    return status;
}

int vs_clip_generate(const char *path, int width, int height, int frames, vs_error *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec)
        return vs_fail(err, VS_EINVAL,
                       "no clip to benchmark: forensics-samples-files is not installed "
                       "(apt-get install forensics-samples-files) and this FFmpeg has neither "
                       "libx264 nor mpeg4 to generate one; give VIDEO arguments");
    AVFormatContext *out = NULL;
    AVCodecContext *encoder = NULL;
    AVFrame *picture = av_frame_alloc();
    AVPacket *packet = av_packet_alloc();
    int status = VS_OK, averr;
    if (!picture || !packet) {
        status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
        goto done;
    }
    if ((averr = avformat_alloc_output_context2(&out, NULL, "matroska", path)) < 0) {
        status = av_fail(err, path, "cannot create", averr);
        goto done;
    }
    encoder = avcodec_alloc_context3(codec);
    AVStream *stream = avformat_new_stream(out, NULL);
    if (!encoder || !stream) {
        status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
        goto done;
    }
    encoder->width = width;
    encoder->height = height;
    encoder->pix_fmt = AV_PIX_FMT_YUV420P;
    encoder->time_base = (AVRational){1, 25};
    encoder->framerate = (AVRational){25, 1};
    encoder->gop_size = 25;
    encoder->max_b_frames = 2;
    encoder->bit_rate = 4000000;
    if (out->oformat->flags & AVFMT_GLOBALHEADER)
        encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(codec->name, "libx264"))
        av_opt_set(encoder->priv_data, "preset", "veryfast", 0);
    if ((averr = avcodec_open2(encoder, codec, NULL)) < 0) {
        status = av_fail(err, path, "cannot open the encoder", averr);
        goto done;
    }
    avcodec_parameters_from_context(stream->codecpar, encoder);
    stream->time_base = encoder->time_base;
    if ((averr = avio_open(&out->pb, path, AVIO_FLAG_WRITE)) < 0 ||
        (averr = avformat_write_header(out, NULL)) < 0) {
        status = av_fail(err, path, "cannot write", averr);
        goto done;
    }
    picture->format = encoder->pix_fmt;
    picture->width = width;
    picture->height = height;
    if (av_frame_get_buffer(picture, 0) < 0) {
        status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
        goto done;
    }
    for (int i = 0; i <= frames && status == VS_OK; i++) {
        AVFrame *to_send = NULL;
        if (i < frames) {
            if (av_frame_make_writable(picture) < 0) {
                status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
                break;
            }
            /* A diagonal gradient that scrolls, and a bright box that crosses it. */
            int box_x = (i * 17) % (width - width / 4), box_y = height / 3;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) {
                    int inside =
                        x >= box_x && x < box_x + width / 4 && y >= box_y && y < box_y + height / 3;
                    picture->data[0][y * picture->linesize[0] + x] =
                        (uint8_t)(inside ? 235 : (x + y + 4 * i) & 255);
                }
            for (int y = 0; y < height / 2; y++)
                for (int x = 0; x < width / 2; x++) {
                    picture->data[1][y * picture->linesize[1] + x] = (uint8_t)(64 + (x + i) % 128);
                    picture->data[2][y * picture->linesize[2] + x] = (uint8_t)(64 + (y + i) % 128);
                }
            picture->pts = i;
            to_send = picture;
        }
        if ((averr = avcodec_send_frame(encoder, to_send)) < 0) {
            status = av_fail(err, path, "encoding failed", averr);
            break;
        }
        while ((averr = avcodec_receive_packet(encoder, packet)) == 0) {
            av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
            packet->stream_index = 0;
            if ((averr = av_interleaved_write_frame(out, packet)) < 0) {
                status = av_fail(err, path, "cannot write", averr);
                break;
            }
        }
    }
    if (status == VS_OK && (averr = av_write_trailer(out)) < 0)
        status = av_fail(err, path, "cannot finish", averr);
done:
    av_frame_free(&picture);
    av_packet_free(&packet);
    avcodec_free_context(&encoder);
    if (out) {
        avio_closep(&out->pb);
        avformat_free_context(out);
    }
    return status;
}
