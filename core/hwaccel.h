/* hwaccel.h: decoding on the GPU through FFmpeg's NVDEC support (--hwaccel).
 *
 * A run opens one CUDA device context before any decoder starts; every
 * decoder takes a reference to it. Opening it is where an unusable GPU shows
 * (no driver, no CUDA, an FFmpeg built without it): the run then decodes in
 * software and says so once, in the note that report.json ("decode") and the
 * terminal summary carry. A video whose codec or profile NVDEC cannot take
 * (FFmpeg offers no CUDA format for it) is decoded in software, silently, as
 * FFmpeg's get_format negotiation allows.
 *
 * A hardware-decoded picture lives in GPU memory (AV_PIX_FMT_CUDA, NV12). It
 * stays there when only the model reads it (preprocessing with torch on the
 * device, core/preprocess.c); a stage that reads pixels on the CPU (swscale
 * preprocessing, annotation, snapshots, --skip-similar thumbnails, a turned
 * picture) gets it downloaded once, in the decoder's thread, before it is
 * sent on (vs_hwaccel_download). */
#ifndef VS_HWACCEL_H
#define VS_HWACCEL_H

#include "vs_error.h"

struct AVBufferRef;
struct AVCodecContext;
struct AVFrame;

typedef enum vs_hwaccel_mode {
    VS_HWACCEL_AUTO, /* NVDEC when the model runs on CUDA, else software */
    VS_HWACCEL_NONE, /* software */
    VS_HWACCEL_CUDA, /* NVDEC whatever the model's device (falls back with a note) */
} vs_hwaccel_mode;

typedef struct vs_hwaccel {
    struct AVBufferRef *device; /* the CUDA device context; NULL: software decoding */
    char note[200];             /* why asked-for NVDEC is not used; "" otherwise */
} vs_hwaccel;

/* "auto", "none" or "cuda" into *mode; VS_EINVAL with a message otherwise. */
int vs_hwaccel_parse(const char *text, vs_hwaccel_mode *mode, vs_error *err);
const char *vs_hwaccel_mode_name(vs_hwaccel_mode mode);

/* Opens the device mode asks for. model_on_cuda and cuda_index: where the
 * model runs (auto follows it; NVDEC decodes on the model's GPU). Never
 * fails: when the device cannot be opened, hw->device stays NULL and
 * hw->note says why, in one line. */
void vs_hwaccel_open(vs_hwaccel *hw, vs_hwaccel_mode mode, int model_on_cuda, int cuda_index);
void vs_hwaccel_close(vs_hwaccel *hw);

/* Lets codec (allocated, not yet opened) decode on hw's device when FFmpeg
 * has an NVDEC configuration for its codec. Returns 1 when attached. */
int vs_hwaccel_attach(const vs_hwaccel *hw, struct AVCodecContext *codec);

/* 1 when picture is in GPU memory in the layout preprocessing on the device
 * reads (NV12), so that it may stay there. */
int vs_hwaccel_on_device_nv12(const struct AVFrame *picture);

/* Replaces a picture in GPU memory by its copy in host memory (NV12, its
 * properties kept); a picture in host memory is left as it is. spare: an
 * empty frame the function may use. path names the video in a message. */
int vs_hwaccel_download(struct AVFrame *picture, struct AVFrame *spare, const char *path,
                        vs_error *err);

#endif
