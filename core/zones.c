/* zones.c: the zones file, the geometry, and the per-video crossing, visit
 * and speed state (see zones.h for the rules users rely on).
 *
 * DESIGN
 * A vs_zones_state follows at most track_capacity tracks (the tracker's
 * own bound), each in a slot found by its id and freed when the tracker
 * reports the track ended; every array is allocated at create, so an
 * update never allocates. A slot keeps, per zone, the side of a line the
 * track was last clearly on (and where), or whether it is inside a polygon
 * since when; and a ring of recent ground positions for the speed. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "zones.h"

#define SPEED_SAMPLES 128 /* 0.5 s at up to 256 analysed frames per second */
#define MIN_BAND_PX 2.0

typedef struct zone_track {
    int id; /* 0: free slot */
    int class_id;
    int64_t last_frame;
    double last_s;
    /* speed: ground positions at times, a ring */
    double sample_t[SPEED_SAMPLES], sample_x[SPEED_SAMPLES], sample_y[SPEED_SAMPLES];
    int sample_head, sample_count;
    double speed_now, speed_sum;
    int64_t speed_count;
} zone_track;

typedef struct zone_slot { /* one track in one zone */
    int side;              /* lines: -1, +1, or 0 before it was clearly on a side */
    double sided_at[2];    /* the anchor where it last was clearly on `side` */
    int inside;            /* polygons */
    int64_t enter_frame;
    double enter_s;
} zone_slot;

struct vs_zones_state {
    const vs_zones_config *config;
    int capacity, class_count;
    zone_track *tracks;
    zone_slot *slots;                        /* capacity x zones */
    double (*pixels)[VS_ZONE_MAX_POINTS][2]; /* per zone, this video's pixels */
    int64_t *crossings;                      /* zones x 2 x class_count */
    int *occupancy;                          /* zones x class_count */
    int calibrated;
    double homography[9];
};

/* ---- geometry ---------------------------------------------------------- */

