/* annotate.c: the annotated-video writer (see annotate.h for what it makes).
 *
 * Owns, per video: an MP4 muxer writing OUT.part, one encoder, one scaler,
 * one YUV420P canvas, one packet for each direction, and a second demuxer on
 * the source that only reads audio. All of it is set up once per video (the
 * encoder with the first picture, whose format it must know); a frame only
 * converts, draws and encodes into what is already there. It must never
 * modify the pipeline's picture (other sinks read it), never leave a file at
 * the final name that is not complete, and never fail a video because of
 * audio it cannot copy (it leaves the audio out and says so in the note).
 *
 * Drawing happens in the encoder's YUV 4:2:0 space: colours are converted
 * with the matrix the video is tagged with (BT.709 or BT.601, limited range),
 * and boxes, tags and glyphs are snapped to even pixels so that each drawn
 * block owns whole chroma samples and stays one clean colour after encoding. */
#include "annotate.h"

#include "fsutil.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "font.h"
#include "manifest.h"

/* 20 colours that stay distinct from each other and from most scenes. */
static const uint8_t palette[][3] = {
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128},
};

/* Canvases the encoder may hold at once (see next_canvas). */
#define CANVAS_RING 8
#define TRAIL_TRACKS 64  /* tracks whose trails are drawn at once */
#define TRAIL_POINTS 16  /* analysed frames a trail shows */
#define ZONE_CLASSES 256 /* classes counted on a zone's tag (the rest are not shown) */

typedef struct yuv_color {
    uint8_t y, u, v;
} yuv_color;

struct vs_annotate {
    char out_path[4096], part_path[4200];
    char source_path[4096];
    char encoder_wanted[32]; /* "" = automatic */
    char note[512];
    AVRational source_time_base;
    double fps;

    AVFormatContext *output; /* muxer; pb open from vs_annotate_open on */
    int header_written;
    AVCodecContext *encoder; /* NULL until the first picture */
    int lean;                /* libx264 with one thread and a short lookahead */
    AVStream *video_stream;
    AVPacket *packet;       /* encoder output, reused */
    int64_t frame_duration; /* in encoder time base */
    int64_t last_pts;       /* in encoder time base; INT64_MIN before the first frame */

    struct SwsContext *scaler;
    int scaler_width, scaler_height, scaler_format; /* source geometry it was built for */
    int scaler_full_range;                          /* and the source's colour range */
    AVFrame *canvases[CANVAS_RING]; /* YUV420P at the encoder's (first picture's) size */
    int canvas_count;
    AVFrame *canvas; /* the one being drawn on: one of canvases */
    int bt709;       /* colour matrix of the canvas */
    int thickness, text_scale;

    uint8_t display_matrix[36]; /* copied from the source's video stream */
    int has_display_matrix;

    AVFormatContext *source; /* second opening of the source, audio only; NULL = no audio */
    int source_audio_index;
    AVStream *audio_stream; /* in output */
    AVPacket *audio_packet; /* read ahead: the next audio packet not yet written */
    int audio_pending, audio_done;
    int failed;  /* an earlier call failed: the encoder state is not usable */
    int skipped; /* the encoder cannot take these pictures: no copy, the note says why */
    /* The last anchors (bottom centres, canvas pixels) of the tracks on screen,
     * drawn as a short trail; a track unseen for a second gives its slot up. */
    struct trail {
        int track_id; /* 0: free */
        int class_id;
        int64_t last_frame;
        int count, head;
        int x[TRAIL_POINTS], y[TRAIL_POINTS];
        /* with a calibration: the points on the ground (metres) and their times */
        double ground_x[TRAIL_POINTS], ground_y[TRAIL_POINTS], time_s[TRAIL_POINTS];
        double speed_kmh; /* over >= VS_SPEED_WINDOW_S; NAN: not known */
    } trails[TRAIL_TRACKS];
    int homography_ready; /* 1: `homography` maps source pixels to the ground; -1: none */
    double homography[9];
    const vs_zones_config *zones; /* NULL: none drawn */
    /* crossings so far per zone, direction and class: zones x 2 x ZONE_CLASSES */
    int64_t *crossed;
};

/* Messages name the input video first, then the annotated copy: a user
 * knows the one, and may look for the other (never for its .part file). */
static int av_failure(vs_error *err, int averror, const vs_annotate *a, const char *doing)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averror, reason, sizeof reason);
    return vs_fail(err, averror == AVERROR(ENOMEM) ? VS_ENOMEM : VS_EIO,
                   "%s: annotated video %s: cannot %s: %s", VS_NAME(a->source_path),
                   VS_NAME(a->out_path), doing, reason);
}

/* mkdir -p of path's directory. */
static int make_parent_dirs(const char *source_path, const char *path, vs_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return VS_OK;
    *slash = 0;
    int status = vs_make_dirs(dir, err);
    if (status != VS_OK)
        vs_error_prefix(err, "%s: annotated video", VS_NAME(source_path));
    return status;
}

void vs_annotate_class_color(int class_id, uint8_t rgb[3])
{
    unsigned index = (unsigned)(class_id < 0 ? -class_id : class_id) %
                     (unsigned)(sizeof palette / sizeof palette[0]);
    memcpy(rgb, palette[index], 3);
}

/* Limited-range Y'CbCr of an sRGB colour, with the video's matrix. */
static yuv_color to_yuv(const uint8_t rgb[3], int bt709)
{
    double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114;
    double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
    double luma = kr * r + (1 - kr - kb) * g + kb * b;
    yuv_color c;
    c.y = (uint8_t)lrint(16 + 219 * luma);
    c.u = (uint8_t)lrint(128 + 224 * (b - luma) / (2 * (1 - kb)));
    c.v = (uint8_t)lrint(128 + 224 * (r - luma) / (2 * (1 - kr)));
    return c;
}

