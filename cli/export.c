/* export.c: `vidsift export` - detections from a results database as CSV,
 * JSON Lines or COCO JSON.
 *
 * Owns its options and help text. It only reads the database (read-only
 * connection, one read transaction so every query sees the same snapshot
 * while a run may be writing), and streams rows: memory stays flat however
 * many detections there are. It never writes the database. With --out the
 * text goes to FILE.part, renamed to FILE once complete. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "options.h"
#include "store.h"

enum { OPT_VIDEO = 256 };

static const cli_option options_table[] = {
    {"format", 'f', "FMT", 'f',
     "csv    one row per detection, with a header row:\n"
     "       video,video_id,frame_index,pts_ms,class_id,label,score,\n"
     "       x1,y1,x2,y2,carried,track_id\n"
     "jsonl  one JSON object per detection and line: video, video_id,\n"
     "       frame_index, pts_ms, class_id, label, score,\n"
     "       box [x1,y1,x2,y2], carried, track_id\n"
     "coco   one JSON object: \"images\" (one per video frame with\n"
     "       detections: id, video, video_id, frame_index, pts_ms,\n"
     "       width, height, file_name \"VIDEO#frame=N\"), \"categories\"\n"
     "       (id = the model's class id, name = label) and\n"
     "       \"annotations\", COCO results records (id, image_id,\n"
     "       category_id, bbox [x,y,w,h], area, iscrowd 0, score)\n"
     "mot    MOTChallenge results of one video's tracks: frame\n"
     "       (1-based),id,left,top,width,height,score,-1,-1,-1"},
    {"video", 0, "PATTERN", OPT_VIDEO,
     "only videos whose stored path matches PATTERN (shell-style,\n"
     "case-sensitive, * also matches /), e.g. '*/cam1/*'"},
    {"out", 'o', "FILE", 'o', "write FILE (through FILE.part) instead of standard output"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift export",
    .synopsis = "DB --format csv|jsonl|coco|mot [--video PATTERN] [--out FILE]",
    .description = "Writes the detections stored in DB (a results database of `vidsift run`),\n"
                   "ordered by video, frame and detection, to FILE or standard output.\n",
    .options = options_table,
    .epilogue =
        "Boxes are in source pixels of the coded frame; x2/y2 are exclusive edges.\n"
        "\n"
        "exit status: 0 written, 1 output could not be written, 2 usage or database error\n",
};

typedef enum export_format {
    FORMAT_NONE,
    FORMAT_CSV,
    FORMAT_JSONL,
    FORMAT_COCO,
    FORMAT_MOT
} export_format;

/* The detection query every format reads; ?1 is the --video pattern or NULL.
 * Its order matches the images query, which COCO relies on to number images. */
#define DETECTIONS_SQL                                                                             \
    "SELECT v.path, d.video_id, d.frame_index, d.pts_ms, d.class_id, d.label, d.score,"            \
    " d.x1, d.y1, d.x2, d.y2, d.carried, d.track_id"                                               \
    " FROM detections d JOIN videos v ON v.id = d.video_id"                                        \
    " WHERE ?1 IS NULL OR v.path GLOB ?1"                                                          \
    " ORDER BY d.video_id, d.frame_index, d.id"

enum {
    COL_PATH,
    COL_VIDEO_ID,
    COL_FRAME,
    COL_PTS,
    COL_CLASS,
    COL_LABEL,
    COL_SCORE,
    COL_X1,
    COL_Y1,
    COL_X2,
    COL_Y2,
    COL_CARRIED,
    COL_TRACK
};

typedef struct export_job {
    sqlite3 *db;
    const char *db_path;
    const char *pattern;
    FILE *out;
} export_job;

static int db_error(const export_job *job, const char *doing)
{
    fprintf(stderr, "vidsift export: %s: cannot %s: %s\n", VS_NAME(job->db_path), doing,
            sqlite3_errmsg(job->db));
    return 2;
}