double vs_side(const double a[2], const double b[2], const double p[2])
{
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

static int on_segment(const double a[2], const double b[2], const double p[2])
{
    return fmin(a[0], b[0]) <= p[0] && p[0] <= fmax(a[0], b[0]) && fmin(a[1], b[1]) <= p[1] &&
           p[1] <= fmax(a[1], b[1]);
}

int vs_segments_intersect(const double p1[2], const double p2[2], const double q1[2],
                          const double q2[2])
{
    double d1 = vs_side(q1, q2, p1), d2 = vs_side(q1, q2, p2);
    double d3 = vs_side(p1, p2, q1), d4 = vs_side(p1, p2, q2);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return 1;
    return (d1 == 0 && on_segment(q1, q2, p1)) || (d2 == 0 && on_segment(q1, q2, p2)) ||
           (d3 == 0 && on_segment(p1, p2, q1)) || (d4 == 0 && on_segment(p1, p2, q2));
}

int vs_point_in_polygon(const double p[2], const double (*poly)[2], int count)
{
    int inside = 0;
    for (int i = 0, j = count - 1; i < count; j = i++) {
        if (vs_side(poly[j], poly[i], p) == 0 && on_segment(poly[j], poly[i], p))
            return 1;
        if ((poly[i][1] > p[1]) != (poly[j][1] > p[1]) &&
            p[0] < (poly[j][0] - poly[i][0]) * (p[1] - poly[i][1]) / (poly[j][1] - poly[i][1]) +
                       poly[i][0])
            inside = !inside;
    }
    return inside;
}

int vs_homography_solve(const double src[4][2], const double dst[4][2], double h[9], vs_error *err)
{
    for (int i = 0; i < 4; i++) /* three collinear points leave it undetermined */
        for (int j = i + 1; j < 4; j++)
            for (int k = j + 1; k < 4; k++)
                if (fabs(vs_side(src[i], src[j], src[k])) < 1e-9 ||
                    fabs(vs_side(dst[i], dst[j], dst[k])) < 1e-12)
                    return vs_fail(err, VS_EINVAL,
                                   "calibration: points %d, %d and %d are on one line", i + 1,
                                   j + 1, k + 1);
    /* u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v likewise with h3..h5:
     * two linear equations per point in h0..h7. */
    double a[8][9];
    for (int i = 0; i < 4; i++) {
        double x = src[i][0], y = src[i][1], u = dst[i][0], v = dst[i][1];
        double r1[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
        double r2[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
        memcpy(a[2 * i], r1, sizeof r1);
        memcpy(a[2 * i + 1], r2, sizeof r2);
    }
    for (int c = 0; c < 8; c++) {
        int pivot = c;
        for (int r = c + 1; r < 8; r++)
            if (fabs(a[r][c]) > fabs(a[pivot][c]))
                pivot = r;
        if (fabs(a[pivot][c]) < 1e-12)
            return vs_fail(err, VS_EINVAL, "calibration: the four points give no homography");
        for (int j = 0; j < 9; j++) {
            double tmp = a[c][j];
            a[c][j] = a[pivot][j];
            a[pivot][j] = tmp;
        }
        for (int r = 0; r < 8; r++) {
            if (r == c)
                continue;
            double f = a[r][c] / a[c][c];
            for (int j = c; j < 9; j++)
                a[r][j] -= f * a[c][j];
        }
    }
    for (int i = 0; i < 8; i++)
        h[i] = a[i][8] / a[i][i];
    h[8] = 1;
    return VS_OK;
}

void vs_homography_apply(const double h[9], const double in[2], double out[2])
{
    double w = h[6] * in[0] + h[7] * in[1] + h[8];
    double x = (h[0] * in[0] + h[1] * in[1] + h[2]) / w;
    double y = (h[3] * in[0] + h[4] * in[1] + h[5]) / w;
    out[0] = x;
    out[1] = y;
}

void vs_anchor_point(const vs_detection *b, vs_anchor anchor, double out[2])
{
    double cx = (b->x1 + b->x2) / 2.0;
    switch (anchor) {
    case VS_ANCHOR_CENTER: out[0] = cx, out[1] = (b->y1 + b->y2) / 2.0; break;
    case VS_ANCHOR_TOP_CENTER: out[0] = cx, out[1] = b->y1; break;
    case VS_ANCHOR_BOTTOM_LEFT: out[0] = b->x1, out[1] = b->y2; break;
    case VS_ANCHOR_BOTTOM_RIGHT: out[0] = b->x2, out[1] = b->y2; break;
    default: out[0] = cx, out[1] = b->y2; break;
    }
}

/* ---- the file ------------------------------------------------------------ */

static int parse_units(const cJSON *node, int inherited, const char *where, const char *name,
                       int *fractions, vs_error *err)
{
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(node, "units");
    *fractions = inherited;
    if (!units)
        return VS_OK;
    if (cJSON_IsString(units) && strcmp(units->valuestring, "pixels") == 0)
        *fractions = 0;
    else if (cJSON_IsString(units) && strcmp(units->valuestring, "fractions") == 0)
        *fractions = 1;
    else
        return vs_fail(err, VS_EINVAL, "%s: %s: \"units\" must be \"pixels\" or \"fractions\"",
                       VS_NAME(name), where);
    return VS_OK;
}

static int parse_anchor(const cJSON *node, vs_anchor inherited, const char *where, const char *name,
                        vs_anchor *anchor, vs_error *err)
{
    static const char *const names[] = {"bottom_center", "center", "top_center", "bottom_left",
                                        "bottom_right"};
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(node, "anchor");
    *anchor = inherited;
    if (!item)
        return VS_OK;
    for (int i = 0; cJSON_IsString(item) && i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(item->valuestring, names[i]) == 0) {
            *anchor = (vs_anchor)i;
            return VS_OK;
        }
    return vs_fail(err, VS_EINVAL,
                   "%s: %s: \"anchor\" must be bottom_center, center, top_center, bottom_left "
                   "or bottom_right",
                   VS_NAME(name), where);
}

static int parse_classes(const cJSON *node, const vs_zone *inherited, const char *where,
                         const char *name, const char *const *labels, int label_count,
                         vs_zone *zone, vs_error *err)
{
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(node, "classes");
    if (!classes) {
        zone->class_count = inherited->class_count;
        memcpy(zone->class_ids, inherited->class_ids, sizeof zone->class_ids);
        return VS_OK;
    }
    if (!cJSON_IsArray(classes) || cJSON_GetArraySize(classes) > VS_ZONE_MAX_CLASSES)
        return vs_fail(err, VS_EINVAL, "%s: %s: \"classes\" must be a list of at most %d names",
                       VS_NAME(name), where, VS_ZONE_MAX_CLASSES);
    zone->class_count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, classes)
    {
        int found = -1;
        for (int c = 0; cJSON_IsString(item) && c < label_count && found < 0; c++)
            if (labels[c] && strcmp(labels[c], item->valuestring) == 0)
                found = c;
        if (found < 0)
            return vs_fail(err, VS_EINVAL, "%s: %s: class %s is not one of the model's",
                           VS_NAME(name), where,
                           cJSON_IsString(item) ? VS_NAME(item->valuestring) : "(not a name)");
        zone->class_ids[zone->class_count++] = found;
    }
    return VS_OK;
}

static int parse_points(const cJSON *points, int want, double (*out)[2], int *count,
                        const char *where, const char *name, vs_error *err)
{
    int n = cJSON_GetArraySize(points);
    if (!cJSON_IsArray(points) || (want > 0 && n != want) || (want < 0 && n < -want) ||
        n > VS_ZONE_MAX_POINTS)
        return vs_fail(err, VS_EINVAL, "%s: %s: \"points\" must be %s%d [x, y] pairs",
                       VS_NAME(name), where, want < 0 ? "at least " : "", want < 0 ? -want : want);
    int i = 0;
    const cJSON *point;
    cJSON_ArrayForEach(point, points)
    {
        const cJSON *x = cJSON_GetArrayItem(point, 0), *y = cJSON_GetArrayItem(point, 1);
        if (!cJSON_IsArray(point) || cJSON_GetArraySize(point) != 2 || !cJSON_IsNumber(x) ||
            !cJSON_IsNumber(y) || !isfinite(x->valuedouble) || !isfinite(y->valuedouble))
            return vs_fail(err, VS_EINVAL, "%s: %s: point %d is not [x, y] in numbers",
                           VS_NAME(name), where, i + 1);
        out[i][0] = x->valuedouble;
        out[i][1] = y->valuedouble;
        i++;
    }
    *count = n;
    return VS_OK;
}

static int parse_zone(const cJSON *node, int index, const vs_zone *defaults, const char *name,
                      const char *const *labels, int label_count, vs_zone *zone, vs_error *err)
{
    char where[96];
    snprintf(where, sizeof where, "zone %d", index + 1);
    if (!cJSON_IsObject(node))
        return vs_fail(err, VS_EINVAL, "%s: %s is not an object", VS_NAME(name), where);
    const cJSON *zname = cJSON_GetObjectItemCaseSensitive(node, "name");
    if (!cJSON_IsString(zname) || !zname->valuestring[0] ||
        strlen(zname->valuestring) >= VS_ZONE_NAME)
        return vs_fail(err, VS_EINVAL, "%s: %s needs a \"name\" of 1-%d bytes", VS_NAME(name),
                       where, VS_ZONE_NAME - 1);
    snprintf(zone->name, sizeof zone->name, "%s", zname->valuestring);
    snprintf(where, sizeof where, "zone %s", VS_NAME(zone->name));
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "line") == 0)
        zone->kind = VS_ZONE_LINE;
    else if (cJSON_IsString(type) && strcmp(type->valuestring, "polygon") == 0)
        zone->kind = VS_ZONE_POLYGON;
    else
        return vs_fail(err, VS_EINVAL, "%s: %s: \"type\" must be \"line\" or \"polygon\"",
                       VS_NAME(name), where);
    int status = parse_points(cJSON_GetObjectItemCaseSensitive(node, "points"),
                              zone->kind == VS_ZONE_LINE ? 2 : -3, zone->points, &zone->point_count,
                              where, name, err);
    if (status == VS_OK)
        status = parse_units(node, defaults->fractions, where, name, &zone->fractions, err);
    if (status == VS_OK)
        status = parse_anchor(node, defaults->anchor, where, name, &zone->anchor, err);
    if (status == VS_OK)
        status = parse_classes(node, defaults, where, name, labels, label_count, zone, err);
    if (status != VS_OK)
        return status;
    snprintf(zone->directions[0], sizeof zone->directions[0], "in");
    snprintf(zone->directions[1], sizeof zone->directions[1], "out");
    const cJSON *directions = cJSON_GetObjectItemCaseSensitive(node, "directions");
    if (directions) {
        const cJSON *in = cJSON_GetArrayItem(directions, 0),
                    *out = cJSON_GetArrayItem(directions, 1);
        if (!cJSON_IsArray(directions) || cJSON_GetArraySize(directions) != 2 ||
            !cJSON_IsString(in) || !cJSON_IsString(out) || !in->valuestring[0] ||
            !out->valuestring[0] || strlen(in->valuestring) >= sizeof zone->directions[0] ||
            strlen(out->valuestring) >= sizeof zone->directions[0])
            return vs_fail(err, VS_EINVAL, "%s: %s: \"directions\" must be two names of 1-31 bytes",
                           VS_NAME(name), where);
        snprintf(zone->directions[0], sizeof zone->directions[0], "%s", in->valuestring);
        snprintf(zone->directions[1], sizeof zone->directions[1], "%s", out->valuestring);
    }
    zone->debounce = 0.1;
    const cJSON *debounce = cJSON_GetObjectItemCaseSensitive(node, "debounce");
    if (debounce) {
        if (!cJSON_IsNumber(debounce) || !(debounce->valuedouble >= 0) ||
            debounce->valuedouble > 10)
            return vs_fail(err, VS_EINVAL, "%s: %s: \"debounce\" must be 0-10 box heights",
                           VS_NAME(name), where);
        zone->debounce = debounce->valuedouble;
    }
    if (zone->kind == VS_ZONE_LINE && zone->points[0][0] == zone->points[1][0] &&
        zone->points[0][1] == zone->points[1][1])
        return vs_fail(err, VS_EINVAL, "%s: %s: the line's two points are the same", VS_NAME(name),
                       where);
    return VS_OK;
}