/* Fills [x0, x1) x [y0, y1), clipped to the canvas, with c. */
static void fill_rect(AVFrame *canvas, int x0, int y0, int x1, int y1, yuv_color c)
{
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > canvas->width)
        x1 = canvas->width;
    if (y1 > canvas->height)
        y1 = canvas->height;
    if (x0 >= x1 || y0 >= y1)
        return;
    for (int y = y0; y < y1; y++)
        memset(canvas->data[0] + (ptrdiff_t)y * canvas->linesize[0] + x0, c.y, (size_t)(x1 - x0));
    int cx0 = x0 / 2, cx1 = (x1 + 1) / 2;
    for (int y = y0 / 2; y < (y1 + 1) / 2; y++) {
        memset(canvas->data[1] + (ptrdiff_t)y * canvas->linesize[1] + cx0, c.u,
               (size_t)(cx1 - cx0));
        memset(canvas->data[2] + (ptrdiff_t)y * canvas->linesize[2] + cx0, c.v,
               (size_t)(cx1 - cx0));
    }
}

static void draw_text(AVFrame *canvas, int x, int y, const char *text, int scale, yuv_color c)
{
    for (const char *s = text; *s; s++, x += VS_FONT_ADVANCE * scale) {
        const uint8_t *glyph = vs_font_glyph((unsigned char)*s);
        for (int row = 0; row < VS_FONT_CELL; row++)
            for (int col = 0; col < VS_FONT_CELL; col++)
                if (glyph[row] & (0x80 >> col))
                    fill_rect(canvas, x + col * scale, y + row * scale, x + (col + 1) * scale,
                              y + (row + 1) * scale, c);
    }
}

static int even_down(int v)
{
    return v & ~1;
}

/* A line of squares `t` pixels wide, one every t/2 pixels along it. */
static void draw_line(AVFrame *canvas, int x0, int y0, int x1, int y1, int t, yuv_color c)
{
    int steps = (abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0)) * 2 / (t > 1 ? t : 1);
    for (int i = 0; i <= steps; i++) {
        int x = x0 + (steps ? (x1 - x0) * i / steps : 0),
            y = y0 + (steps ? (y1 - y0) * i / steps : 0);
        fill_rect(canvas, even_down(x - t / 2), even_down(y - t / 2), even_down(x - t / 2) + t,
                  even_down(y - t / 2) + t, c);
    }
}

/* Adds each tracked box's bottom centre to its track's trail, then draws
 * the trails of the tracks seen within the last second. */
static void draw_trails(vs_annotate *a, const vs_frame *frame, double scale_x, double scale_y)
{
    int64_t horizon = a->fps > 0 ? (int64_t)ceil(a->fps) : 30; /* frames in a second */
    for (int i = 0; i < frame->detection_count; i++) {
        const vs_detection *det = &frame->detections[i];
        if (det->track_id <= 0)
            continue;
        struct trail *slot = NULL, *spare = NULL;
        for (int k = 0; k < TRAIL_TRACKS && !slot; k++) {
            struct trail *t = &a->trails[k];
            if (t->track_id == det->track_id)
                slot = t;
            else if (!spare ||
                     (spare->track_id && (!t->track_id || t->last_frame < spare->last_frame)))
                spare = t; /* a free slot, else the one unseen longest */
        }
        if (!slot) {
            slot = spare;
            memset(slot, 0, sizeof *slot);
            slot->track_id = det->track_id;
            slot->speed_kmh = NAN;
        }
        slot->class_id = det->class_id;
        slot->last_frame = frame->index;
        int x = (int)lrint((det->x1 + det->x2) / 2 * scale_x), y = (int)lrint(det->y2 * scale_y);
        int last = (slot->head + TRAIL_POINTS - 1) % TRAIL_POINTS;
        if (slot->count > 0 && slot->x[last] == x && slot->y[last] == y)
            continue; /* a carried frame: the same point */
        slot->x[slot->head] = x;
        slot->y[slot->head] = y;
        if (a->homography_ready == 1) { /* the speed, as core/zones.c measures it */
            double foot[2] = {(det->x1 + det->x2) / 2.0, det->y2}, ground[2];
            vs_homography_apply(a->homography, foot, ground);
            double now = frame->pts_ms / 1000.0;
            slot->speed_kmh = NAN;
            for (int n = 1; n < slot->count; n++) {
                int k = (slot->head - n + TRAIL_POINTS) % TRAIL_POINTS;
                if (now - slot->time_s[k] >= VS_SPEED_WINDOW_S) {
                    slot->speed_kmh =
                        hypot(ground[0] - slot->ground_x[k], ground[1] - slot->ground_y[k]) /
                        (now - slot->time_s[k]) * 3.6;
                    break;
                }
            }
            slot->ground_x[slot->head] = ground[0];
            slot->ground_y[slot->head] = ground[1];
            slot->time_s[slot->head] = now;
        }
        slot->head = (slot->head + 1) % TRAIL_POINTS;
        if (slot->count < TRAIL_POINTS)
            slot->count++;
    }
    for (int k = 0; k < TRAIL_TRACKS; k++) {
        struct trail *slot = &a->trails[k];
        if (!slot->track_id || frame->index - slot->last_frame > horizon) {
            slot->track_id = 0;
            continue;
        }
        uint8_t rgb[3];
        vs_annotate_class_color(slot->class_id, rgb);
        yuv_color color = to_yuv(rgb, a->bt709);
        for (int n = 1; n < slot->count; n++) {
            int from = (slot->head - slot->count + n - 1 + 2 * TRAIL_POINTS) % TRAIL_POINTS;
            int to = (from + 1) % TRAIL_POINTS;
            draw_line(a->canvas, slot->x[from], slot->y[from], slot->x[to], slot->y[to],
                      a->thickness, color);
        }
        if (!isnan(slot->speed_kmh) && slot->last_frame == frame->index) {
            char text[32]; /* under the object's feet, the end of its trail */
            snprintf(text, sizeof text, "%.0f km/h", slot->speed_kmh);
            int last = (slot->head + TRAIL_POINTS - 1) % TRAIL_POINTS, pad = a->text_scale;
            int w = vs_font_text_width(text, a->text_scale) + 2 * pad;
            int h = vs_font_text_height(a->text_scale) + 2 * pad;
            int x = even_down(slot->x[last] - w / 2), y = even_down(slot->y[last]);
            if (y + h > a->canvas->height)
                y = even_down(a->canvas->height - h);
            fill_rect(a->canvas, x, y, x + w, y + h, color);
            uint8_t white_rgb[3] = {255, 255, 255};
            draw_text(a->canvas, x + pad, y + pad, text, a->text_scale,
                      to_yuv(white_rgb, a->bt709));
        }
    }
}

