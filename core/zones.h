/* zones.h: counting lines, polygon zones and speed, from tracks.
 *
 * A zones file (--zones FILE.json) names lines and polygons on the picture:
 *
 *   {
 *     "units": "pixels",                 (or "fractions" of the frame: 0..1)
 *     "anchor": "bottom_center",         (the point of a box that counts)
 *     "zones": [
 *       {"name": "door", "type": "line", "points": [[100, 400], [540, 400]],
 *        "classes": ["person"], "directions": ["in", "out"]},
 *       {"name": "queue", "type": "polygon",
 *        "points": [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]], "units": "fractions"}
 *     ],
 *     "calibration": {"image":  [[x, y], [x, y], [x, y], [x, y]],
 *                     "ground": [[X, Y], [X, Y], [X, Y], [X, Y]]}
 *   }
 *
 * "units", "anchor" and "classes" may be given at the top (every zone) or
 * per zone; anchors: bottom_center (default: where a person or a car
 * touches the ground), center, top_center, bottom_left, bottom_right.
 * Missing "classes": every class.
 *
 * Lines: a track crosses when the segment from its previous anchor to its
 * current one intersects the line's segment, so a skipped frame never hides
 * a crossing. Going from A to B (the line's two points), a crossing to the
 * right-hand side as seen on the picture is directions[0] ("in"), to the
 * left-hand side directions[1] ("out"). An anchor within `debounce` of the
 * line (default 0.1 box heights, at least 2 px) has no side: a box that
 * jitters on the line is counted once, when it leaves the band on the other
 * side.
 *
 * Polygons: a track is inside while its anchor is; occupancy is counted per
 * frame and class, and a visit (enter, exit, dwell) is reported when it
 * leaves or its track ends.
 *
 * Calibration: four image points (source pixels, or fractions with
 * "units") and where they lie on the ground in metres give a homography;
 * a track's speed is the ground distance its anchor covered over the last
 * >= 0.5 s of video time (timestamps, not frame counts), in km/h. */
#ifndef VS_ZONES_H
#define VS_ZONES_H

#include <stdint.h>

#include "detect.h"
#include "vs_error.h"

#define VS_ZONE_MAX_POINTS 64
#define VS_ZONE_MAX_CLASSES 32 /* classes named per zone */
#define VS_ZONE_NAME 64
#define VS_SPEED_WINDOW_S 0.5

typedef enum vs_zone_kind { VS_ZONE_LINE, VS_ZONE_POLYGON } vs_zone_kind;

typedef enum vs_anchor {
    VS_ANCHOR_BOTTOM_CENTER,
    VS_ANCHOR_CENTER,
    VS_ANCHOR_TOP_CENTER,
    VS_ANCHOR_BOTTOM_LEFT,
    VS_ANCHOR_BOTTOM_RIGHT,
} vs_anchor;

typedef struct vs_zone {
    char name[VS_ZONE_NAME];
    vs_zone_kind kind;
    int point_count;
    double points[VS_ZONE_MAX_POINTS][2]; /* as written in the file */
    int fractions;                        /* points are fractions of the frame */
    vs_anchor anchor;
    int class_count; /* 0: every class */
    int class_ids[VS_ZONE_MAX_CLASSES];
    char directions[2][32]; /* lines: [0] crossing to the right of A->B, [1] to the left */
    double debounce;        /* lines: band half-width in box heights */
} vs_zone;

typedef struct vs_zones_config {
    int count;
    vs_zone *zones;
    int calibrated;
    int calibration_fractions;
    double image[4][2], ground[4][2];
} vs_zones_config;

/* Parses a zones document. labels: the model's class names (class names in
 * the file are resolved against them; an unknown one is an error). name:
 * the file, for messages. */
int vs_zones_parse(const char *json, const char *name, const char *const *labels, int label_count,
                   vs_zones_config *out, vs_error *err);
int vs_zones_load(const char *path, const char *const *labels, int label_count,
                  vs_zones_config *out, vs_error *err);
void vs_zones_config_free(vs_zones_config *config);

/* ---- geometry ---------------------------------------------------------- */

/* Which side of the line a->b point p is on: > 0 right-hand as seen on a
 * picture (y down), < 0 left, 0 on it. Twice the triangle's signed area. */
double vs_side(const double a[2], const double b[2], const double p[2]);
/* Segments p1-p2 and q1-q2 share a point (touching counts). */
int vs_segments_intersect(const double p1[2], const double p2[2], const double q1[2],
                          const double q2[2]);
/* Even-odd rule; a point on an edge counts as inside. */
int vs_point_in_polygon(const double p[2], const double (*polygon)[2], int count);
/* The homography taking src[i] to dst[i] (h[8] = 1), by solving the 8x8
 * linear system; VS_EINVAL when three points are collinear. */
int vs_homography_solve(const double src[4][2], const double dst[4][2], double h[9], vs_error *err);
void vs_homography_apply(const double h[9], const double in[2], double out[2]);
void vs_anchor_point(const vs_detection *box, vs_anchor anchor, double out[2]);

/* ---- per-video state ----------------------------------------------------- */

typedef enum vs_zone_event_kind {
    VS_ZONE_CROSSING,
    VS_ZONE_VISIT,
    VS_TRACK_ENDED, /* the tracker's (core/track_stage.c): speed_kmh, zone -1 */
} vs_zone_event_kind;

#define VS_FRAME_EVENTS 32 /* events a frame slot carries */

typedef struct vs_zone_event {
    vs_zone_event_kind kind;
    int zone; /* index in the config */
    int track_id, class_id;
    int direction;       /* crossing: 0 (directions[0], "in") or 1 */
    int64_t frame;       /* crossing: the frame it was seen; visit: exit frame */
    double time_s;       /* of that frame */
    int64_t enter_frame; /* visit */
    double enter_s;      /* visit; dwell = time_s - enter_s */
    double speed_kmh;    /* track ended: its mean speed; NAN without calibration */
} vs_zone_event;

typedef struct vs_zones_state vs_zones_state;

/* track_capacity: live tracks at most (the tracker's); class_count: the
 * model's classes, for the per-class counts. */
int vs_zones_state_create(const vs_zones_config *config, int track_capacity, int class_count,
                          vs_zones_state **out, vs_error *err);
void vs_zones_state_destroy(vs_zones_state *state);
/* A new video of width x height: fractions become pixels, counts start at 0.
 * VS_EINVAL when the calibration points are degenerate. */
int vs_zones_state_reset(vs_zones_state *state, int width, int height, vs_error *err);

/* One analysed frame's tracked boxes (track_ids[i] > 0 count; others are
 * ignored). Writes at most max_events events; returns how many. */
int vs_zones_update(vs_zones_state *state, const vs_detection *dets, const int *track_ids,
                    int count, int64_t frame, double time_s, vs_zone_event *events, int max_events);
/* A track ended: its open visits close at its last frame. Writes its mean
 * speed in km/h into *speed_kmh (NAN without calibration or samples). */
int vs_zones_track_ended(vs_zones_state *state, int track_id, double *speed_kmh,
                         vs_zone_event *events, int max_events);

/* For drawing: the zone's points in pixels of this video; per-class counts
 * of a line ([direction][class]) or a polygon's occupancy on the last frame. */
const double (*vs_zones_pixels(const vs_zones_state *state, int zone))[2];
int64_t vs_zones_crossings(const vs_zones_state *state, int zone, int direction, int class_id);
int vs_zones_occupancy(const vs_zones_state *state, int zone, int class_id);
/* The track's current speed (km/h, NAN when unknown). */
double vs_zones_speed(const vs_zones_state *state, int track_id);

#endif