static int prepare(export_job *job, const char *sql, sqlite3_stmt **stmt)
{
    if (sqlite3_prepare_v2(job->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_error(job, "query the database");
    if (job->pattern)
        sqlite3_bind_text(*stmt, 1, job->pattern, -1, SQLITE_STATIC);
    return 0;
}

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

/* JSON string; bytes that are not UTF-8 (file names may hold any) become U+FFFD
 * so that the output always parses. NULL becomes null. */
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

/* RFC 4180 field: quoted only when it holds a comma, quote or line break. */
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

static const char *column_text(sqlite3_stmt *stmt, int column)
{
    return (const char *)sqlite3_column_text(stmt, column);
}

static int export_csv(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job, DETECTIONS_SQL, &stmt))
        return 2;
    fputs("video,video_id,frame_index,pts_ms,class_id,label,score,x1,y1,x2,y2,carried,track_id\n",
          job->out);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        put_csv_field(job->out, column_text(stmt, COL_PATH));
        fprintf(
            job->out, ",%lld,%lld,%lld,%d,", (long long)sqlite3_column_int64(stmt, COL_VIDEO_ID),
            (long long)sqlite3_column_int64(stmt, COL_FRAME),
            (long long)sqlite3_column_int64(stmt, COL_PTS), sqlite3_column_int(stmt, COL_CLASS));
        put_csv_field(job->out, column_text(stmt, COL_LABEL));
        fprintf(job->out, ",%.4f,%.2f,%.2f,%.2f,%.2f,%d,", sqlite3_column_double(stmt, COL_SCORE),
                sqlite3_column_double(stmt, COL_X1), sqlite3_column_double(stmt, COL_Y1),
                sqlite3_column_double(stmt, COL_X2), sqlite3_column_double(stmt, COL_Y2),
                sqlite3_column_int(stmt, COL_CARRIED));
        if (sqlite3_column_type(stmt, COL_TRACK) != SQLITE_NULL)
            fprintf(job->out, "%lld", (long long)sqlite3_column_int64(stmt, COL_TRACK));
        fputc('\n', job->out);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read detections");
}

static void put_track_id(FILE *out, sqlite3_stmt *stmt)
{
    if (sqlite3_column_type(stmt, COL_TRACK) == SQLITE_NULL)
        fputs("null", out);
    else
        fprintf(out, "%lld", (long long)sqlite3_column_int64(stmt, COL_TRACK));
}

static int export_jsonl(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job, DETECTIONS_SQL, &stmt))
        return 2;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        fputs("{\"video\":", job->out);
        put_json_string(job->out, column_text(stmt, COL_PATH));
        fprintf(job->out,
                ",\"video_id\":%lld,\"frame_index\":%lld,\"pts_ms\":%lld,\"class_id\":%d,"
                "\"label\":",
                (long long)sqlite3_column_int64(stmt, COL_VIDEO_ID),
                (long long)sqlite3_column_int64(stmt, COL_FRAME),
                (long long)sqlite3_column_int64(stmt, COL_PTS),
                sqlite3_column_int(stmt, COL_CLASS));
        put_json_string(job->out, column_text(stmt, COL_LABEL));
        fprintf(job->out,
                ",\"score\":%.4f,\"box\":[%.2f,%.2f,%.2f,%.2f],\"carried\":%s,\"track_id\":",
                sqlite3_column_double(stmt, COL_SCORE), sqlite3_column_double(stmt, COL_X1),
                sqlite3_column_double(stmt, COL_Y1), sqlite3_column_double(stmt, COL_X2),
                sqlite3_column_double(stmt, COL_Y2),
                sqlite3_column_int(stmt, COL_CARRIED) ? "true" : "false");
        put_track_id(job->out, stmt);
        fputs("}\n", job->out);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read detections");
}

/* MOTChallenge results text: "frame,id,left,top,width,height,score,-1,-1,-1"
 * per tracked box of the model's frames, frames 1-based. A MOT file is one
 * sequence, so the rows must come from one video (--video chooses it). */
static int export_mot(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job,
                "SELECT count(DISTINCT d.video_id) FROM detections d JOIN videos v"
                " ON v.id = d.video_id WHERE (?1 IS NULL OR v.path GLOB ?1)"
                " AND d.track_id IS NOT NULL",
                &stmt))
        return 2;
    int64_t videos = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (videos < 0)
        return db_error(job, "read detections");
    if (videos > 1) {
        fprintf(stderr,
                "vidsift export: %s: --format mot writes one video, and %lld have tracks: choose "
                "one with --video\n",
                VS_NAME(job->db_path), (long long)videos);
        return 2;
    }
    if (prepare(job, DETECTIONS_SQL, &stmt))
        return 2;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_type(stmt, COL_TRACK) == SQLITE_NULL ||
            sqlite3_column_int(stmt, COL_CARRIED))
            continue;
        double x1 = sqlite3_column_double(stmt, COL_X1), y1 = sqlite3_column_double(stmt, COL_Y1);
        fprintf(job->out, "%lld,%lld,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n",
                (long long)sqlite3_column_int64(stmt, COL_FRAME) + 1,
                (long long)sqlite3_column_int64(stmt, COL_TRACK), x1, y1,
                sqlite3_column_double(stmt, COL_X2) - x1, sqlite3_column_double(stmt, COL_Y2) - y1,
                sqlite3_column_double(stmt, COL_SCORE));
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read detections");
}

