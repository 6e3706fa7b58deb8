/* export.c: `vidsift export` - detections from a results database as CSV,
 * JSON Lines or COCO JSON; tracks, line crossings and visits (--table) as
 * CSV or JSON Lines.
 *
 * Owns its options and help text. Every format reads through the store's
 * cursors (core/store.c, one read transaction so every query sees the same
 * snapshot while a run may be writing) and is written by core/exporter.c,
 * streaming: memory stays flat however many detections there are. It never
 * writes the database. With --out the text goes to FILE.part, renamed to
 * FILE once complete. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "exporter.h"
#include "store.h"

enum { OPT_VIDEO = 256, OPT_CLASS, OPT_MIN_SCORE, OPT_RUN, OPT_TABLE };

static const cli_option options_table[] = {
    {"format", 'f', "FMT", 'f',
     "csv    a header row, then a row per detection (or --table row):\n"
     "       video,video_id,frame_index,pts_ms,class_id,label,score,\n"
     "       x1,y1,x2,y2,carried,track_id\n"
     "jsonl  one JSON object per line and detection (or --table row):\n"
     "       video, video_id, frame_index, pts_ms, class_id, label,\n"
     "       score, box [x1,y1,x2,y2], carried, track_id\n"
     "coco   the COCO results list (pycocotools loadRes): [{image_id,\n"
     "       category_id (the COCO id), bbox [x,y,w,h], score}]; image_id\n"
     "       = video_id x 10^8 + frame_index\n"
     "coco-dataset  one COCO dataset object: \"images\" (every analysed\n"
     "       frame: id, width, height, file_name \"VIDEO#frame=N\", video,\n"
     "       video_id, frame_index), \"annotations\" (id, image_id,\n"
     "       category_id, bbox, area, iscrowd 0, score), \"categories\"\n"
     "yolo   with --out DIR: DIR/classes.txt and DIR/VIDEO_ID/FRAME.txt,\n"
     "       \"class x_center y_center width height score\" (0-1)\n"
     "mot    MOTChallenge results of one video's tracks: frame\n"
     "       (1-based),id,left,top,width,height,score,-1,-1,-1"},
    {"table", 0, "TABLE", OPT_TABLE,
     "what csv and jsonl export (default detections):\n"
     "tracks     video,video_id,track_id,class_id,label,first_frame,\n"
     "           last_frame,first_ms,last_ms,detections,mean_score,\n"
     "           speed_kmh\n"
     "crossings  line crossings: video,video_id,track_id,zone,\n"
     "           frame_index,pts_ms,direction,class_id,label\n"
     "visits     stays in polygons: video,video_id,track_id,zone,\n"
     "           enter_frame,enter_ms,exit_frame,exit_ms,dwell_s,\n"
     "           class_id,label\n"
     "the columns of the results database's tables; a NULL one is\n"
     "empty in csv, null in jsonl; --min-score is for detections"},
    {"video", 0, "PATTERN", OPT_VIDEO,
     "only videos whose stored path matches PATTERN (shell-style,\n"
     "case-sensitive, * also matches /), e.g. '*/cam1/*'"},
    {"class", 0, "A,B", OPT_CLASS, "only these labels, any case"},
    {"min-score", 0, "X", OPT_MIN_SCORE, "only detections scoring at least X (0-1)"},
    {"run", 0, "ID", OPT_RUN, "only the videos last analysed by run ID"},
    {"out", 'o', "FILE", 'o',
     "write FILE (through FILE.part) instead of standard output;\n"
     "a directory for yolo"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift export",
    .synopsis = "DB|OUT --format csv|jsonl|coco|coco-dataset|yolo|mot\n"
                "       [--table detections|tracks|crossings|visits] [--video PATTERN]\n"
                "       [--class A,B] [--min-score X] [--run ID] [--out FILE]",
    .description = "Writes the detections stored in DB (a results database of `vidsift run`),\n"
                   "ordered by video, frame and detection, to FILE or standard output; with\n"
                   "--table, its tracks (by video and track id), line crossings (by video\n"
                   "and frame) or visits (by video and entering frame) as csv or jsonl.\n",
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
    FORMAT_COCO_DATASET,
    FORMAT_YOLO,
    FORMAT_MOT
} export_format;

static const struct {
    const char *name;
    export_format format;
} formats[] = {{"csv", FORMAT_CSV},   {"jsonl", FORMAT_JSONL},
               {"coco", FORMAT_COCO}, {"coco-dataset", FORMAT_COCO_DATASET},
               {"yolo", FORMAT_YOLO}, {"mot", FORMAT_MOT}};

static const char *format_name(export_format format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].name;
    return "no format";
}

static int parse_format(const char *name, export_format *format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(name, formats[i].name)) {
            *format = formats[i].format;
            return 0;
        }
    fprintf(stderr,
            "vidsift export: unknown format '%s' (csv, jsonl, coco, coco-dataset, yolo or mot)\n",
            name);
    return 2;
}

static int parse_table(const char *name, vs_export_table *table)
{
    for (vs_export_table t = VS_EXPORT_DETECTIONS; t <= VS_EXPORT_VISITS; t++)
        if (!strcmp(name, vs_export_table_name(t))) {
            *table = t;
            return 0;
        }
    fprintf(stderr,
            "vidsift export: unknown table '%s' (detections, tracks, crossings or visits)\n",
            VS_NAME(name));
    return 2;
}

/* --min-score and --run values. */
static int parse_filter_value(int option, const char *text, vs_store_filter *filter)
{
    char *end;
    errno = 0;
    if (option == OPT_MIN_SCORE) {
        double score = strtod(text, &end);
        if (errno || *end || end == text || !(score >= 0 && score <= 1)) {
            fprintf(stderr, "vidsift export: --min-score: '%s' is not a number from 0 to 1\n",
                    VS_NAME(text));
            return 2;
        }
        filter->min_score = score;
        return 0;
    }
    long long run = strtoll(text, &end, 10);
    if (errno || *end || end == text || run < 1) {
        fprintf(stderr, "vidsift export: --run: '%s' is not a run id (1 or more)\n", VS_NAME(text));
        return 2;
    }
    filter->run_id = run;
    return 0;
}

