/* snapshot.c: thumbnails and best crops per class (see snapshot.h).
 *
 * Owns, per video: a copy of the first analysed picture (the thumbnail to
 * be) and, per class seen, a copy of the region of its best detection so
 * far, each in the picture's own pixel format. A frame only compares scores
 * and copies rows of bytes; a buffer is (re)allocated only when a crop is
 * bigger than any kept before for its class. Memory is bounded by one
 * picture per class seen plus the thumbnail.
 *
 * Everything costly waits for close: conversion to RGB (with the colour
 * matrix and range the picture was tagged with), scaling of the thumbnail,
 * rotation upright, JPEG encoding, the files and their rows in the store.
 * It must never touch the pipeline's picture, never allocate per frame in
 * steady state, and never leave a JPEG under its final name that is not
 * complete. */
#include "snapshot.h"

#include "fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <turbojpeg.h>

#include "manifest.h"
#include "preprocess.h"
#include "store.h"

#define ROW_ALIGN 32 /* bytes: rows that SIMD code reads whole */

/* A rectangle of a picture, in that picture's pixel format. */
typedef struct region {
    uint8_t *buffer; /* av_malloc'ed, capacity bytes, reused while big enough */
    size_t capacity;
    uint8_t *data[4];
    int linesize[4];
    int width, height, format;
    enum AVColorSpace colorspace;
    enum AVColorRange color_range;
    int x, y;            /* its top left corner in the picture (coded pixels) */
    int64_t frame_index; /* of the picture it was copied from */
} region;

typedef struct class_best {
    int present;
    float score;
    region crop;
} class_best;

struct vs_snapshot {
    const vs_video *video;
    char dir[4096];
    const char *const *labels; /* from the last vs_snapshot_frame */
    int failed;                /* a frame failed: nothing is written at close */
    int have_thumb;
    region thumb;     /* the whole first analysed picture */
    class_best *best; /* VS_MAX_CLASSES entries */
    int classes_seen;
};

int vs_snapshot_open(vs_snapshot **out, const vs_video *video, const char *dir, vs_error *err)
{
    *out = NULL;
    vs_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(video->path));
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s", dir) >= sizeof s->dir) {
        free(s);
        return vs_fail(err, VS_EINVAL, "%s: snapshots: snapshot directory path too long",
                       VS_NAME(video->path));
    }
    s->video = video;
    s->best = calloc(VS_MAX_CLASSES, sizeof *s->best);
    if (!s->best) {
        free(s);
        return vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(video->path));
    }
    *out = s;
    return VS_OK;
}

/* Vertical subsampling of plane p: chroma planes (holding component 1 or 2)
 * have fewer rows; luma, alpha and packed planes do not. */
static int plane_shift_h(const AVPixFmtDescriptor *desc, int plane)
{
    for (int c = 1; c <= 2 && c < desc->nb_components; c++)
        if (desc->comp[c].plane == plane && desc->comp[0].plane != plane)
            return desc->log2_chroma_h;
    return 0;
}

/* Copies [x0, x1) x [y0, y1) of picture into r, widened outward to whole
 * chroma samples. Allocates only when r's buffer is too small. */