void vs_annotate_set_lean(vs_annotate *a, int lean)
{
    assert(!a->encoder); /* the encoder opens with the first picture */
    a->lean = lean != 0;
}

void vs_annotate_set_zones(vs_annotate *a, const vs_zones_config *zones)
{
    free(a->crossed);
    a->crossed = NULL;
    a->zones = NULL;
    if (!zones || zones->count == 0)
        return;
    a->crossed = calloc((size_t)zones->count * 2 * ZONE_CLASSES, sizeof *a->crossed);
    if (a->crossed) /* out of memory: the video is annotated without its zones */
        a->zones = zones;
}

/* Each zone's outline in white, and a tag with its counts per class:
 * "door person in 3 out 1", or for a polygon "queue person 2" (now inside). */
static void draw_zones(vs_annotate *a, const vs_frame *frame, const char *const *labels,
                       double scale_x, double scale_y, int width, int height)
{
    const vs_zones_config *zones = a->zones;
    for (int e = 0; e < frame->event_count; e++) {
        const vs_zone_event *ev = &frame->events[e];
        if (ev->kind == VS_ZONE_CROSSING && ev->zone >= 0 && ev->zone < zones->count &&
            ev->class_id >= 0 && ev->class_id < ZONE_CLASSES)
            a->crossed[((size_t)ev->zone * 2 + (ev->direction ? 1 : 0)) * ZONE_CLASSES +
                       ev->class_id]++;
    }
    uint8_t white_rgb[3] = {255, 255, 255}, black_rgb[3] = {0, 0, 0};
    yuv_color white = to_yuv(white_rgb, a->bt709), black = to_yuv(black_rgb, a->bt709);
    int scale = a->text_scale, pad = scale;
    for (int z = 0; z < zones->count; z++) {
        const vs_zone *zone = &zones->zones[z];
        double fx = zone->fractions ? width : 1, fy = zone->fractions ? height : 1;
        int px[VS_ZONE_MAX_POINTS], py[VS_ZONE_MAX_POINTS];
        for (int i = 0; i < zone->point_count; i++) {
            px[i] = (int)lrint(zone->points[i][0] * fx * scale_x);
            py[i] = (int)lrint(zone->points[i][1] * fy * scale_y);
        }
        int edges = zone->kind == VS_ZONE_LINE ? 1 : zone->point_count;
        for (int i = 0; i < edges; i++) {
            int j = (i + 1) % zone->point_count;
            draw_line(a->canvas, px[i], py[i], px[j], py[j], a->thickness, white);
        }
        /* counts of the classes seen so far, one tag line each */
        int tag_y = py[0];
        char text[160];
        for (int c = -1; c < ZONE_CLASSES && c < VS_MAX_CLASSES; c++) {
            if (c < 0) {
                snprintf(text, sizeof text, "%.60s", zone->name);
            } else if (zone->kind == VS_ZONE_LINE) {
                int64_t in = a->crossed[((size_t)z * 2) * ZONE_CLASSES + c];
                int64_t out = a->crossed[((size_t)z * 2 + 1) * ZONE_CLASSES + c];
                if (in == 0 && out == 0)
                    continue;
                snprintf(text, sizeof text, "%.40s %.20s %lld %.20s %lld",
                         labels && labels[c] ? labels[c] : "?", zone->directions[0], (long long)in,
                         zone->directions[1], (long long)out);
            } else {
                int inside = 0;
                for (int d = 0; d < frame->detection_count; d++) {
                    const vs_detection *det = &frame->detections[d];
                    int counted = zone->class_count == 0;
                    for (int k = 0; k < zone->class_count && !counted; k++)
                        counted = zone->class_ids[k] == det->class_id;
                    double p[2], poly[VS_ZONE_MAX_POINTS][2];
                    if (det->track_id <= 0 || det->class_id != c || !counted)
                        continue;
                    vs_anchor_point(det, zone->anchor, p);
                    for (int i = 0; i < zone->point_count; i++) {
                        poly[i][0] = zone->points[i][0] * fx;
                        poly[i][1] = zone->points[i][1] * fy;
                    }
                    inside += vs_point_in_polygon(p, (const double(*)[2])poly, zone->point_count);
                }
                if (inside == 0)
                    continue;
                snprintf(text, sizeof text, "%.40s %d", labels && labels[c] ? labels[c] : "?",
                         inside);
            }
            int tag_w = vs_font_text_width(text, scale) + 2 * pad;
            int tag_h = vs_font_text_height(scale) + 2 * pad;
            int tag_x = px[0] + tag_w > a->canvas->width ? a->canvas->width - tag_w : px[0];
            if (tag_y + tag_h > a->canvas->height)
                tag_y = a->canvas->height - tag_h;
            fill_rect(a->canvas, even_down(tag_x), even_down(tag_y), even_down(tag_x) + tag_w,
                      even_down(tag_y) + tag_h, black);
            draw_text(a->canvas, even_down(tag_x) + pad, even_down(tag_y) + pad, text, scale,
                      white);
            tag_y += tag_h;
        }
    }
}

