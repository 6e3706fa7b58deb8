/* scaler.c: swscale contexts keyed on all they depend on; see scaler.h. */
#include "scaler.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

int vs_picture_full_range(const struct AVFrame *picture)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(picture->format);
    if (desc && !strncmp(desc->name, "yuvj", 4))
        return 1;
    return picture->color_range == AVCOL_RANGE_JPEG;
}

/* The yuvj formats are their yuv twins at full range; handing swscale the
 * twin (with the range set below) spares a "deprecated pixel format"
 * warning, and is what an initialised context does to them anyway. */
static int unjpeg(int format)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
    if (!desc || strncmp(desc->name, "yuvj", 4))
        return format;
    char twin[32];
    snprintf(twin, sizeof twin, "yuv%s", desc->name + 4);
    int twin_format = av_get_pix_fmt(twin);
    return twin_format != AV_PIX_FMT_NONE ? twin_format : format;
}

/* swscale's coefficient table for a picture's matrix; untagged pictures get
 * BT.601, as the ffmpeg CLI gives them. */
const int *vs_scaler_matrix(int colorspace)
{
    switch (colorspace) {
    case AVCOL_SPC_BT709: return sws_getCoefficients(SWS_CS_ITU709);
    case AVCOL_SPC_FCC: return sws_getCoefficients(SWS_CS_FCC);
    case AVCOL_SPC_SMPTE240M: return sws_getCoefficients(SWS_CS_SMPTE240M);
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return sws_getCoefficients(SWS_CS_BT2020);
    default: return sws_getCoefficients(SWS_CS_DEFAULT);
    }
}

static int same_key(const vs_scaler *a, const vs_scaler *b)
{
    return a->src_width == b->src_width && a->src_height == b->src_height &&
           a->src_format == b->src_format && a->src_full_range == b->src_full_range &&
           a->src_colorspace == b->src_colorspace && a->dst_width == b->dst_width &&
           a->dst_height == b->dst_height && a->dst_format == b->dst_format &&
           a->flags == b->flags && a->dst_full_range == b->dst_full_range;
}

struct SwsContext *vs_scaler_get(vs_scaler *s, const struct AVFrame *picture, int dst_width,
                                 int dst_height, int dst_format, int flags)
{
    const AVPixFmtDescriptor *dst_desc = av_pix_fmt_desc_get(dst_format);
    int dst_rgb = dst_desc && (dst_desc->flags & AV_PIX_FMT_FLAG_RGB);
    vs_scaler key = {
        .context = s->context,
        .src_width = picture->width,
        .src_height = picture->height,
        .src_format = picture->format,
        .src_full_range = vs_picture_full_range(picture),
        .src_colorspace = picture->colorspace,
        .dst_width = dst_width,
        .dst_height = dst_height,
        .dst_format = dst_format,
        .flags = flags,
        .dst_full_range = dst_rgb,
    };
    if (s->context && same_key(s, &key))
        return s->context;
    vs_scaler_free(s);
    key.context = sws_getContext(picture->width, picture->height, unjpeg(picture->format),
                                 dst_width, dst_height, dst_format, flags, NULL, NULL, NULL);
    if (!key.context)
        return NULL;
    /* Explicit, so that nothing of an earlier picture's setting survives.
     * RGB sources ignore the matrix; swscale says so by returning -1. */
    const int *source_matrix = vs_scaler_matrix(key.src_colorspace);
    sws_setColorspaceDetails(key.context, source_matrix, key.src_full_range,
                             dst_rgb ? sws_getCoefficients(SWS_CS_DEFAULT) : source_matrix,
                             key.dst_full_range, 0, 1 << 16, 1 << 16);
    *s = key;
    return s->context;
}

void vs_scaler_free(vs_scaler *s)
{
    sws_freeContext(s->context);
    memset(s, 0, sizeof *s);
}