int vs_zones_parse(const char *json, const char *name, const char *const *labels, int label_count,
                   vs_zones_config *out, vs_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return vs_fail(err, VS_EINVAL, "%s: not valid JSON", VS_NAME(name));
    int status = VS_OK;
    vs_zone defaults = {.anchor = VS_ANCHOR_BOTTOM_CENTER};
    const cJSON *zones = cJSON_GetObjectItemCaseSensitive(root, "zones");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(zones) || cJSON_GetArraySize(zones) == 0) {
        status = vs_fail(err, VS_EINVAL, "%s: needs {\"zones\": [ ... ]} with at least one zone",
                         VS_NAME(name));
        goto done;
    }
    status = parse_units(root, 0, "top level", name, &defaults.fractions, err);
    if (status == VS_OK)
        status =
            parse_anchor(root, VS_ANCHOR_BOTTOM_CENTER, "top level", name, &defaults.anchor, err);
    if (status == VS_OK)
        status =
            parse_classes(root, &defaults, "top level", name, labels, label_count, &defaults, err);
    if (status != VS_OK)
        goto done;
    out->count = cJSON_GetArraySize(zones);
    out->zones = calloc((size_t)out->count, sizeof *out->zones);
    if (!out->zones) {
        status =
            vs_fail(err, VS_ENOMEM, "%s: out of memory for %d zones", VS_NAME(name), out->count);
        goto done;
    }
    for (int i = 0; i < out->count && status == VS_OK; i++) {
        status = parse_zone(cJSON_GetArrayItem(zones, i), i, &defaults, name, labels, label_count,
                            &out->zones[i], err);
        for (int j = 0; j < i && status == VS_OK; j++)
            if (strcmp(out->zones[j].name, out->zones[i].name) == 0)
                status = vs_fail(err, VS_EINVAL, "%s: two zones are named %s", VS_NAME(name),
                                 VS_NAME(out->zones[i].name));
    }
    const cJSON *calibration = cJSON_GetObjectItemCaseSensitive(root, "calibration");
    if (status == VS_OK && calibration) {
        int n = 0;
        status = parse_points(cJSON_GetObjectItemCaseSensitive(calibration, "image"), 4, out->image,
                              &n, "calibration image", name, err);
        if (status == VS_OK)
            status = parse_points(cJSON_GetObjectItemCaseSensitive(calibration, "ground"), 4,
                                  out->ground, &n, "calibration ground", name, err);
        if (status == VS_OK)
            status = parse_units(calibration, defaults.fractions, "calibration", name,
                                 &out->calibration_fractions, err);
        double h[9];
        if (status == VS_OK && (status = vs_homography_solve(out->image, out->ground, h, err)))
            vs_error_prefix(err, "%s", VS_NAME(name));
        out->calibrated = status == VS_OK;
    }