/* One detection: a frame of `thickness` pixels inside the box's edges, and
 * a "label score" tag above it (inside it when there is no room above). */
static void draw_detection(vs_annotate *a, const vs_detection *det, double scale_x, double scale_y,
                           const char *const *labels)
{
    AVFrame *canvas = a->canvas;
    uint8_t rgb[3];
    vs_annotate_class_color(det->class_id, rgb);
    yuv_color color = to_yuv(rgb, a->bt709);
    int x0 = even_down((int)lrint(det->x1 * scale_x)),
        y0 = even_down((int)lrint(det->y1 * scale_y));
    int x1 = even_down((int)lrint(det->x2 * scale_x) + 1),
        y1 = even_down((int)lrint(det->y2 * scale_y) + 1);
    int t = a->thickness;
    if (x1 - x0 < 2 * t || y1 - y0 < 2 * t) {
        fill_rect(canvas, x0, y0, x1, y1, color);
    } else {
        fill_rect(canvas, x0, y0, x1, y0 + t, color);
        fill_rect(canvas, x0, y1 - t, x1, y1, color);
        fill_rect(canvas, x0, y0, x0 + t, y1, color);
        fill_rect(canvas, x1 - t, y0, x1, y1, color);
    }

    char text[112], track[16] = "";
    if (det->track_id > 0) /* the tracker's id first: what a viewer follows */
        snprintf(track, sizeof track, "#%d ", det->track_id);
    const char *label = labels && det->class_id >= 0 ? labels[det->class_id] : NULL;
    if (label)
        snprintf(text, sizeof text, "%s%.60s %.2f", track, label, det->score);
    else
        snprintf(text, sizeof text, "%sclass %d %.2f", track, det->class_id, det->score);
    int scale = a->text_scale, pad = scale;
    int tag_w = vs_font_text_width(text, scale) + 2 * pad;
    int tag_h = vs_font_text_height(scale) + 2 * pad;
    int tag_x = x0, tag_y = y0 - tag_h;
    if (tag_y < 0)
        tag_y = y0;
    if (tag_x + tag_w > canvas->width)
        tag_x = canvas->width - tag_w;
    tag_x = even_down(tag_x < 0 ? 0 : tag_x);
    tag_y = even_down(tag_y < 0 ? 0 : tag_y);
    fill_rect(canvas, tag_x, tag_y, tag_x + tag_w, tag_y + tag_h, color);
    /* Dark text on light colours, light text on dark ones. */
    double luma = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
    yuv_color ink = luma > 0.55 ? (yuv_color){16, 128, 128} : (yuv_color){235, 128, 128};
    draw_text(canvas, tag_x + pad, tag_y + pad, text, scale, ink);
}

int vs_annotate_open(vs_annotate **out, const vs_video *video, const char *out_path, vs_error *err)
{
    return vs_annotate_open_with(out, video, out_path, NULL, err);
}

/* Opens the source a second time, reading only its first audio stream, and
 * keeps its video stream's display matrix. No audio leaves a->source NULL. */