static int copy_region(vs_snapshot *s, region *r, const AVFrame *picture, int x0, int y0, int x1,
                       int y1, vs_error *err)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(picture->format);
    if (!desc || (desc->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)))
        return vs_fail(err, VS_EINVAL, "%s: snapshots: cannot take snapshots of %s pictures",
                       VS_NAME(s->video->path), desc ? desc->name : "unknown");
    int step_x = 1 << desc->log2_chroma_w, step_y = 1 << desc->log2_chroma_h;
    x0 -= x0 % step_x;
    y0 -= y0 % step_y;
    x1 = (x1 + step_x - 1) / step_x * step_x;
    y1 = (y1 + step_y - 1) / step_y * step_y;
    x1 = x1 > picture->width ? picture->width : x1;
    y1 = y1 > picture->height ? picture->height : y1;
    int width = x1 - x0, height = y1 - y0;
    int size = av_image_get_buffer_size(picture->format, width, height, ROW_ALIGN);
    if (size < 0)
        return vs_fail(err, VS_EINVAL, "%s: snapshots: cannot take a %dx%d snapshot of %s",
                       VS_NAME(s->video->path), width, height, desc->name);
    if ((size_t)size > r->capacity) {
        av_free(r->buffer);
        r->capacity = 0;
        r->buffer = av_malloc((size_t)size);
        if (!r->buffer)
            return vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(s->video->path));
        r->capacity = (size_t)size;
    }
    av_image_fill_arrays(r->data, r->linesize, r->buffer, picture->format, width, height,
                         ROW_ALIGN);
    for (int p = 0; p < av_pix_fmt_count_planes(picture->format); p++) {
        int shift_h = plane_shift_h(desc, p);
        /* x0 is on a chroma sample: these byte counts are exact per plane. */
        int skip_bytes = av_image_get_linesize(picture->format, x0, p);
        int row_bytes = av_image_get_linesize(picture->format, width, p);
        int rows = -((-height) >> shift_h);
        const uint8_t *source =
            picture->data[p] + (ptrdiff_t)(y0 >> shift_h) * picture->linesize[p] + skip_bytes;
        av_image_copy_plane(r->data[p], r->linesize[p], source, picture->linesize[p], row_bytes,
                            rows);
    }
    if (desc->flags & AV_PIX_FMT_FLAG_PAL)
        memcpy(r->data[1], picture->data[1], AVPALETTE_SIZE);
    r->width = width;
    r->height = height;
    r->x = x0;
    r->y = y0;
    r->format = picture->format;
    r->colorspace = picture->colorspace;
    r->color_range = picture->color_range;
    return VS_OK;
}

int vs_snapshot_frame(vs_snapshot *s, const vs_frame *frame, const char *const *labels,
                      vs_error *err)
{
    const AVFrame *picture = frame->picture;
    if (frame->kind != VS_FRAME_PICTURE || !frame->analysed || !picture || picture->width < 1 ||
        picture->height < 1)
        return VS_OK;
    s->labels = labels;
    int status = VS_OK;
    if (!s->have_thumb) {
        status = copy_region(s, &s->thumb, picture, 0, 0, picture->width, picture->height, err);
        s->thumb.frame_index = frame->index;
        s->have_thumb = status == VS_OK;
    }
    for (int i = 0; i < frame->detection_count && status == VS_OK; i++) {
        const vs_detection *det = &frame->detections[i];
        if (det->class_id < 0 || det->class_id >= VS_MAX_CLASSES)
            continue;
        class_best *best = &s->best[det->class_id];
        if (best->present && det->score <= best->score)
            continue;
        /* Boxes are in source pixels with exclusive x2/y2 edges. */
        int x0 = (int)floorf(det->x1), y0 = (int)floorf(det->y1);
        int x1 = (int)ceilf(det->x2), y1 = (int)ceilf(det->y2);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > picture->width ? picture->width : x1;
        y1 = y1 > picture->height ? picture->height : y1;
        if (x1 <= x0 || y1 <= y0)
            continue; /* off the picture: nothing to show */
        status = copy_region(s, &best->crop, picture, x0, y0, x1, y1, err);
        best->crop.frame_index = frame->index;
        if (status == VS_OK) {
            s->classes_seen += !best->present;
            best->present = 1;
            best->score = det->score;
        }
    }
    if (status != VS_OK)
        s->failed = 1;
    return status;
}

/* ---- at close ---- */

/* An RGB24 image with aligned rows, as TurboJPEG reads it. */
typedef struct rgb_image {
    uint8_t *pixels;
    int width, height, pitch;
} rgb_image;

static int rgb_alloc(rgb_image *image, int width, int height)
{
    image->width = width;
    image->height = height;
    image->pitch = (width * 3 + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    image->pixels = av_malloc((size_t)image->pitch * height);
    return image->pixels ? VS_OK : VS_ENOMEM;
}

/* The yuvj formats are their yuv twins at full range; swscale warns about
 * them ("deprecated pixel format") unless handed the twin and the range. */
static int unjpeg_format(int format, int *full_range)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
    if (!desc || strncmp(desc->name, "yuvj", 4) != 0)
        return format;
    char twin[32];
    snprintf(twin, sizeof twin, "yuv%s", desc->name + 4);
    *full_range = 1;
    return av_get_pix_fmt(twin) != AV_PIX_FMT_NONE ? av_get_pix_fmt(twin) : format;
}