done:
    cJSON_Delete(root);
    if (status != VS_OK)
        vs_zones_config_free(out);
    return status;
}

int vs_zones_load(const char *path, const char *const *labels, int label_count,
                  vs_zones_config *out, vs_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail(err, VS_EIO, "%s: cannot open the zones file", VS_NAME(path));
    char *text = NULL;
    size_t size = 0, cap = 0;
    int status = VS_OK;
    for (;;) {
        if (size + 4096 + 1 > cap) {
            if (cap > (size_t)16 << 20) {
                status = vs_fail(err, VS_EINVAL, "%s: a zones file over 16 MiB", VS_NAME(path));
                break;
            }
            char *bigger = realloc(text, cap = cap * 2 + 8192);
            if (!bigger) {
                status = vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
                break;
            }
            text = bigger;
        }
        size_t got = fread(text + size, 1, cap - size - 1, f);
        size += got;
        if (got == 0)
            break;
    }
    if (status == VS_OK && ferror(f))
        status = vs_fail(err, VS_EIO, "%s: cannot read the zones file", VS_NAME(path));
    fclose(f);
    if (status == VS_OK) {
        text[size] = 0;
        status = vs_zones_parse(text, path, labels, label_count, out, err);
    }
    free(text);
    return status;
}

void vs_zones_config_free(vs_zones_config *config)
{
    free(config->zones);
    memset(config, 0, sizeof *config);
}