int cmd_export(int argc, char **argv)
{
    export_format format = FORMAT_NONE;
    vs_export_table table = VS_EXPORT_DETECTIONS;
    vs_store_filter filter = {0};
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
        case OPT_TABLE:
            if (parse_table(optarg, &table))
                return 2;
            break;
        case OPT_VIDEO: filter.video_pattern = optarg; break;
        case OPT_CLASS: filter.classes = optarg; break;
        case OPT_MIN_SCORE:
        case OPT_RUN:
            if (parse_filter_value(option, optarg, &filter))
                return 2;
            break;
        case 'o': out_path = optarg; break;
        default: return cli_exit_status(option);
        }
    }
    if (optind != argc - 1 || format == FORMAT_NONE) {
        fprintf(stderr, "vidsift export: %s\n",
                optind >= argc ? "which database? (DB is required)"
                : optind < argc - 1
                    ? "one database at a time"
                    : "--format is required (csv, jsonl, coco, coco-dataset, yolo or mot)");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    char db_path[4200];
    cli_database_path(argv[optind], db_path, sizeof db_path);
    if (table != VS_EXPORT_DETECTIONS && format != FORMAT_CSV && format != FORMAT_JSONL) {
        fprintf(stderr, "vidsift export: --table %s is exported as csv or jsonl, not %s\n",
                vs_export_table_name(table), format_name(format));
        return 2;
    }
    if (table != VS_EXPORT_DETECTIONS && filter.min_score > 0) {
        fprintf(stderr, "vidsift export: --min-score filters detections; --table %s has no score\n",
                vs_export_table_name(table));
        return 2;
    }
    if (format == FORMAT_YOLO && !out_path) {
        fprintf(stderr,
                "vidsift export: --format yolo writes a directory: give it with --out DIR\n");
        return 2;
    }
    vs_store *store = NULL;
    vs_error err = {{0}};
    if (vs_store_open_read(&store, db_path, &err) != VS_OK) {
        fprintf(stderr, "vidsift export: %s\n", err.msg);
        return 2;
    }
    char part_path[4200];
    FILE *out = stdout;
    if (out_path && format != FORMAT_YOLO) {
        snprintf(part_path, sizeof part_path, "%s.part", out_path);
        out = fopen(part_path, "w");
        if (!out) {
            fprintf(stderr, "vidsift export: %s: %s\n", VS_NAME(part_path), strerror(errno));
            vs_store_close(store);
            return 1;
        }
    }
    int failed = format == FORMAT_CSV     ? vs_export_table_csv(store, table, &filter, out, &err)
                 : format == FORMAT_JSONL ? vs_export_table_jsonl(store, table, &filter, out, &err)
                 : format == FORMAT_COCO  ? vs_export_coco_results(store, &filter, out, &err)
                 : format == FORMAT_COCO_DATASET
                     ? vs_export_coco_dataset(store, &filter, db_path, out, &err)
                 : format == FORMAT_MOT ? vs_export_mot(store, &filter, db_path, out, &err)
                                        : vs_export_yolo(store, &filter, out_path, &err);
    vs_store_close(store);
    if (failed)
        fprintf(stderr, "vidsift export: %s\n", err.msg);
    int status = !failed ? 0 : failed == VS_EIO && format == FORMAT_YOLO ? 1 : 2;

    int write_failed = ferror(out) != 0;
    if (out_path && format != FORMAT_YOLO) {
        write_failed |= fclose(out) != 0;
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