/* Converts (and scales) a region to RGB with the colour matrix and range its
 * picture was tagged with. */
static int region_to_rgb(const vs_snapshot *s, const region *r, int width, int height,
                         rgb_image *out, vs_error *err)
{
    if (rgb_alloc(out, width, height) != VS_OK)
        return vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(s->video->path));
    int full_range = r->color_range == AVCOL_RANGE_JPEG;
    int format = unjpeg_format(r->format, &full_range);
    struct SwsContext *scaler =
        sws_getContext(r->width, r->height, format, width, height, AV_PIX_FMT_RGB24,
                       SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!scaler)
        return vs_fail(err, VS_EIO, "%s: snapshots: cannot convert %s pictures to RGB",
                       VS_NAME(s->video->path), av_get_pix_fmt_name(r->format));
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
        const int *matrix =
            sws_getCoefficients(r->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
        sws_setColorspaceDetails(scaler, matrix, full_range, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                 0, 1 << 16, 1 << 16);
    }
    uint8_t *planes[4] = {out->pixels};
    int pitches[4] = {out->pitch};
    sws_scale(scaler, (const uint8_t *const *)r->data, r->linesize, 0, r->height, planes, pitches);
    sws_freeContext(scaler);
    return VS_OK;
}

/* Turns image upright: rotation is the clockwise turn that displays it. */
static int rotate_upright(const vs_snapshot *s, rgb_image *image, int rotation, vs_error *err)
{
    if (rotation != 90 && rotation != 180 && rotation != 270)
        return VS_OK;
    rgb_image turned;
    int quarter = rotation != 180;
    if (rgb_alloc(&turned, quarter ? image->height : image->width,
                  quarter ? image->width : image->height) != VS_OK)
        return vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(s->video->path));
    vs_rgb_turn_upright(image->pixels, image->width, image->height, (size_t)image->pitch, rotation,
                        turned.pixels, (size_t)turned.pitch);
    av_free(image->pixels);
    *image = turned;
    return VS_OK;
}

/* NAME.part, then rename: a JPEG under its final name is always whole. */
/* Messages name the input video first, then the snapshot file. */
static int write_jpeg(tjhandle compressor, const rgb_image *image, const char *source_path,
                      const char *path, vs_error *err)
{
    unsigned char *jpeg = NULL;
    unsigned long jpeg_size = 0;
    if (tjCompress2(compressor, image->pixels, image->width, image->pitch, image->height, TJPF_RGB,
                    &jpeg, &jpeg_size, TJSAMP_420, VS_SNAPSHOT_QUALITY, 0) != 0) {
        tjFree(jpeg);
        return vs_fail(err, VS_EIO, "%s: snapshot %s: JPEG compression failed: %s",
                       VS_NAME(source_path), VS_NAME(path), tjGetErrorStr2(compressor));
    }
    char part[4300];
    snprintf(part, sizeof part, "%s.part", path);
    FILE *file = fopen(part, "wb");
    int failed = !file || fwrite(jpeg, 1, jpeg_size, file) != jpeg_size;
    int reason = errno;
    if (file && fclose(file) != 0 && !failed) {
        failed = 1;
        reason = errno;
    }
    tjFree(jpeg);
    if (!failed && rename(part, path) != 0) {
        failed = 1;
        reason = errno;
    }
    if (failed) {
        unlink(part);
        return vs_fail(err, VS_EIO, "%s: snapshot %s: cannot write it: %s", VS_NAME(source_path),
                       VS_NAME(path), strerror(reason));
    }
    return VS_OK;
}

/* The file name (without .jpg) of class_id's crop: its label made safe, or
 * class_N when there is none, it is "thumb", or an earlier class took it. */
static void crop_name(const vs_snapshot *s, int class_id, char (*taken)[80], int taken_count,
                      char *name, size_t size)
{
    const char *label = s->labels ? s->labels[class_id] : NULL;
    size_t n = 0;
    for (const char *c = label ? label : ""; *c && n + 1 < size; c++) {
        int keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
        name[n++] = keep ? *c : '_';
    }
    name[n] = 0;
    int unusable = n == 0 || name[0] == '.' || !strcmp(name, "thumb");
    for (int i = 0; i < taken_count && !unusable; i++)
        unusable = !strcmp(taken[i], name);
    if (unusable)
        snprintf(name, size, "class_%d", class_id);
}