static int coco_images(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job,
                "SELECT d.video_id, d.frame_index, min(d.pts_ms), v.path, v.width, v.height"
                " FROM detections d JOIN videos v ON v.id = d.video_id"
                " WHERE ?1 IS NULL OR v.path GLOB ?1"
                " GROUP BY d.video_id, d.frame_index ORDER BY d.video_id, d.frame_index",
                &stmt))
        return 2;
    fputs("\"images\":[", job->out);
    int64_t image_id = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        long long frame = (long long)sqlite3_column_int64(stmt, 1);
        const char *path = column_text(stmt, 3);
        image_id++; /* not inside the fprintf: its arguments are unsequenced */
        fprintf(job->out, "%s\n{\"id\":%lld,\"video\":", image_id > 1 ? "," : "",
                (long long)image_id);
        put_json_string(job->out, path);
        fprintf(job->out,
                ",\"video_id\":%lld,\"frame_index\":%lld,\"pts_ms\":%lld,\"width\":%d,"
                "\"height\":%d,\"file_name\":",
                (long long)sqlite3_column_int64(stmt, 0), frame,
                (long long)sqlite3_column_int64(stmt, 2), sqlite3_column_int(stmt, 4),
                sqlite3_column_int(stmt, 5));
        char file_name[4200];
        snprintf(file_name, sizeof file_name, "%s#frame=%lld", path ? path : "", frame);
        put_json_string(job->out, file_name);
        fputc('}', job->out);
    }
    sqlite3_finalize(stmt);
    fputs("],\n", job->out);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read frames");
}

static int coco_categories(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job,
                "SELECT d.class_id, max(d.label) FROM detections d JOIN videos v"
                " ON v.id = d.video_id WHERE ?1 IS NULL OR v.path GLOB ?1"
                " GROUP BY d.class_id ORDER BY d.class_id",
                &stmt))
        return 2;
    fputs("\"categories\":[", job->out);
    int first = 1, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int class_id = sqlite3_column_int(stmt, 0);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "class %d", class_id);
        const char *name = column_text(stmt, 1);
        fprintf(job->out, "%s\n{\"id\":%d,\"name\":", first ? "" : ",", class_id);
        put_json_string(job->out, name ? name : fallback);
        fputc('}', job->out);
        first = 0;
    }
    sqlite3_finalize(stmt);
    fputs("],\n", job->out);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read classes");
}

static int coco_annotations(export_job *job)
{
    sqlite3_stmt *stmt;
    if (prepare(job, DETECTIONS_SQL, &stmt))
        return 2;
    fputs("\"annotations\":[", job->out);
    /* Images are numbered in (video_id, frame_index) order by coco_images;
     * rows come in the same order, so a change of frame is the next image. */
    int64_t image_id = 0, annotation_id = 0, last_video = -1, last_frame = -1;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t video_id = sqlite3_column_int64(stmt, COL_VIDEO_ID);
        int64_t frame = sqlite3_column_int64(stmt, COL_FRAME);
        if (video_id != last_video || frame != last_frame) {
            image_id++;
            last_video = video_id;
            last_frame = frame;
        }
        double x1 = sqlite3_column_double(stmt, COL_X1), y1 = sqlite3_column_double(stmt, COL_Y1);
        double width = sqlite3_column_double(stmt, COL_X2) - x1;
        double height = sqlite3_column_double(stmt, COL_Y2) - y1;
        annotation_id++;
        fprintf(job->out,
                "%s\n{\"id\":%lld,\"image_id\":%lld,\"category_id\":%d,"
                "\"bbox\":[%.2f,%.2f,%.2f,%.2f],\"area\":%.2f,\"iscrowd\":0,\"score\":%.4f}",
                annotation_id > 1 ? "," : "", (long long)annotation_id, (long long)image_id,
                sqlite3_column_int(stmt, COL_CLASS), x1, y1, width, height, width * height,
                sqlite3_column_double(stmt, COL_SCORE));
    }
    sqlite3_finalize(stmt);
    fputs("]", job->out);
    return rc == SQLITE_DONE ? 0 : db_error(job, "read detections");
}

