/* hwaccel.c: NVDEC decoding through FFmpeg's CUDA device context; see hwaccel.h. */
#include "hwaccel.h"

#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>

/* AV_CUDA_USE_PRIMARY_CONTEXT of libavutil/hwcontext_cuda.h, which includes
 * cuda.h (not installed where vidsift builds without CUDA). The primary
 * context is the one libtorch uses: a picture NVDEC leaves in GPU memory is
 * then readable by the model's stream without a copy between contexts. */
#define VS_AV_CUDA_USE_PRIMARY_CONTEXT (1 << 0)

static const char *const mode_names[] = {"auto", "none", "cuda"};

int vs_hwaccel_parse(const char *text, vs_hwaccel_mode *mode, vs_error *err)
{
    for (int i = 0; i < 3; i++)
        if (text && !strcmp(text, mode_names[i])) {
            *mode = (vs_hwaccel_mode)i;
            return VS_OK;
        }
    return vs_fail(err, VS_EINVAL, "--hwaccel: unknown value \"%s\" (expected auto, none or cuda)",
                   text ? text : "");
}

const char *vs_hwaccel_mode_name(vs_hwaccel_mode mode)
{
    return mode >= VS_HWACCEL_AUTO && mode <= VS_HWACCEL_CUDA ? mode_names[mode] : "?";
}

void vs_hwaccel_open(vs_hwaccel *hw, vs_hwaccel_mode mode, int model_on_cuda, int cuda_index)
{
    memset(hw, 0, sizeof *hw);
    if (mode == VS_HWACCEL_NONE || (mode == VS_HWACCEL_AUTO && !model_on_cuda))
        return;
    char index[16];
    snprintf(index, sizeof index, "%d", cuda_index > 0 ? cuda_index : 0);
    int averr = av_hwdevice_ctx_create(&hw->device, AV_HWDEVICE_TYPE_CUDA, index, NULL,
                                       VS_AV_CUDA_USE_PRIMARY_CONTEXT);
    if (averr < 0) {
        char reason[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(averr, reason, sizeof reason);
        snprintf(hw->note, sizeof hw->note,
                 "--hwaccel %s: no CUDA device %s for NVDEC (%s); decoding in software",
                 vs_hwaccel_mode_name(mode), index, reason);
        hw->device = NULL;
    }
}

void vs_hwaccel_close(vs_hwaccel *hw)
{
    av_buffer_unref(&hw->device);
}

/* FFmpeg offers the formats it can decode this stream to, hardware first:
 * CUDA when NVDEC takes the stream, else the software format. */
static enum AVPixelFormat pick_cuda(AVCodecContext *codec, const enum AVPixelFormat *formats)
{
    for (const enum AVPixelFormat *f = formats; *f != AV_PIX_FMT_NONE; f++)
        if (*f == AV_PIX_FMT_CUDA)
            return *f;
    return avcodec_default_get_format(codec, formats);
}

int vs_hwaccel_attach(const vs_hwaccel *hw, AVCodecContext *codec)
{
    if (!hw || !hw->device || !codec->codec)
        return 0;
    for (int i = 0;; i++) {
        const AVCodecHWConfig *config = avcodec_get_hw_config(codec->codec, i);
        if (!config)
            return 0;
        if (config->device_type == AV_HWDEVICE_TYPE_CUDA &&
            (config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX))
            break;
    }
    codec->hw_device_ctx = av_buffer_ref(hw->device);
    if (!codec->hw_device_ctx)
        return 0;
    codec->get_format = pick_cuda;
    return 1;
}

int vs_hwaccel_on_device_nv12(const AVFrame *picture)
{
    if (picture->format != AV_PIX_FMT_CUDA || !picture->hw_frames_ctx)
        return 0;
    const AVHWFramesContext *frames = (const AVHWFramesContext *)picture->hw_frames_ctx->data;
    return frames->sw_format == AV_PIX_FMT_NV12;
}

int vs_hwaccel_download(AVFrame *picture, AVFrame *spare, const char *path, vs_error *err)
{
    if (picture->format != AV_PIX_FMT_CUDA)
        return VS_OK;
    av_frame_unref(spare);
    int averr = av_hwframe_transfer_data(spare, picture, 0);
    if (averr >= 0)
        averr = av_frame_copy_props(spare, picture);
    if (averr < 0) {
        av_frame_unref(spare);
        char reason[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(averr, reason, sizeof reason);
        return vs_fail(err, VS_EIO, "%s: cannot copy a decoded picture from the GPU: %s",
                       VS_NAME(path), reason);
    }
    av_frame_unref(picture);
    av_frame_move_ref(picture, spare);
    return VS_OK;
}