/* ---- per-video state ------------------------------------------------------ */

int vs_zones_state_create(const vs_zones_config *config, int track_capacity, int class_count,
                          vs_zones_state **out, vs_error *err)
{
    *out = NULL;
    assert(config && track_capacity > 0 && class_count > 0);
    vs_zones_state *s = calloc(1, sizeof *s);
    if (!s)
        return vs_fail(err, VS_ENOMEM, "out of memory for the zones");
    s->config = config;
    s->capacity = track_capacity;
    s->class_count = class_count;
    size_t zones = (size_t)config->count;
    s->tracks = calloc((size_t)track_capacity, sizeof *s->tracks);
    s->slots = calloc((size_t)track_capacity * (zones ? zones : 1), sizeof *s->slots);
    s->pixels = calloc(zones ? zones : 1, sizeof *s->pixels);
    s->crossings = calloc((zones ? zones : 1) * 2 * (size_t)class_count, sizeof *s->crossings);
    s->occupancy = calloc((zones ? zones : 1) * (size_t)class_count, sizeof *s->occupancy);
    if (!s->tracks || !s->slots || !s->pixels || !s->crossings || !s->occupancy) {
        vs_zones_state_destroy(s);
        return vs_fail(err, VS_ENOMEM, "out of memory for the zones");
    }
    *out = s;
    return VS_OK;
}

void vs_zones_state_destroy(vs_zones_state *s)
{
    if (!s)
        return;
    free(s->tracks);
    free(s->slots);
    free(s->pixels);
    free(s->crossings);
    free(s->occupancy);
    free(s);
}

