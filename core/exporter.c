/* exporter.c: the formats of `vidsift export` (see exporter.h).
 *
 * Each format is one loop over a cursor; nothing is held but the current
 * row and, for COCO datasets and YOLO, the current video's size. Text from
 * the database is written so that the output always parses: JSON strings
 * with invalid UTF-8 replaced by U+FFFD, CSV fields quoted per RFC 4180.
 * The tracking tables (tracks, crossings, visits) describe each row once as
 * a list of named fields, which the csv and jsonl printers both write: the
 * two formats cannot disagree on a column. */
#include "exporter.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "detect.h"

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_sequence_length(const unsigned char *s)
{
    int length = s[0] < 0x80                   ? 1
                 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
                 : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                               : 0;
    for (int i = 1; i < length; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return length;
}

static void put_json_string(FILE *out, const char *text)
{
    if (!text) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', out);
            fputc(*s++, out);
        } else if (*s < 0x20) {
            fprintf(out, "\\u%04x", *s++);
        } else {
            int length = utf8_sequence_length(s);
            if (length == 0) {
                fputs("\\ufffd", out);
                s++;
            } else {
                fwrite(s, 1, (size_t)length, out);
                s += length;
            }
        }
    }
    fputc('"', out);
}

static void put_csv_field(FILE *out, const char *text)
{
    if (!text)
        return;
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *s = text; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int category_id(const char *label, int class_id)
{
    int coco = label ? vs_coco_category_id(label) : 0;
    return coco > 0 ? coco : VS_EXPORT_OTHER_CATEGORY_BASE + class_id;
}

int vs_export_csv(vs_store *store, const vs_store_filter *filter, FILE *out, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_detections(store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    fputs("video,video_id,frame_index,pts_ms,class_id,label,score,x1,y1,x2,y2,carried,track_id\n",
          out);
    vs_store_detection_row d;
    int step;
    while ((step = vs_store_next_detection(cursor, &d, err)) == 1) {
        put_csv_field(out, d.video_path);
        fprintf(out, ",%lld,%lld,%lld,%d,", (long long)d.video_id, (long long)d.frame_index,
                (long long)d.pts_ms, d.class_id);
        put_csv_field(out, d.label);
        fprintf(out, ",%.4f,%.2f,%.2f,%.2f,%.2f,%d,", d.score, d.x1, d.y1, d.x2, d.y2, d.carried);
        if (d.track_id >= 0)
            fprintf(out, "%lld", (long long)d.track_id);
        fputc('\n', out);
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

int vs_export_jsonl(vs_store *store, const vs_store_filter *filter, FILE *out, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_detections(store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_detection_row d;
    int step;
    while ((step = vs_store_next_detection(cursor, &d, err)) == 1) {
        fputs("{\"video\":", out);
        put_json_string(out, d.video_path);
        fprintf(out,
                ",\"video_id\":%lld,\"frame_index\":%lld,\"pts_ms\":%lld,\"class_id\":%d,"
                "\"label\":",
                (long long)d.video_id, (long long)d.frame_index, (long long)d.pts_ms, d.class_id);
        put_json_string(out, d.label);
        fprintf(out, ",\"score\":%.4f,\"box\":[%.2f,%.2f,%.2f,%.2f],\"carried\":%s,\"track_id\":",
                d.score, d.x1, d.y1, d.x2, d.y2, d.carried ? "true" : "false");
        if (d.track_id >= 0)
            fprintf(out, "%lld}\n", (long long)d.track_id);
        else
            fputs("null}\n", out);
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

/* ---- The tracking tables: each row described once, printed as csv or jsonl ---- */

/* One column of a row as the text formats print it. */
typedef struct export_field {
    const char *name;                                    /* the column's name in the schema */
    enum { FIELD_TEXT, FIELD_INTEGER, FIELD_REAL } kind; /* how the value is written */
    int is_null;                                         /* empty in csv, null in JSON */
    const char *text;
    int64_t integer;
    double real;
    int decimals; /* of a FIELD_REAL */
} export_field;

enum { EXPORT_FIELDS_MAX = 16 };

static export_field text_field(const char *name, const char *text)
{
    return (export_field){.name = name, .kind = FIELD_TEXT, .is_null = !text, .text = text};
}

static export_field integer_field(const char *name, int64_t value, int known)
{
    return (export_field){.name = name, .kind = FIELD_INTEGER, .is_null = !known, .integer = value};
}

static export_field real_field(const char *name, double value, int decimals, int known)
{
    return (export_field){
        .name = name, .kind = FIELD_REAL, .is_null = !known, .real = value, .decimals = decimals};
}

typedef union table_row {
    vs_store_track_row track;
    vs_store_crossing_event_row crossing;
    vs_store_visit_row visit;
} table_row;

/* Fill fields with a row's columns, in the table's order, and return how
 * many. Called with an all-zero row for the csv header: the names do not
 * depend on the values. */
static int track_fields(const table_row *row, export_field *fields)
{
    const vs_store_track_row *t = &row->track;
    int n = 0;
    fields[n++] = text_field("video", t->video_path);
    fields[n++] = integer_field("video_id", t->video_id, 1);
    fields[n++] = integer_field("track_id", t->track_id, 1);
    fields[n++] = integer_field("class_id", t->class_id, t->class_id >= 0);
    fields[n++] = text_field("label", t->label);
    fields[n++] = integer_field("first_frame", t->first_frame, t->summarised);
    fields[n++] = integer_field("last_frame", t->last_frame, t->summarised);
    fields[n++] = integer_field("first_ms", t->first_ms, t->summarised);
    fields[n++] = integer_field("last_ms", t->last_ms, t->summarised);
    fields[n++] = integer_field("detections", t->detections, t->summarised);
    fields[n++] = real_field("mean_score", t->mean_score, 4, t->summarised);
    fields[n++] = real_field("speed_kmh", t->speed_kmh, 2, t->speed_kmh >= 0);
    return n;
}

static int crossing_fields(const table_row *row, export_field *fields)
{
    const vs_store_crossing_event_row *c = &row->crossing;
    int n = 0;
    fields[n++] = text_field("video", c->video_path);
    fields[n++] = integer_field("video_id", c->video_id, 1);
    fields[n++] = integer_field("track_id", c->track_id, 1);
    fields[n++] = text_field("zone", c->zone);
    fields[n++] = integer_field("frame_index", c->frame_index, 1);
    fields[n++] = integer_field("pts_ms", c->pts_ms, 1);
    fields[n++] = text_field("direction", c->direction);
    fields[n++] = integer_field("class_id", c->class_id, c->class_id >= 0);
    fields[n++] = text_field("label", c->label);
    return n;
}

static int visit_fields(const table_row *row, export_field *fields)
{
    const vs_store_visit_row *v = &row->visit;
    int n = 0;
    fields[n++] = text_field("video", v->video_path);
    fields[n++] = integer_field("video_id", v->video_id, 1);
    fields[n++] = integer_field("track_id", v->track_id, 1);
    fields[n++] = text_field("zone", v->zone);
    fields[n++] = integer_field("enter_frame", v->enter_frame, 1);
    fields[n++] = integer_field("enter_ms", v->enter_ms, 1);
    fields[n++] = integer_field("exit_frame", v->exit_frame, 1);
    fields[n++] = integer_field("exit_ms", v->exit_ms, 1);
    fields[n++] = real_field("dwell_s", v->dwell_s, 3, 1);
    fields[n++] = integer_field("class_id", v->class_id, v->class_id >= 0);
    fields[n++] = text_field("label", v->label);
    return n;
}

static int next_track(vs_store_cursor *cursor, table_row *row, vs_error *err)
{
    return vs_store_next_track(cursor, &row->track, err);
}

static int next_crossing(vs_store_cursor *cursor, table_row *row, vs_error *err)
{
    return vs_store_next_crossing_event(cursor, &row->crossing, err);
}

static int next_visit(vs_store_cursor *cursor, table_row *row, vs_error *err)
{
    return vs_store_next_visit(cursor, &row->visit, err);
}

/* How one tracking table is read and described. */
typedef struct table_reader {
    int (*open)(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                vs_error *err);
    int (*next)(vs_store_cursor *cursor, table_row *row, vs_error *err);
    int (*fields)(const table_row *row, export_field *fields);
} table_reader;

static const table_reader readers[] = {
    [VS_EXPORT_TRACKS] = {vs_store_read_tracks, next_track, track_fields},
    [VS_EXPORT_CROSSINGS] = {vs_store_read_crossing_events, next_crossing, crossing_fields},
    [VS_EXPORT_VISITS] = {vs_store_read_visits, next_visit, visit_fields},
};

const char *vs_export_table_name(vs_export_table table)
{
    static const char *const names[] = {[VS_EXPORT_DETECTIONS] = "detections",
                                        [VS_EXPORT_TRACKS] = "tracks",
                                        [VS_EXPORT_CROSSINGS] = "crossings",
                                        [VS_EXPORT_VISITS] = "visits"};
    assert(table >= VS_EXPORT_DETECTIONS && table <= VS_EXPORT_VISITS);
    return names[table];
}

static void put_field_value(FILE *out, const export_field *f, int json)
{
    if (f->is_null) {
        if (json)
            fputs("null", out);
        return;
    }
    switch (f->kind) {
    case FIELD_TEXT: json ? put_json_string(out, f->text) : put_csv_field(out, f->text); break;
    case FIELD_INTEGER: fprintf(out, "%lld", (long long)f->integer); break;
    case FIELD_REAL: fprintf(out, "%.*f", f->decimals, f->real); break;
    }
}

/* csv (a header row, then a row per row) or jsonl (an object per row and line). */
static int export_table_rows(vs_store *store, vs_export_table table, int json,
                             const vs_store_filter *filter, FILE *out, vs_error *err)
{
    assert(table > VS_EXPORT_DETECTIONS && table <= VS_EXPORT_VISITS);
    assert(!filter || filter->min_score == 0); /* these rows have no score */
    const table_reader *reader = &readers[table];
    export_field fields[EXPORT_FIELDS_MAX];
    table_row row = {0};
    int count;
    if (!json) {
        count = reader->fields(&row, fields);
        for (int i = 0; i < count; i++)
            fprintf(out, "%s%s", i ? "," : "", fields[i].name);
        fputc('\n', out);
    }
    vs_store_cursor *cursor;
    int status = reader->open(store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    int step;
    while ((step = reader->next(cursor, &row, err)) == 1) {
        count = reader->fields(&row, fields);
        assert(count <= EXPORT_FIELDS_MAX);
        for (int i = 0; i < count; i++) {
            if (json) {
                fputs(i ? ",\"" : "{\"", out);
                fputs(fields[i].name, out);
                fputs("\":", out);
            } else if (i) {
                fputc(',', out);
            }
            put_field_value(out, &fields[i], json);
        }
        fputs(json ? "}\n" : "\n", out);
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

int vs_export_table_csv(vs_store *store, vs_export_table table, const vs_store_filter *filter,
                        FILE *out, vs_error *err)
{
    return table == VS_EXPORT_DETECTIONS ? vs_export_csv(store, filter, out, err)
                                         : export_table_rows(store, table, 0, filter, out, err);
}

int vs_export_table_jsonl(vs_store *store, vs_export_table table, const vs_store_filter *filter,
                          FILE *out, vs_error *err)
{
    return table == VS_EXPORT_DETECTIONS ? vs_export_jsonl(store, filter, out, err)
                                         : export_table_rows(store, table, 1, filter, out, err);
}

int vs_export_coco_results(vs_store *store, const vs_store_filter *filter, FILE *out, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_detections(store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    fputc('[', out);
    vs_store_detection_row d;
    int step, first = 1;
    while ((step = vs_store_next_detection(cursor, &d, err)) == 1) {
        fprintf(out,
                "%s\n{\"image_id\":%lld,\"category_id\":%d,\"bbox\":[%.2f,%.2f,%.2f,%.2f],"
                "\"score\":%.4f}",
                first ? "" : ",", (long long)VS_EXPORT_IMAGE_ID(d.video_id, d.frame_index),
                category_id(d.label, d.class_id), d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1, d.score);
        first = 0;
    }
    fputs("\n]\n", out);
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

/* Which frames of a video the model saw, as far as the stored analysis
 * tells: every `every`-th frame when no time-based sampling or similarity
 * skipping was used (exact), else only the frames with detections. */
typedef struct frame_rule {
    int known; /* 1: every `every`-th frame of `frames` */
    int every;
    int64_t frames;
} frame_rule;

static frame_rule analysed_frames(const vs_store_video_row *v)
{
    frame_rule rule = {.every = 1, .frames = v->frames};
    cJSON *analysis = v->analysis ? cJSON_Parse(v->analysis) : NULL;
    const cJSON *every = cJSON_GetObjectItemCaseSensitive(analysis, "every");
    const cJSON *fps = cJSON_GetObjectItemCaseSensitive(analysis, "sample_fps");
    const cJSON *similar = cJSON_GetObjectItemCaseSensitive(analysis, "skip_similar");
    if (cJSON_IsNumber(every) && every->valueint >= 1)
        rule.every = every->valueint;
    rule.known = analysis && v->frames > 0 && !(cJSON_IsNumber(fps) && fps->valuedouble > 0) &&
                 !(cJSON_IsNumber(similar) && similar->valuedouble > 0);
    cJSON_Delete(analysis);
    return rule;
}

static void put_image(FILE *out, const vs_store_video_row *v, int64_t frame, int *first)
{
    fprintf(out, "%s\n{\"id\":%lld,\"width\":%d,\"height\":%d,\"file_name\":", *first ? "" : ",",
            (long long)VS_EXPORT_IMAGE_ID(v->id, frame), v->width, v->height);
    char name[PATH_MAX + 32];
    snprintf(name, sizeof name, "%s#frame=%lld", v->path ? v->path : "", (long long)frame);
    put_json_string(out, name);
    fputs(",\"video\":", out);
    put_json_string(out, v->path);
    fprintf(out, ",\"video_id\":%lld,\"frame_index\":%lld}", (long long)v->id, (long long)frame);
    *first = 0;
}

/* The images of one video: the rule's frames merged with the frames that
 * have detections (a frame analysed after a size change is one of those). */
static int put_video_images(vs_store *store, const vs_store_filter *filter,
                            const vs_store_video_row *v, FILE *out, int *first, vs_error *err)
{
    frame_rule rule = analysed_frames(v);
    vs_store_filter one = *filter;
    one.video_id = v->id;
    vs_store_cursor *cursor;
    int status = vs_store_read_detections(store, &one, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_detection_row d;
    int step = vs_store_next_detection(cursor, &d, err);
    int64_t next_rule = rule.known ? 0 : INT64_MAX, last = -1;
    while (step >= 0) {
        int64_t next_detected = step == 1 ? d.frame_index : INT64_MAX;
        int64_t frame = next_rule < next_detected ? next_rule : next_detected;
        if (frame == INT64_MAX)
            break;
        if (frame != last)
            put_image(out, v, frame, first);
        last = frame;
        if (frame == next_rule) {
            next_rule += rule.every;
            if (next_rule >= rule.frames)
                next_rule = INT64_MAX;
        }
        while (step == 1 && d.frame_index == frame)
            step = vs_store_next_detection(cursor, &d, err);
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

int vs_export_coco_dataset(vs_store *store, const vs_store_filter *filter, const char *db_path,
                           FILE *out, vs_error *err)
{
    fputs("{\"info\":{\"description\":\"vidsift detections as a COCO dataset: one image per "
          "analysed video frame (id = video id x 10^8 + frame index), annotations with their "
          "scores\",\"database\":",
          out);
    put_json_string(out, db_path);
    fputs("},\n\"images\":[", out);
    vs_store_cursor *cursor;
    int status = vs_store_read_videos(store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_video_row v;
    int step = 0, first = 1;
    while (status == VS_OK && (step = vs_store_next_video(cursor, &v, err)) == 1)
        status = put_video_images(store, filter, &v, out, &first, err);
    vs_store_cursor_close(cursor);
    if (status != VS_OK || step < 0)
        return status != VS_OK ? status : step;

    fputs("],\n\"annotations\":[", out);
    if ((status = vs_store_read_detections(store, filter, &cursor, err)) != VS_OK)
        return status;
    vs_store_detection_row d;
    int64_t id = 0;
    while ((step = vs_store_next_detection(cursor, &d, err)) == 1) {
        double width = d.x2 - d.x1, height = d.y2 - d.y1;
        id++; /* not inside the fprintf: its arguments are unsequenced */
        fprintf(out,
                "%s\n{\"id\":%lld,\"image_id\":%lld,\"category_id\":%d,"
                "\"bbox\":[%.2f,%.2f,%.2f,%.2f],\"area\":%.2f,\"iscrowd\":0,\"score\":%.4f}",
                id > 1 ? "," : "", (long long)id,
                (long long)VS_EXPORT_IMAGE_ID(d.video_id, d.frame_index),
                category_id(d.label, d.class_id), d.x1, d.y1, width, height, width * height,
                d.score);
    }
    vs_store_cursor_close(cursor);
    if (step < 0)
        return step;

    fputs("],\n\"categories\":[", out);
    if ((status = vs_store_read_classes(store, filter, &cursor, err)) != VS_OK)
        return status;
    vs_store_class_row c;
    first = 1;
    while ((step = vs_store_next_class(cursor, &c, err)) == 1) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "class %d", c.class_id);
        fprintf(out, "%s\n{\"id\":%d,\"name\":", first ? "" : ",",
                category_id(c.label, c.class_id));
        put_json_string(out, c.label ? c.label : fallback);
        fputs(",\"supercategory\":\"\"}", out);
        first = 0;
    }
    vs_store_cursor_close(cursor);
    fputs("]}\n", out);
    return step < 0 ? step : VS_OK;
}

static int write_classes_txt(vs_store *store, const vs_store_filter *filter, const char *dir,
                             vs_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/classes.txt", dir);
    FILE *file = fopen(path, "w");
    if (!file)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
    vs_store_cursor *cursor;
    int status = vs_store_read_classes(store, filter, &cursor, err);
    vs_store_class_row c;
    int step = 0, next_id = 0;
    /* Line N names class N: ids the filter left out get "class N". */
    while (status == VS_OK && (step = vs_store_next_class(cursor, &c, err)) == 1) {
        for (; next_id < c.class_id; next_id++)
            fprintf(file, "class %d\n", next_id);
        fprintf(file, "%s\n", c.label ? c.label : "?");
        next_id = c.class_id + 1;
    }
    vs_store_cursor_close(cursor);
    if (fclose(file) != 0 && status == VS_OK && step >= 0)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
    return status != VS_OK ? status : step < 0 ? step : VS_OK;
}

int vs_export_yolo(vs_store *store, const vs_store_filter *filter, const char *dir, vs_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(dir), strerror(errno));
    int status = write_classes_txt(store, filter, dir, err);
    if (status != VS_OK)
        return status;
    vs_store_cursor *cursor;
    if ((status = vs_store_read_detections(store, filter, &cursor, err)) != VS_OK)
        return status;
    vs_store_detection_row d;
    int step = 0;
    int64_t video = -1, frame = -1;
    double width = 1, height = 1;
    FILE *file = NULL;
    char path[PATH_MAX];
    while (status == VS_OK && (step = vs_store_next_detection(cursor, &d, err)) == 1) {
        if (d.video_id != video) {
            /* The video's size, to normalise its boxes. */
            vs_store_filter one = {.video_id = d.video_id};
            vs_store_cursor *videos;
            vs_store_video_row v;
            if ((status = vs_store_read_videos(store, &one, &videos, err)) != VS_OK)
                break;
            if (vs_store_next_video(videos, &v, err) == 1) {
                width = v.width > 0 ? v.width : 1;
                height = v.height > 0 ? v.height : 1;
            }
            vs_store_cursor_close(videos);
            video = d.video_id;
            frame = -1;
            snprintf(path, sizeof path, "%s/%lld", dir, (long long)video);
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                status = vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
                break;
            }
        }
        if (d.frame_index != frame) {
            if (file && fclose(file) != 0) {
                file = NULL;
                status = vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
                break;
            }
            frame = d.frame_index;
            snprintf(path, sizeof path, "%s/%lld/%lld.txt", dir, (long long)video,
                     (long long)frame);
            if (!(file = fopen(path, "w"))) {
                status = vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
                break;
            }
        }
        fprintf(file, "%d %.6f %.6f %.6f %.6f %.4f\n", d.class_id, (d.x1 + d.x2) / 2 / width,
                (d.y1 + d.y2) / 2 / height, (d.x2 - d.x1) / width, (d.y2 - d.y1) / height, d.score);
    }
    if (file && fclose(file) != 0 && status == VS_OK)
        status = vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
    vs_store_cursor_close(cursor);
    return status != VS_OK ? status : step < 0 ? step : VS_OK;
}

int vs_export_mot(vs_store *store, const vs_store_filter *filter, const char *db_path, FILE *out,
                  vs_error *err)
{
    int64_t videos = 0;
    int status = vs_store_count_tracked_videos(store, filter, &videos, err);
    if (status != VS_OK)
        return status;
    if (videos > 1)
        return vs_fail(err, VS_EINVAL,
                       "%s: --format mot writes one video, and %lld have tracks: choose one with "
                       "--video",
                       VS_NAME(db_path), (long long)videos);
    vs_store_cursor *cursor = NULL;
    if ((status = vs_store_read_detections(store, filter, &cursor, err)) != VS_OK)
        return status;
    vs_store_detection_row d;
    int step;
    while ((step = vs_store_next_detection(cursor, &d, err)) == 1) {
        if (d.track_id < 0 || d.carried)
            continue;
        fprintf(out, "%lld,%lld,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n", (long long)d.frame_index + 1,
                (long long)d.track_id, d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1, d.score);
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}