static int open_source_audio(vs_annotate *a, vs_error *err)
{
    int rc = avformat_open_input(&a->source, a->source_path, NULL, NULL);
    if (rc < 0)
        return av_failure(err, rc, a, "open the source again for its audio");
    int video_index = av_find_best_stream(a->source, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (video_index >= 0) {
        size_t size = 0;
        const uint8_t *matrix = av_stream_get_side_data(a->source->streams[video_index],
                                                        AV_PKT_DATA_DISPLAYMATRIX, &size);
        if (matrix && size == sizeof a->display_matrix) {
            memcpy(a->display_matrix, matrix, size);
            a->has_display_matrix = 1;
        }
    }
    a->source_audio_index = av_find_best_stream(a->source, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (a->source_audio_index < 0) {
        avformat_close_input(&a->source);
        return VS_OK;
    }
    /* Reading only audio: the demuxer skips the other streams' data. */
    for (unsigned i = 0; i < a->source->nb_streams; i++)
        if ((int)i != a->source_audio_index)
            a->source->streams[i]->discard = AVDISCARD_ALL;
    AVCodecParameters *audio = a->source->streams[a->source_audio_index]->codecpar;
    /* Containers without a header (MPEG-TS) only learn the audio format from
     * the packets; probing costs a few packets, once per video. */
    if ((audio->sample_rate <= 0 || audio->ch_layout.nb_channels <= 0) &&
        avformat_find_stream_info(a->source, NULL) < 0) {
        snprintf(a->note, sizeof a->note, "audio left out: its format could not be read");
        avformat_close_input(&a->source);
        return VS_OK;
    }
    if (avformat_query_codec(a->output->oformat, audio->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
        snprintf(a->note, sizeof a->note, "audio left out: MP4 cannot hold %s audio",
                 avcodec_get_name(audio->codec_id));
        avformat_close_input(&a->source);
        return VS_OK;
    }
    a->audio_packet = av_packet_alloc();
    if (!a->audio_packet)
        return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    return VS_OK;
}

int vs_annotate_open_with(vs_annotate **out, const vs_video *video, const char *out_path,
                          const char *encoder_name, vs_error *err)
{
    *out = NULL;
    vs_annotate *a = calloc(1, sizeof *a);
    if (!a)
        return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                       VS_NAME(video->path), VS_NAME(out_path));
    snprintf(a->out_path, sizeof a->out_path, "%s", out_path);
    snprintf(a->part_path, sizeof a->part_path, "%s.part", out_path);
    snprintf(a->source_path, sizeof a->source_path, "%s", video->path);
    snprintf(a->encoder_wanted, sizeof a->encoder_wanted, "%s", encoder_name ? encoder_name : "");
    a->source_time_base = (AVRational){video->time_base_num, video->time_base_den};
    a->fps = video->fps;
    a->last_pts = INT64_MIN;

    int status = make_parent_dirs(video->path, out_path, err);
    if (status == VS_OK) {
        int rc = avformat_alloc_output_context2(&a->output, NULL, "mp4", a->part_path);
        if (rc < 0)
            status = av_failure(err, rc, a, "set up the MP4 muxer");
    }
    if (status == VS_OK) {
        int rc = avio_open(&a->output->pb, a->part_path, AVIO_FLAG_WRITE);
        if (rc < 0)
            status = av_failure(err, rc, a, "create the file");
    }
    if (status == VS_OK) {
        a->packet = av_packet_alloc();
        if (!a->packet)
            status = vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                             VS_NAME(a->source_path), VS_NAME(out_path));
    }
    if (status == VS_OK)
        status = open_source_audio(a, err);
    if (status != VS_OK) {
        vs_annotate_close(a, 0, NULL);
        return status;
    }
    *out = a;
    return VS_OK;
}

static const AVCodec *pick_encoder(const vs_annotate *a)
{
    if (a->encoder_wanted[0])
        return avcodec_find_encoder_by_name(a->encoder_wanted);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    return codec ? codec : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
}

/* (Re)builds the scaler from the picture's geometry to the canvas. Runs for
 * the first picture and again only if a stream changes size, format or
 * colour range (the matrix is the canvas's, fixed per video); in steady
 * state it only compares four numbers. */
static int prepare_scaler(vs_annotate *a, const AVFrame *picture, vs_error *err)
{
    if (a->scaler && picture->width == a->scaler_width && picture->height == a->scaler_height &&
        picture->format == a->scaler_format &&
        (picture->color_range == AVCOL_RANGE_JPEG) == a->scaler_full_range)
        return VS_OK;
    /* A stream that changes size mid-way is scaled to the first picture's
     * size (the encoder's): the video keeps one geometry, and boxes follow
     * through scale_x/scale_y in vs_annotate_frame. */
    /* The yuvj formats are their yuv twins at full range; handing swscale
     * the twin spares a "deprecated pixel format" warning per video. */
    int source_full_range = picture->color_range == AVCOL_RANGE_JPEG;
    int format = picture->format;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
    if (desc && strncmp(desc->name, "yuvj", 4) == 0) {
        char twin[32];
        snprintf(twin, sizeof twin, "yuv%s", desc->name + 4);
        source_full_range = 1;
        if (av_get_pix_fmt(twin) != AV_PIX_FMT_NONE)
            format = av_get_pix_fmt(twin);
    }
    a->scaler =
        sws_getCachedContext(a->scaler, picture->width, picture->height, format, a->canvas->width,
                             a->canvas->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!a->scaler)
        return vs_fail(err, VS_EIO, "%s: annotated video %s: cannot convert %s pictures to YUV420P",
                       VS_NAME(a->source_path), VS_NAME(a->out_path),
                       av_get_pix_fmt_name(picture->format));
    const int *matrix = sws_getCoefficients(a->bt709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
    sws_setColorspaceDetails(a->scaler, matrix, source_full_range, matrix, 0, 0, 1 << 16, 1 << 16);
    a->scaler_width = picture->width;
    a->scaler_height = picture->height;
    a->scaler_format = picture->format;
    a->scaler_full_range = picture->color_range == AVCOL_RANGE_JPEG;
    return VS_OK;
}

/* Reads ahead the next audio packet into a->audio_packet unless one is
 * pending; returns 1 when one is, 0 at the end of the audio. */
static int peek_audio_packet(vs_annotate *a)
{
    while (!a->audio_pending && !a->audio_done) {
        int rc = av_read_frame(a->source, a->audio_packet);
        if (rc == AVERROR_EOF) {
            a->audio_done = 1;
        } else if (rc < 0) {
            /* A damaged audio track ends the audio, not the video. */
            snprintf(a->note, sizeof a->note, "audio cut short: reading it failed (%s)",
                     av_err2str(rc));
            a->audio_done = 1;
        } else if (a->audio_packet->stream_index != a->source_audio_index) {
            av_packet_unref(a->audio_packet);
        } else {
            a->audio_pending = 1;
        }
    }
    return a->audio_pending;
}

/* Samples per audio frame, which the MP4 muxer wants for compressed audio
 * ("codec frame size is not set" otherwise). Demuxers such as mov leave it
 * 0 in the source's codecpar unless the stream is probed (which decodes);
 * the first packet's duration says the same for free. */
static int audio_frame_size(vs_annotate *a, const AVStream *in)
{
    const AVCodecParameters *par = in->codecpar;
    if (par->frame_size > 0 || av_get_bits_per_sample(par->codec_id) > 0 || par->sample_rate <= 0)
        return par->frame_size; /* known, or PCM-like: the muxer needs none */
    if (peek_audio_packet(a) && a->audio_packet->duration > 0)
        return (int)av_rescale_q(a->audio_packet->duration, in->time_base,
                                 (AVRational){1, par->sample_rate});
    switch (par->codec_id) {
    case AV_CODEC_ID_AAC: return 1024;
    case AV_CODEC_ID_MP2:
    case AV_CODEC_ID_MP3: return 1152;
    case AV_CODEC_ID_AC3:
    case AV_CODEC_ID_EAC3: return 1536;
    default: return 0;
    }
}

/* Adds a canvas to the ring, shaped like the encoder's input, and makes it
 * the current one. */
static int add_canvas(vs_annotate *a, vs_error *err)
{
    AVFrame *canvas = av_frame_alloc();
    if (!canvas)
        return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    a->canvases[a->canvas_count++] = canvas;
    canvas->format = AV_PIX_FMT_YUV420P;
    canvas->width = a->encoder->width;
    canvas->height = a->encoder->height;
    int rc = av_frame_get_buffer(canvas, 0);
    if (rc < 0)
        return av_failure(err, rc, a, "allocate the drawing canvas");
    canvas->colorspace = a->encoder->colorspace;
    canvas->color_range = a->encoder->color_range;
    canvas->sample_aspect_ratio = a->encoder->sample_aspect_ratio;
    a->canvas = canvas;
    return VS_OK;
}

/* Picks a canvas the encoder no longer holds. libx264 copies its input, so
 * one canvas serves every frame; MPEG-4 keeps a reference to the frames it
 * may still need, and av_frame_make_writable would then allocate and copy a
 * whole picture per frame. The ring grows to the encoder's delay once and
 * afterwards only cycles: no allocation per frame in steady state. */
static int next_canvas(vs_annotate *a, vs_error *err)
{
    for (int i = 0; i < a->canvas_count; i++)
        if (av_frame_is_writable(a->canvases[i])) {
            a->canvas = a->canvases[i];
            return VS_OK;
        }
    if (a->canvas_count < CANVAS_RING)
        return add_canvas(a, err);
    /* An encoder that holds more than the ring: correct, if slower. */
    int rc = av_frame_make_writable(a->canvas);
    return rc < 0 ? av_failure(err, rc, a, "reuse the drawing canvas") : VS_OK;
}

/* Pictures bigger than DCI 4K (4096x2176), whose encoder runs lean. */
static int big_picture(int width, int height)
{
    return (int64_t)width * height > (int64_t)4096 * 2176;
}

int vs_annotate_working_set_pictures(int width, int height)
{
    return big_picture(width, height) ? 12 : 40;
}

/* The annotated copy is optional: pictures its encoder cannot take mean no
 * copy and a note the report shows as a warning, never a failed video. */
static int skip_copy(vs_annotate *a, const char *why, ...) __attribute__((format(printf, 2, 3)));
static int skip_copy(vs_annotate *a, const char *why, ...)
{
    char reason[400];
    va_list args;
    va_start(args, why);
    vsnprintf(reason, sizeof reason, why, args);
    va_end(args);
    snprintf(a->note, sizeof a->note, "no annotated video: %s", reason);
    a->skipped = 1;
    return VS_OK;
}

/* Sets up encoder, canvas, streams and header from the first picture. */
static int start_encoding(vs_annotate *a, const AVFrame *picture, vs_error *err)
{
    const AVCodec *codec = pick_encoder(a);
    if (!codec)
        return vs_fail(err, VS_EIO, "%s: annotated video %s: no %s encoder in this FFmpeg",
                       VS_NAME(a->source_path), VS_NAME(a->out_path),
                       a->encoder_wanted[0] ? a->encoder_wanted : "H.264 or MPEG-4");
    /* 4:2:0 needs even sizes: an odd width or height is scaled to the even
     * size below it (one pixel less), which the boxes follow. */
    int width = picture->width & ~1, height = picture->height & ~1;
    if (width < 2 || height < 2)
        return skip_copy(a, "its %dx%d pictures are too small for H.264 4:2:0 (2x2 at least)",
                         picture->width, picture->height);
    AVCodecContext *enc = a->encoder = avcodec_alloc_context3(codec);
    if (!enc)
        return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));

    AVRational time_base = a->source_time_base;
    if (time_base.num <= 0 || time_base.den <= 0)
        time_base = (AVRational){1, 90000};
    /* MPEG-4 Part 2 cannot count time in units finer than 1/65535 s. */
    if (codec->id == AV_CODEC_ID_MPEG4 && time_base.den > 65535)
        time_base = (AVRational){1, 1000};
    AVRational frame_rate = a->fps > 0 ? av_d2q(a->fps, 100000) : (AVRational){0, 1};
    a->frame_duration = frame_rate.num > 0 ? av_rescale_q(1, av_inv_q(frame_rate), time_base) : 1;
    if (a->frame_duration < 1)
        a->frame_duration = 1;

    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(picture->format);
    int rgb_source = desc && (desc->flags & AV_PIX_FMT_FLAG_RGB);
    a->bt709 = !rgb_source && picture->colorspace == AVCOL_SPC_BT709;
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = time_base;
    if (frame_rate.num > 0)
        enc->framerate = frame_rate;
    enc->sample_aspect_ratio = picture->sample_aspect_ratio;
    enc->color_range = AVCOL_RANGE_MPEG;
    enc->colorspace = rgb_source ? AVCOL_SPC_SMPTE170M : picture->colorspace;
    enc->color_primaries = picture->color_primaries;
    enc->color_trc = picture->color_trc;
    if (a->output->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (codec->id == AV_CODEC_ID_H264) {
        av_opt_set(enc->priv_data, "preset", "veryfast", 0);
        av_opt_set(enc->priv_data, "crf", "23", 0);
        if (big_picture(width, height)) {
            /* x264 holds a few pictures' worth per frame in its threads and
             * lookahead: ~49 pictures as set above, ~10 like this (measured
             * at 8192x8192: 4.7 GB against 0.93 GB), slower but bounded. */
            enc->thread_count = 1;
            av_opt_set(enc->priv_data, "x264-params", "rc-lookahead=0:sync-lookahead=0:bframes=0",
                       0);
        } else if (a->lean) {
            /* Each x264 frame at 1080p is ~12 MB (padded, half-pel and
             * lowres planes): one thread, a 2-frame lookahead and one
             * B-frame hold 1080p in ~80 MB of encoder memory, against ~230 MB
             * as above (measured on 2 cores), for the same CPU time and a
             * file within 3% of x264's defaults at the same CRF. */
            enc->thread_count = 1;
            av_opt_set(enc->priv_data, "x264-params", "rc-lookahead=2:bframes=1", 0);
        }
    } else {
        enc->flags |= AV_CODEC_FLAG_QSCALE; /* constant quality, as CRF does for H.264 */
        enc->global_quality = FF_QP2LAMBDA * 4;
    }
    int rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0)
        return skip_copy(a, "the %s encoder does not take its %dx%d pictures (%s)", codec->name,
                         width, height, av_err2str(rc));

    int status = add_canvas(a, err);
    if (status != VS_OK)
        return status;
    a->thickness = height >= 720 ? 3 : 2;
    a->text_scale = height >= 240 ? 2 : 1;
    status = prepare_scaler(a, picture, err);
    if (status != VS_OK)
        return status;

    a->video_stream = avformat_new_stream(a->output, NULL);
    if (!a->video_stream)
        return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    rc = avcodec_parameters_from_context(a->video_stream->codecpar, enc);
    if (rc < 0)
        return av_failure(err, rc, a, "describe the video stream");
    a->video_stream->time_base = time_base;
    a->video_stream->avg_frame_rate = frame_rate;
    a->video_stream->sample_aspect_ratio = enc->sample_aspect_ratio;
    if (a->has_display_matrix) {
        uint8_t *matrix = av_stream_new_side_data(a->video_stream, AV_PKT_DATA_DISPLAYMATRIX,
                                                  sizeof a->display_matrix);
        if (matrix)
            memcpy(matrix, a->display_matrix, sizeof a->display_matrix);
    }
    if (a->source) {
        AVStream *in = a->source->streams[a->source_audio_index];
        a->audio_stream = avformat_new_stream(a->output, NULL);
        if (!a->audio_stream)
            return vs_fail(err, VS_ENOMEM, "%s: annotated video %s: out of memory",
                           VS_NAME(a->source_path), VS_NAME(a->out_path));
        rc = avcodec_parameters_copy(a->audio_stream->codecpar, in->codecpar);
        if (rc < 0)
            return av_failure(err, rc, a, "describe the audio stream");
        a->audio_stream->codecpar->codec_tag = 0; /* the source container's tag may not fit MP4 */
        a->audio_stream->codecpar->frame_size = audio_frame_size(a, in);
        a->audio_stream->time_base = in->time_base;
    }
    rc = avformat_write_header(a->output, NULL);
    if (rc < 0)
        return av_failure(err, rc, a, "write the MP4 header");
    a->header_written = 1;
    return VS_OK;
}

