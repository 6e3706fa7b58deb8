/* store.h: the SQLite results database (schema: README.md, "The results database").
 *
 * One vs_store is one connection, used by one thread at a time (the sink
 * thread). Detection rows are buffered in an open write transaction that is
 * committed every VS_STORE_COMMIT_ROWS rows or VS_STORE_COMMIT_MS
 * milliseconds, so inserts cost no fsync each and a crash loses at most the
 * last second; a video's status only becomes 'done' in vs_store_end_video,
 * after its rows are committed, so a partially stored video is never taken
 * for a complete one.
 *
 * Several vidsift runs may share one database: WAL lets readers run beside a
 * writer, and a writer waits up to the busy timeout (VS_STORE_BUSY_MS) for
 * another run's transaction. If it is still locked after that, the call fails
 * with VS_EBUSY and "database ... is locked by another process". */
#ifndef VS_STORE_H
#define VS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "vs_error.h"

#define VS_STORE_SCHEMA_VERSION 4          /* PRAGMA user_version written by this build */
#define VS_STORE_APPLICATION_ID 0x56534654 /* PRAGMA application_id: "VSFT" */
#define VS_STORE_BUSY_MS 5000
#define VS_STORE_COMMIT_ROWS 50000
#define VS_STORE_COMMIT_MS 1000

typedef struct vs_store vs_store;

/* One pipeline stage's timing, as the report shows it. */
typedef struct vs_store_stage_stat {
    const char *stage; /* "decode", "preprocess", "infer", ... */
    const char *unit;  /* what one sample timed: "frame" or "batch"; NULL = unknown */
    int64_t count;     /* samples taken */
    int64_t frames;    /* frames those samples covered */
    double total_ms, avg_ms, p95_ms, max_ms;
    double queue_avg;   /* mean occupancy of the stage's input queue; < 0 = unknown */
    int queue_max;      /* highest occupancy seen; < 0 = unknown */
    int queue_capacity; /* < 0 = unknown */
} vs_store_stage_stat;

/* One resource sample of the run's time series. */
typedef struct vs_store_sample {
    double t_ms;           /* since the run started */
    int64_t rss_bytes;     /* < 0 = unknown */
    double gpu_util;       /* percent, 0-100; < 0 = unknown (no GPU) */
    int64_t gpu_mem_bytes; /* < 0 = unknown */
} vs_store_sample;

/* Opens (creating if needed) the database at path: checks it is a vidsift
 * database, migrates its schema to VS_STORE_SCHEMA_VERSION, turns on WAL.
 * Errors: VS_EIO (cannot create, not a database, corrupt, newer schema),
 * VS_EBUSY (locked by another run past the busy timeout). */
int vs_store_open(vs_store **out, const char *path, vs_error *err);
/* Changes how long a writer waits for another run's lock (tests use short waits). */
void vs_store_set_busy_timeout(vs_store *store, int milliseconds);

/* Adds a runs row with status 'running'. JSON arguments are stored as given. */
int vs_store_begin_run(vs_store *store, const char *options_json, const char *versions_json,
                       const char *device, const char *host, int64_t *run_id, vs_error *err);
/* status: "done", "failed" or "interrupted". Commits. */
int vs_store_end_run(vs_store *store, int64_t run_id, const char *status, const char *summary_json,
                     vs_error *err);

/* The analysis (core/analysis.h text) every video of this run is done with:
 * stored per video by vs_store_begin_video, compared by
 * vs_store_video_is_complete. NULL: none stored, none compared. */
int vs_store_set_analysis(vs_store *store, const char *analysis, vs_error *err);
/* A video is identified by its canonical path (a row of a v1 database, which
 * has none, by its path as given). *complete = 1 when its row has status
 * 'done', the same size, mtime and fingerprint as the file now, and the same
 * analysis as this run (resume skips it). Otherwise, when a row exists,
 * reason (NULL allowed) says why it is redone ("the file changed (content)",
 * "options changed (conf 0.3 -> 0.6)"); "" for a new video. */
int vs_store_video_is_complete(vs_store *store, const vs_video *video, int *complete, char *reason,
                               size_t reason_size, vs_error *err);
/* Records the video (its row updated in place when it exists, same id;
 * status 'running', this run, this run's analysis) and deletes any
 * detections and snapshots stored for it earlier, in one committed
 * transaction: a redo never duplicates rows. Settles video->output_name, its
 * place under OUT/annotated/ and OUT/snapshots/: the place its row already
 * has, or the proposal in video->output_name when no other video of the
 * database has that annotated name (compared case-folded, ".mp4" appended
 * as the sink does), else the proposal with "~<hash of the canonical path>"
 * before its extension. */
int vs_store_begin_video(vs_store *store, int64_t run_id, vs_video *video, int64_t *video_id,
                         vs_error *err);
/* The zones (--zones) whose names the tracker's events carry by index;
 * kept by pointer for the store's life. NULL: none. */