/* Converts, turns, encodes and writes one image, then records it. */
static int write_snapshot(vs_snapshot *s, tjhandle compressor, const region *r, int width,
                          int height, const char *name, const char *kind, int class_id,
                          double score, vs_store *store, int64_t video_id, vs_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.jpg", s->dir, name);
    rgb_image image = {0};
    int status = region_to_rgb(s, r, width, height, &image, err);
    if (status == VS_OK)
        status = rotate_upright(s, &image, s->video->rotation, err);
    if (status == VS_OK)
        status = write_jpeg(compressor, &image, s->video->path, path, err);
    av_free(image.pixels);
    /* The box is the region copied, in coded pixels like the detections:
     * the JPEG shows it upright. */
    vs_store_snapshot row = {.kind = kind,
                             .class_id = class_id,
                             .score = score,
                             .path = path,
                             .frame_index = r->frame_index,
                             .x1 = r->x,
                             .y1 = r->y,
                             .x2 = r->x + r->width,
                             .y2 = r->y + r->height};
    if (status == VS_OK && store)
        status = vs_store_add_snapshot(store, video_id, &row, err);
    return status;
}

static int write_all(vs_snapshot *s, vs_store *store, int64_t video_id, vs_error *err)
{
    int status = vs_make_dirs(s->dir, err);
    if (status != VS_OK)
        vs_error_prefix(err, "%s: snapshots", VS_NAME(s->video->path));
    if (status != VS_OK)
        return status;
    tjhandle compressor = tjInitCompress();
    if (!compressor)
        return vs_fail(err, VS_ENOMEM, "%s: snapshots: cannot start the JPEG compressor",
                       VS_NAME(s->video->path));
    /* The thumbnail is VS_SNAPSHOT_THUMB_WIDTH wide as displayed, i.e. after
     * the rotation: a quarter turn scales the coded height to that width. */
    int quarter = s->video->rotation == 90 || s->video->rotation == 270;
    int shown_w = quarter ? s->thumb.height : s->thumb.width;
    int shown_h = quarter ? s->thumb.width : s->thumb.height;
    int thumb_w = VS_SNAPSHOT_THUMB_WIDTH;
    int thumb_h = (int)lrint((double)VS_SNAPSHOT_THUMB_WIDTH * shown_h / shown_w);
    thumb_h = thumb_h < 1 ? 1 : thumb_h;
    status =
        write_snapshot(s, compressor, &s->thumb, quarter ? thumb_h : thumb_w,
                       quarter ? thumb_w : thumb_h, "thumb", "thumb", -1, 0, store, video_id, err);

    char(*taken)[80] = calloc((size_t)s->classes_seen + 1, sizeof *taken);
    int taken_count = 0;
    for (int c = 0; c < VS_MAX_CLASSES && taken; c++) {
        const class_best *best = &s->best[c];
        if (!best->present)
            continue;
        crop_name(s, c, taken, taken_count, taken[taken_count], sizeof taken[0]);
        vs_error crop_error;
        int crop_status = write_snapshot(
            s, compressor, &best->crop, best->crop.width, best->crop.height, taken[taken_count],
            "best", c, best->score, store, video_id, status == VS_OK ? err : &crop_error);
        taken_count++;
        if (status == VS_OK)
            status = crop_status; /* keep the first error, write the rest */
    }
    if (!taken && status == VS_OK)
        status = vs_fail(err, VS_ENOMEM, "%s: snapshots: out of memory", VS_NAME(s->video->path));
    free(taken);
    tjDestroy(compressor);
    return status;
}

int vs_snapshot_close(vs_snapshot *s, vs_store *store, int64_t video_id, vs_error *err)
{
    if (!s)
        return VS_OK;
    int status = VS_OK;
    if (s->have_thumb && !s->failed)
        status = write_all(s, store, video_id, err);
    for (int c = 0; c < VS_MAX_CLASSES; c++)
        av_free(s->best[c].crop.buffer);
    av_free(s->thumb.buffer);
    free(s->best);
    free(s);
    return status;
}