/* Writes the source's audio packets up to `limit` (inclusive, in time_base). */
static int copy_audio_until(vs_annotate *a, int64_t limit, AVRational time_base, vs_error *err)
{
    if (!a->audio_stream)
        return VS_OK;
    AVStream *in = a->source->streams[a->source_audio_index];
    while (peek_audio_packet(a)) {
        AVPacket *pkt = a->audio_packet;
        int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
        if (ts != AV_NOPTS_VALUE && av_compare_ts(ts, in->time_base, limit, time_base) > 0)
            break;
        pkt->stream_index = a->audio_stream->index;
        pkt->pos = -1;
        av_packet_rescale_ts(pkt, in->time_base, a->audio_stream->time_base);
        int rc = av_interleaved_write_frame(a->output, pkt); /* takes the packet's data */
        a->audio_pending = 0;
        if (rc < 0)
            return av_failure(err, rc, a, "write audio");
    }
    return VS_OK;
}

/* Writes every packet the encoder has ready. */
static int drain_encoder(vs_annotate *a, vs_error *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(a->encoder, a->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return VS_OK;
        if (rc < 0)
            return av_failure(err, rc, a, "encode");
        /* Encoders here leave durations unset; without one the MP4's last
         * frame would last 0 s and the video would be a frame short. */
        if (a->packet->duration <= 0)
            a->packet->duration = a->frame_duration;
        a->packet->stream_index = a->video_stream->index;
        av_packet_rescale_ts(a->packet, a->encoder->time_base, a->video_stream->time_base);
        rc = av_interleaved_write_frame(a->output, a->packet);
        if (rc < 0)
            return av_failure(err, rc, a, "write video");
    }
}

