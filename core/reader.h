/* reader.h: the one FFmpeg demux + decode loop of vidsift. The decode stage
 * (core/decode.c), the sequential baseline (core/sequential.c) and
 * `vidsift bench` all read videos through it, so a benchmark figure is the
 * figure of the code users run.
 *
 *     vs_reader reader;
 *     if (vs_reader_open(&reader, video->path, codec_threads, err) == VS_OK) {
 *         vs_reader_describe(&reader, video);
 *         while ((status = vs_reader_next(&reader, picture, err)) == VS_OK)
 *             ... use picture, then av_frame_unref(picture) ...
 *     }
 *     vs_reader_close(&reader);   (also after a failed open)
 *
 * Frames come in presentation order, as FFmpeg's decoder returns them. A
 * corrupt packet is left to the decoder to conceal and counted; a read error
 * mid-file (a truncated file) first hands out what was already decoded, then
 * fails. Every message names the input video, escaped (VS_NAME). Sampling,
 * memory budget and queues are not the reader's business: they stay with
 * the decode stage. */
#ifndef VS_READER_H
#define VS_READER_H

#include <stdint.h>

#include "frame.h"
#include "hwaccel.h"
#include "vs_error.h"

struct AVFormatContext;
struct AVCodecContext;
struct AVCodecParameters;
struct AVPacket;

typedef struct vs_reader {
    const char *path;               /* the input video, for messages; the caller's string */
    struct AVFormatContext *format; /* demuxer; NULL before open and after close */
    struct AVCodecContext *codec;   /* the video stream's decoder */
    struct AVPacket *packet;        /* reused for every packet read */
    int stream_index;               /* the video stream, in format->streams */
    int draining;        /* the demuxer is at its end (or failed): the decoder is being flushed */
    int read_error;      /* the AVERROR that ended demuxing early, 0 at a clean end */
    int corrupt_packets; /* packets the decoder refused (it conceals them) */
    int on_gpu;          /* the decoder was given the CUDA device (vs_reader_open_hw) */
} vs_reader;

/* Opens path's best video stream with codec_threads FFmpeg codec threads
 * (0: FFmpeg's choice; the pipeline's count is vs_plan_codec_threads). Fails
 * with one line naming the video: unreadable, no video stream, a still image,
 * no decoder for its codec. vs_reader_close must follow either way. */
int vs_reader_open(vs_reader *reader, const char *path, int codec_threads, vs_error *err);

/* The same, decoding with NVDEC on hwaccel's device when it is open and
 * FFmpeg has an NVDEC configuration for the codec (reader->on_gpu); its
 * pictures may then be in GPU memory (core/hwaccel.h). NULL: software. */
int vs_reader_open_hw(vs_reader *reader, const char *path, int codec_threads,
                      const vs_hwaccel *hwaccel, vs_error *err);

/* What the open file says about itself, written into video: container,
 * codec, coded size, display rotation, frame rate, duration, expected frames
 * (atomic: the progress display reads it meanwhile), time base, audio. */
void vs_reader_describe(const vs_reader *reader, vs_video *video);

/* The video stream's parameters (pixel format and size before any frame is
 * decoded: what the decode stage reserves memory for). */
const struct AVCodecParameters *vs_reader_parameters(const vs_reader *reader);

/* The next decoded picture into picture (which must be empty): VS_OK, VS_EOF
 * after the last one, or an error naming the video (decoding failed, or the
 * read error that cut the file short, once the frames before it are out). */
int vs_reader_next(vs_reader *reader, struct AVFrame *picture, vs_error *err);

/* Frees what open allocated; safe on a reader that failed to open or is
 * closed already. */
void vs_reader_close(vs_reader *reader);

/* A picture's time in seconds from its timestamp pts in the video's time
 * base, or from its index and the frame rate when it has none. */
double vs_reader_time_s(const vs_video *video, int64_t pts, int64_t index);

#endif