int vs_zones_state_reset(vs_zones_state *s, int width, int height, vs_error *err)
{
    const vs_zones_config *c = s->config;
    memset(s->tracks, 0, (size_t)s->capacity * sizeof *s->tracks);
    memset(s->crossings, 0, (size_t)c->count * 2 * (size_t)s->class_count * sizeof *s->crossings);
    memset(s->occupancy, 0, (size_t)c->count * (size_t)s->class_count * sizeof *s->occupancy);
    for (int z = 0; z < c->count; z++)
        for (int i = 0; i < c->zones[z].point_count; i++) {
            s->pixels[z][i][0] = c->zones[z].points[i][0] * (c->zones[z].fractions ? width : 1);
            s->pixels[z][i][1] = c->zones[z].points[i][1] * (c->zones[z].fractions ? height : 1);
        }
    s->calibrated = 0;
    if (c->calibrated) {
        double image[4][2];
        for (int i = 0; i < 4; i++) {
            image[i][0] = c->image[i][0] * (c->calibration_fractions ? width : 1);
            image[i][1] = c->image[i][1] * (c->calibration_fractions ? height : 1);
        }
        int status = vs_homography_solve(image, c->ground, s->homography, err);
        if (status != VS_OK)
            return status;
        s->calibrated = 1;
    }
    return VS_OK;
}

static zone_track *find_track(vs_zones_state *s, int id, int create, int *index)
{
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < s->capacity; i++) {
        if (s->tracks[i].id == id) {
            *index = i;
            return &s->tracks[i];
        }
        if (s->tracks[i].id == 0 && free_slot < 0)
            free_slot = i;
        if (s->tracks[i].last_s < s->tracks[oldest].last_s)
            oldest = i;
    }
    if (!create)
        return NULL;
    /* More live tracks than the tracker holds cannot happen; reuse the
     * stalest slot rather than fail if it ever does. */
    int i = free_slot >= 0 ? free_slot : oldest;
    memset(&s->tracks[i], 0, sizeof s->tracks[i]);
    memset(&s->slots[(size_t)i * s->config->count], 0, (size_t)s->config->count * sizeof *s->slots);
    s->tracks[i].id = id;
    s->tracks[i].speed_now = NAN;
    *index = i;
    return &s->tracks[i];
}

static int zone_counts_class(const vs_zone *zone, int class_id)
{
    if (zone->class_count == 0)
        return 1;
    for (int i = 0; i < zone->class_count; i++)
        if (zone->class_ids[i] == class_id)
            return 1;
    return 0;
}

static void add_speed_sample(vs_zones_state *s, zone_track *t, const vs_detection *box,
                             double time_s)
{
    double foot[2], ground[2];
    vs_anchor_point(box, VS_ANCHOR_BOTTOM_CENTER, foot); /* the point on the ground */
    vs_homography_apply(s->homography, foot, ground);
    t->speed_now = NAN;
    /* the newest sample at least the window old */
    for (int k = 0; k < t->sample_count; k++) {
        int i = (t->sample_head - 1 - k + SPEED_SAMPLES) % SPEED_SAMPLES;
        double dt = time_s - t->sample_t[i];
        if (dt >= VS_SPEED_WINDOW_S) {
            double dx = ground[0] - t->sample_x[i], dy = ground[1] - t->sample_y[i];
            t->speed_now = sqrt(dx * dx + dy * dy) / dt * 3.6;
            t->speed_sum += t->speed_now;
            t->speed_count++;
            break;
        }
    }
    t->sample_t[t->sample_head] = time_s;
    t->sample_x[t->sample_head] = ground[0];
    t->sample_y[t->sample_head] = ground[1];
    t->sample_head = (t->sample_head + 1) % SPEED_SAMPLES;
    if (t->sample_count < SPEED_SAMPLES)
        t->sample_count++;
}

static int emit(vs_zone_event *events, int max_events, int n, vs_zone_event event)
{
    if (n < max_events)
        events[n] = event;
    return n + 1;
}