int vs_annotate_frame(vs_annotate *a, const vs_frame *frame, const char *const *labels,
                      vs_error *err)
{
    if (frame->kind != VS_FRAME_PICTURE || !frame->picture)
        return VS_OK;
    if (a->failed)
        return vs_fail(err, VS_EIO, "%s: annotated video %s: an earlier frame failed",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    const AVFrame *picture = frame->picture;
    int status = VS_OK;
    if (!a->header_written && !a->skipped)
        status = start_encoding(a, picture, err);
    if (a->skipped)
        return VS_OK;
    if (status == VS_OK)
        status = prepare_scaler(a, picture, err);
    if (status == VS_OK)
        status = next_canvas(a, err);
    if (status != VS_OK) {
        a->failed = 1;
        return status;
    }
    sws_scale(a->scaler, (const uint8_t *const *)picture->data, picture->linesize, 0,
              picture->height, a->canvas->data, a->canvas->linesize);
    double scale_x = (double)a->canvas->width / picture->width;
    double scale_y = (double)a->canvas->height / picture->height;
    if (a->zones && a->zones->calibrated && a->homography_ready == 0) {
        const vs_zones_config *z = a->zones;
        double image[4][2];
        for (int i = 0; i < 4; i++) {
            image[i][0] = z->image[i][0] * (z->calibration_fractions ? picture->width : 1);
            image[i][1] = z->image[i][1] * (z->calibration_fractions ? picture->height : 1);
        }
        a->homography_ready =
            vs_homography_solve(image, z->ground, a->homography, NULL) == VS_OK ? 1 : -1;
    }
    if (a->zones)
        draw_zones(a, frame, labels, scale_x, scale_y, picture->width, picture->height);
    draw_trails(a, frame, scale_x, scale_y);
    for (int i = 0; i < frame->detection_count; i++)
        draw_detection(a, &frame->detections[i], scale_x, scale_y, labels);

    /* Source timestamps, kept strictly increasing as encoders require. */
    int64_t pts = frame->pts;
    if (pts != AV_NOPTS_VALUE && av_cmp_q(a->source_time_base, a->encoder->time_base) != 0 &&
        a->source_time_base.num > 0 && a->source_time_base.den > 0)
        pts = av_rescale_q(pts, a->source_time_base, a->encoder->time_base);
    if (pts == AV_NOPTS_VALUE)
        pts = a->last_pts == INT64_MIN ? 0 : a->last_pts + a->frame_duration;
    else if (a->last_pts != INT64_MIN && pts <= a->last_pts)
        pts = a->last_pts + 1;
    a->last_pts = pts;
    a->canvas->pts = pts;
    a->canvas->pict_type = AV_PICTURE_TYPE_NONE;

    int rc = avcodec_send_frame(a->encoder, a->canvas);
    status = rc < 0 ? av_failure(err, rc, a, "encode") : drain_encoder(a, err);
    if (status == VS_OK)
        status = copy_audio_until(a, pts, a->encoder->time_base, err);
    a->failed = status != VS_OK;
    return status;
}

static int finish_file(vs_annotate *a, vs_error *err)
{
    if (a->skipped)
        return VS_OK; /* no copy to finish: close removes the .part file */
    if (!a->header_written)
        return vs_fail(err, VS_EINVAL, "%s: annotated video %s: no pictures to encode",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    if (a->failed)
        return vs_fail(err, VS_EIO,
                       "%s: annotated video %s: not finalized: a frame failed to encode",
                       VS_NAME(a->source_path), VS_NAME(a->out_path));
    int rc = avcodec_send_frame(a->encoder, NULL);
    if (rc < 0)
        return av_failure(err, rc, a, "flush the encoder");
    int status = drain_encoder(a, err);
    /* All of the remaining audio, also what outlasts the last frame: the
     * annotated copy keeps the whole soundtrack, as the source has it. */
    if (status == VS_OK)
        status = copy_audio_until(a, INT64_MAX, a->encoder->time_base, err);
    if (status != VS_OK)
        return status;
    rc = av_write_trailer(a->output);
    if (rc < 0)
        return av_failure(err, rc, a, "write the MP4 index");
    return VS_OK;
}

int vs_annotate_close(vs_annotate *a, int finalize, vs_error *err)
{
    if (!a)
        return VS_OK;
    int status = finalize ? finish_file(a, err) : VS_OK;
    if (a->output && a->output->pb) {
        int rc = avio_closep(&a->output->pb);
        if (rc < 0 && status == VS_OK && finalize)
            status = av_failure(err, rc, a, "finish writing");
    }
    if (a->output) {
        if (finalize && status == VS_OK && !a->skipped && rename(a->part_path, a->out_path) != 0)
            status = vs_fail(err, VS_EIO, "%s: annotated video %s: cannot rename it into place: %s",
                             VS_NAME(a->source_path), VS_NAME(a->out_path), strerror(errno));
        if (!finalize || status != VS_OK || a->skipped)
            unlink(a->part_path);
    }
    avformat_free_context(a->output);
    avcodec_free_context(&a->encoder);
    sws_freeContext(a->scaler);
    for (int i = 0; i < a->canvas_count; i++)
        av_frame_free(&a->canvases[i]);
    av_packet_free(&a->packet);
    av_packet_free(&a->audio_packet);
    avformat_close_input(&a->source);
    free(a->crossed);
    free(a);
    return status;
}

int vs_annotate_skipped(const vs_annotate *a)
{
    return a->skipped;
}

const char *vs_annotate_note(const vs_annotate *a)
{
    return a->note[0] ? a->note : NULL;
}

const char *vs_annotate_encoder(const vs_annotate *a)
{
    return a->encoder ? a->encoder->codec->name : NULL;
}