struct vs_zones_config;
void vs_store_set_zones(vs_store *store, const struct vs_zones_config *zones);
/* Buffers one frame's tracker events (crossings, visits, a track's speed:
 * any kind of frame, VIDEO_END included) and detections with their track ids
 * (VS_FRAME_PICTURE only).
 * labels[class_id] names each class (NULL, or a NULL entry: label stays NULL). */
int vs_store_add_frame(vs_store *store, int64_t video_id, const vs_frame *frame,
                       const char *const *labels, vs_error *err);
/* Commits the video's rows, then sets its status from video->status (done,
 * failed, interrupted, skipped), error text, frame and detection counts. */
int vs_store_end_video(vs_store *store, int64_t video_id, const vs_video *video, vs_error *err);
/* Records where the annotated video of video_id was written. */
int vs_store_set_annotated(vs_store *store, int64_t video_id, const char *annotated_path,
                           vs_error *err);
/* One snapshot file and where in the video it was cut from. */
typedef struct vs_store_snapshot {
    const char *kind; /* "thumb" (class_id < 0, score ignored) or "best" (of class_id) */
    int class_id;
    double score;
    const char *path;
    int64_t frame_index; /* decoded frame number, as detections.frame_index */
    /* The crop in that frame's coded pixels (x2, y2 exclusive): the whole
     * picture for a thumb; for a best crop the detection's box widened to
     * whole chroma samples and clipped to the picture. */
    int x1, y1, x2, y2;
} vs_store_snapshot;

int vs_store_add_snapshot(vs_store *store, int64_t video_id, const vs_store_snapshot *snapshot,
                          vs_error *err);

int vs_store_add_stage_stats(vs_store *store, int64_t run_id, const vs_store_stage_stat *stats,
                             int count, vs_error *err);
int vs_store_add_samples(vs_store *store, int64_t run_id, const vs_store_sample *samples, int count,
                         vs_error *err);

/* Commits the open transaction, if any, then checks the file (below). Every
 * commit checks it, so a run never reports success into a lost database. */
int vs_store_commit(vs_store *store, vs_error *err);
/* VS_EIO when the database file this store writes was deleted, its directory
 * removed, or another file put at its path since it was opened. */
int vs_store_check_file(vs_store *store, vs_error *err);
/* Commits what is buffered (the rows are valid; video status says whether a
 * video is complete) and closes. NULL is ignored. */
void vs_store_close(vs_store *store);

/* Inserts `rows` synthetic detections (20 per frame) into a new database at
 * path through vs_store_add_frame, and reports the rate, commit included.
 * Refuses an existing path; deletes the database afterwards. */
int vs_store_bench(const char *path, int64_t rows, double *rows_per_s, vs_error *err);

/* The status text stored for a video status ("done", "failed", ...). */
const char *vs_store_status_name(vs_video_status status);

/* ---- Reading: the cursors every reader goes through (report, export) ----
 *
 * A read store is opened read-only and holds one read transaction from open
 * to close, so every cursor sees the same snapshot while a run may be
 * writing. A cursor returns rows one at a time: memory stays flat however
 * many rows there are. The text fields of a row point into the cursor and
 * stay valid until its next step or its close; NULL where the column is. */

/* Opens path read-only. Refuses a file that is not a vidsift database, one
 * written by a newer vidsift, and one of an older schema (a `vidsift run`
 * with it migrates it): VS_EIO with a message naming path. Close with
 * vs_store_close. */
int vs_store_open_read(vs_store **out, const char *path, vs_error *err);

typedef struct vs_store_cursor vs_store_cursor;
/* NULL is ignored. */
void vs_store_cursor_close(vs_store_cursor *cursor);

/* What a reader wants; zero (and NULL) fields select everything. */
typedef struct vs_store_filter {
    int64_t run_id;            /* videos whose last analysis was this run (videos.run_id) */
    int64_t video_id;          /* one video */
    const char *video_pattern; /* GLOB on videos.path: shell-style, * also matches / */
    const char *classes;       /* comma-separated labels, any case */
    double min_score;          /* detections scoring at least this */
} vs_store_filter;

typedef struct vs_store_run_row {
    int64_t id;
    const char *started_at, *ended_at, *status; /* as in the runs table */
    const char *options, *versions, *summary;   /* JSON text */
    const char *device, *host;
} vs_store_run_row;

typedef struct vs_store_video_row {
    int64_t id, run_id;
    const char *path, *canonical_path, *relative_path, *output_name;
    const char *container, *codec, *status, *error, *annotated_path, *analysis;
    const char *started_at, *ended_at;
    int width, height, rotation, has_audio;
    double fps, duration_s; /* < 0: unknown */
    int64_t frames;         /* < 0: unknown */
    int64_t frames_analysed, detections;
} vs_store_video_row;

typedef struct vs_store_detection_row {
    int64_t video_id, frame_index, pts_ms;
    const char *video_path, *label;
    int class_id, carried;
    double score, x1, y1, x2, y2; /* source pixels; x2/y2 exclusive */
    int64_t track_id;             /* < 0: none */
} vs_store_detection_row;