static int export_coco(export_job *job)
{
    fputs("{\"info\":{\"description\":\"vidsift detections; annotations are COCO results records,"
          " images map image_id to a video frame\",\"database\":",
          job->out);
    put_json_string(job->out, job->db_path);
    fputs("},\n", job->out);
    int status = coco_images(job);
    if (!status)
        status = coco_categories(job);
    if (!status)
        status = coco_annotations(job);
    fputs("}\n", job->out);
    return status;
}

/* Opens read-only and checks that DB is a vidsift database this build can read. */
static int open_database(export_job *job)
{
    struct stat info;
    if (stat(job->db_path, &info) != 0) {
        fprintf(stderr, "vidsift export: %s: %s\n", VS_NAME(job->db_path), strerror(errno));
        return 2;
    }
    if (sqlite3_open_v2(job->db_path, &job->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return db_error(job, "open the database");
    sqlite3_busy_timeout(job->db, VS_STORE_BUSY_MS);
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(job->db,
                           "SELECT user_version, application_id FROM pragma_user_version,"
                           " pragma_application_id",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(job, "read the database (is it a vidsift results database?)");
    int version = 0, application_id = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        version = sqlite3_column_int(stmt, 0);
        application_id = sqlite3_column_int(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (application_id != VS_STORE_APPLICATION_ID || version < 1) {
        fprintf(stderr, "vidsift export: %s: not a vidsift results database\n",
                VS_NAME(job->db_path));
        return 2;
    }
    if (version > VS_STORE_SCHEMA_VERSION) {
        fprintf(stderr,
                "vidsift export: %s: written by a newer vidsift (schema v%d; this build reads up "
                "to v%d)\n",
                VS_NAME(job->db_path), version, VS_STORE_SCHEMA_VERSION);
        return 2;
    }
    /* One read transaction: every query of a COCO export sees the same rows. */
    if (sqlite3_exec(job->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(job, "start reading");
    return 0;
}

static int parse_format(const char *name, export_format *format)
{
    static const struct {
        const char *name;
        export_format format;
    } formats[] = {
        {"csv", FORMAT_CSV}, {"jsonl", FORMAT_JSONL}, {"coco", FORMAT_COCO}, {"mot", FORMAT_MOT}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(name, formats[i].name)) {
            *format = formats[i].format;
            return 0;
        }
    fprintf(stderr, "vidsift export: unknown format '%s' (csv, jsonl, coco or mot)\n", name);
    return 2;
}

int cmd_export(int argc, char **argv)
{
    export_format format = FORMAT_NONE;
    export_job job = {0};
    const char *out_path = NULL;
    cli_parser parser;
    cli_parser_init(&parser, &command);
    int option;
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case 'f':
            if (parse_format(optarg, &format))
                return 2;
            break;
        case OPT_VIDEO: job.pattern = optarg; break;
        case 'o': out_path = optarg; break;
        default: return cli_exit_status(option);
        }
    }
    if (optind != argc - 1 || format == FORMAT_NONE) {
        fprintf(stderr, "vidsift export: %s\n",
                optind >= argc      ? "which database? (DB is required)"
                : optind < argc - 1 ? "one database at a time"
                                    : "--format is required (csv, jsonl, coco or mot)");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    job.db_path = argv[optind];
    int status = open_database(&job);
    if (status) {
        sqlite3_close(job.db);
        return status;
    }

    char part_path[4200];
    job.out = stdout;
    if (out_path) {
        snprintf(part_path, sizeof part_path, "%s.part", out_path);
        job.out = fopen(part_path, "w");
        if (!job.out) {
            fprintf(stderr, "vidsift export: %s: %s\n", VS_NAME(part_path), strerror(errno));
            sqlite3_close(job.db);
            return 1;
        }
    }
    status = format == FORMAT_CSV     ? export_csv(&job)
             : format == FORMAT_JSONL ? export_jsonl(&job)
             : format == FORMAT_MOT   ? export_mot(&job)
                                      : export_coco(&job);
    sqlite3_exec(job.db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(job.db);

    int write_failed = ferror(job.out) != 0;
    if (out_path) {
        write_failed |= fclose(job.out) != 0;
        if (!status && !write_failed && rename(part_path, out_path) != 0)
            write_failed = 1;
        if (status || write_failed)
            unlink(part_path);
    } else {
        write_failed |= fflush(stdout) != 0;
    }
    if (!status && write_failed) {
        fprintf(stderr, "vidsift export: cannot write %s: %s\n",
                VS_NAME(out_path ? out_path : "output"), strerror(errno));
        return 1;
    }
    return status;
}