int vs_zones_update(vs_zones_state *s, const vs_detection *dets, const int *track_ids, int count,
                    int64_t frame, double time_s, vs_zone_event *events, int max_events)
{
    const vs_zones_config *c = s->config;
    int n = 0;
    memset(s->occupancy, 0, (size_t)c->count * (size_t)s->class_count * sizeof *s->occupancy);
    for (int d = 0; d < count; d++) {
        if (track_ids[d] <= 0)
            continue;
        int index;
        zone_track *t = find_track(s, track_ids[d], 1, &index);
        t->class_id = dets[d].class_id;
        t->last_frame = frame;
        t->last_s = time_s;
        if (s->calibrated)
            add_speed_sample(s, t, &dets[d], time_s);
        double height = dets[d].y2 - dets[d].y1;
        for (int z = 0; z < c->count; z++) {
            const vs_zone *zone = &c->zones[z];
            zone_slot *slot = &s->slots[(size_t)index * c->count + z];
            if (!zone_counts_class(zone, dets[d].class_id))
                continue;
            double p[2];
            vs_anchor_point(&dets[d], zone->anchor, p);
            const double(*px)[2] = (const double(*)[2])s->pixels[z];
            if (zone->kind == VS_ZONE_POLYGON) {
                int inside = vs_point_in_polygon(p, px, zone->point_count);
                if (inside && dets[d].class_id >= 0 && dets[d].class_id < s->class_count)
                    s->occupancy[(size_t)z * s->class_count + dets[d].class_id]++;
                if (inside && !slot->inside) {
                    slot->inside = 1;
                    slot->enter_frame = frame;
                    slot->enter_s = time_s;
                } else if (!inside && slot->inside) {
                    slot->inside = 0;
                    n = emit(events, max_events, n,
                             (vs_zone_event){VS_ZONE_VISIT, z, t->id, t->class_id, 0, frame, time_s,
                                             slot->enter_frame, slot->enter_s, NAN});
                }
                continue;
            }
            double length = hypot(px[1][0] - px[0][0], px[1][1] - px[0][1]);
            double distance = vs_side(px[0], px[1], p) / length;
            double band = fmax(MIN_BAND_PX, zone->debounce * height);
            int side = distance > band ? 1 : distance < -band ? -1 : 0;
            if (side == 0)
                continue; /* on the line, within its band: no side yet */
            if (slot->side != 0 && side != slot->side &&
                vs_segments_intersect(slot->sided_at, p, px[0], px[1])) {
                int direction = side > 0 ? 0 : 1;
                if (dets[d].class_id >= 0 && dets[d].class_id < s->class_count)
                    s->crossings[((size_t)z * 2 + direction) * s->class_count + dets[d].class_id]++;
                n = emit(events, max_events, n,
                         (vs_zone_event){VS_ZONE_CROSSING, z, t->id, dets[d].class_id, direction,
                                         frame, time_s, frame, time_s, NAN});
            }
            slot->side = side;
            slot->sided_at[0] = p[0];
            slot->sided_at[1] = p[1];
        }
    }
    return n < max_events ? n : max_events;
}

int vs_zones_track_ended(vs_zones_state *s, int track_id, double *speed_kmh, vs_zone_event *events,
                         int max_events)
{
    int index, n = 0;
    *speed_kmh = NAN;
    zone_track *t = find_track(s, track_id, 0, &index);
    if (!t)
        return 0;
    if (t->speed_count > 0)
        *speed_kmh = t->speed_sum / (double)t->speed_count;
    for (int z = 0; z < s->config->count; z++) {
        zone_slot *slot = &s->slots[(size_t)index * s->config->count + z];
        if (slot->inside)
            n = emit(events, max_events, n,
                     (vs_zone_event){VS_ZONE_VISIT, z, t->id, t->class_id, 0, t->last_frame,
                                     t->last_s, slot->enter_frame, slot->enter_s, NAN});
    }
    t->id = 0;
    return n < max_events ? n : max_events;
}

const double (*vs_zones_pixels(const vs_zones_state *s, int zone))[2]
{
    return (const double(*)[2])s->pixels[zone];
}

int64_t vs_zones_crossings(const vs_zones_state *s, int zone, int direction, int class_id)
{
    if (class_id < 0 || class_id >= s->class_count)
        return 0;
    return s->crossings[((size_t)zone * 2 + direction) * s->class_count + class_id];
}

int vs_zones_occupancy(const vs_zones_state *s, int zone, int class_id)
{
    if (class_id < 0 || class_id >= s->class_count)
        return 0;
    return s->occupancy[(size_t)zone * s->class_count + class_id];
}

double vs_zones_speed(const vs_zones_state *s, int track_id)
{
    for (int i = 0; i < s->capacity; i++)
        if (s->tracks[i].id == track_id && track_id > 0)
            return s->tracks[i].speed_now;
    return NAN;
}