/* Per class over the filtered detections. */
typedef struct vs_store_class_row {
    int class_id;
    const char *label;
    int64_t detections; /* rows */
    int64_t tracks;     /* distinct track ids; 0 without tracking */
    int64_t frames;     /* distinct (video, frame) with this class */
} vs_store_class_row;

typedef struct vs_store_snapshot_row {
    int64_t id, video_id;
    const char *kind;  /* "thumb" or "best" */
    int class_id;      /* < 0 for a thumb */
    const char *label; /* the class's label, from the video's detections; NULL for a thumb */
    double score;      /* < 0 for a thumb */
    const char *path;
} vs_store_snapshot_row;

/* Each opens a cursor; *out is NULL on failure. Orders: runs newest first
 * (filter->run_id: that run only); videos by id; detections by video, frame
 * and row id; classes by class id; stage statistics in pipeline order;
 * samples by time; snapshots by video and id. */
int vs_store_read_runs(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                       vs_error *err);
int vs_store_read_videos(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err);
int vs_store_read_detections(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                             vs_error *err);
int vs_store_read_classes(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                          vs_error *err);
int vs_store_read_stage_stats(vs_store *store, int64_t run_id, vs_store_cursor **out,
                              vs_error *err);
int vs_store_read_samples(vs_store *store, int64_t run_id, vs_store_cursor **out, vs_error *err);
int vs_store_read_snapshots(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                            vs_error *err);

/* Line crossings counted per zone, class and direction. */
typedef struct vs_store_crossing_row {
    const char *zone, *label, *direction;
    int64_t crossings;
} vs_store_crossing_row;
/* Ordered by zone, label and direction; filter: its videos (run, video, pattern). */
int vs_store_read_crossings(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                            vs_error *err);
int vs_store_next_crossing(vs_store_cursor *cursor, vs_store_crossing_row *row, vs_error *err);

/* The tracking tables row by row (schema: README.md; `vidsift export
 * --table`). Each filter applies its run, video, pattern and classes (the
 * row's label); min_score is ignored, these rows have no score. A v2
 * database, which has no tracking, gives no rows. */
typedef struct vs_store_track_row {
    int64_t video_id, track_id;
    const char *video_path, *label;
    /* 0: only the track's speed was stored (its video ended before it was
     * summarised, e.g. a killed run): the fields below but speed_kmh are 0. */
    int summarised;
    int class_id; /* the class most of its boxes have; < 0: unknown */
    int64_t first_frame, last_frame, first_ms, last_ms;
    int64_t detections; /* analysed boxes, carried copies not counted */
    double mean_score;
    double speed_kmh; /* < 0: none (no calibration) */
} vs_store_track_row;

typedef struct vs_store_crossing_event_row {
    int64_t video_id, track_id, frame_index, pts_ms;
    const char *video_path, *zone, *direction, *label;
    int class_id; /* < 0: unknown */
} vs_store_crossing_event_row;

typedef struct vs_store_visit_row {
    int64_t video_id, track_id, enter_frame, enter_ms, exit_frame, exit_ms;
    const char *video_path, *zone, *label;
    double dwell_s;
    int class_id; /* < 0: unknown */
} vs_store_visit_row;

/* Orders: tracks by video and track id; crossings by video, frame and row
 * id; visits by video, entering frame and row id. */
int vs_store_read_tracks(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err);
int vs_store_next_track(vs_store_cursor *cursor, vs_store_track_row *row, vs_error *err);
int vs_store_read_crossing_events(vs_store *store, const vs_store_filter *filter,
                                  vs_store_cursor **out, vs_error *err);
int vs_store_next_crossing_event(vs_store_cursor *cursor, vs_store_crossing_event_row *row,
                                 vs_error *err);
int vs_store_read_visits(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err);
int vs_store_next_visit(vs_store_cursor *cursor, vs_store_visit_row *row, vs_error *err);

/* How many videos, among the filter's, have detections with a track id:
 * `export --format mot` writes one video's tracks and refuses more. The
 * filter's classes and min_score select the detections counted. */
int vs_store_count_tracked_videos(vs_store *store, const vs_store_filter *filter, int64_t *count,
                                  vs_error *err);

/* Steps a cursor opened by the matching vs_store_read_*: 1 and the row
 * filled, 0 at the end, or a negative VS_E* status with err set. */
int vs_store_next_run(vs_store_cursor *cursor, vs_store_run_row *row, vs_error *err);
int vs_store_next_video(vs_store_cursor *cursor, vs_store_video_row *row, vs_error *err);
int vs_store_next_detection(vs_store_cursor *cursor, vs_store_detection_row *row, vs_error *err);
int vs_store_next_class(vs_store_cursor *cursor, vs_store_class_row *row, vs_error *err);
int vs_store_next_stage_stat(vs_store_cursor *cursor, vs_store_stage_stat *row, vs_error *err);
int vs_store_next_sample(vs_store_cursor *cursor, vs_store_sample *row, vs_error *err);
int vs_store_next_snapshot(vs_store_cursor *cursor, vs_store_snapshot_row *row, vs_error *err);

#endif
