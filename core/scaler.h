/* scaler.h: a swscale context that is re-made whenever anything it was
 * built from changes.
 *
 * sws_getCachedContext compares only sizes, pixel format and flags, and an
 * initialised context reports a yuvj format as its yuv twin: after a
 * full-range (yuvj420p, MJPEG camera) picture, it would hand the next
 * limited-range yuv420p picture of the same size the full-range context,
 * and the colour range of one video would change the pixels of the next.
 * A vs_scaler keys its context on every property of the source picture
 * that the conversion depends on - size, pixel format, colour range and
 * colour matrix - and on the destination, and sets the matrix and range
 * explicitly, so a conversion depends on the picture alone. */
#ifndef VS_SCALER_H
#define VS_SCALER_H

struct AVFrame;
struct SwsContext;

typedef struct vs_scaler {
    struct SwsContext *context; /* NULL until the first picture */
    /* what context was built for */
    int src_width, src_height, src_format; /* src_format as the picture gives it (yuvj kept) */
    int src_full_range;                    /* 1: 0-255 (JPEG) levels, 0: 16-235 */
    int src_colorspace;                    /* enum AVColorSpace of the picture */
    int dst_width, dst_height, dst_format, flags;
    int dst_full_range;
} vs_scaler;

/* The context converting picture to dst_width x dst_height of dst_format
 * (RGB output is full range; YUV output is limited range, with the
 * picture's matrix), re-made when any input to it differs from the last
 * call. NULL when swscale cannot do the conversion. Allocates only on a
 * change, never per frame in steady state. */
struct SwsContext *vs_scaler_get(vs_scaler *scaler, const struct AVFrame *picture, int dst_width,
                                 int dst_height, int dst_format, int flags);
void vs_scaler_free(vs_scaler *scaler);

/* The colour range a picture's pixels use: 1 full (JPEG), 0 limited. The
 * yuvj formats are full range whatever the tag says. */
int vs_picture_full_range(const struct AVFrame *picture);

/* swscale's YUV-to-RGB table ({crv, cbu, cgu, cgv}, 16.16 fixed point, for
 * limited-range chroma) for a picture's enum AVColorSpace: the one the
 * conversions above use, so that other code can convert as they do.
 * Untagged pictures get BT.601, as the ffmpeg CLI gives them. */
const int *vs_scaler_matrix(int colorspace);

#endif
