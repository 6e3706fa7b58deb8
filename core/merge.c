/* merge.c: shard databases into one (see merge.h).
 *
 * DESIGN. OUT is created and migrated by vs_store_open, so its schema is
 * exactly a single-machine run's; the copying is then plain SQL on one
 * connection to OUT with each shard ATTACHed in turn, because INSERT ...
 * SELECT between attached databases moves millions of detection rows
 * without a round trip through C per row. Only this file writes OUT while
 * merging, and it writes nothing but rows of the store's own tables.
 *
 * A video is matched by its canonical path (v1 rows, which have none, by
 * path), the store's identity of a video. Runs are matched by their start
 * time, host and options, which a rerun of the same merge finds again. */
#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store.h"

/* The columns of `videos` copied as they are; id and run_id are remapped. */
#define VIDEO_COLUMNS                                                                              \
    "path, relative_path, size, mtime, fingerprint, container, codec, width, height, rotation,"    \
    " fps, frames, duration_s, has_audio, status, error, frames_analysed, detections,"             \
    " annotated_path, started_at, ended_at, canonical_path, output_name, analysis"
#define STAGE_COLUMNS                                                                              \
    "stage, unit, count, frames, total_ms, avg_ms, p95_ms, max_ms, queue_avg, queue_max,"          \
    " queue_capacity"
#define SAMPLE_COLUMNS "t_ms, rss_bytes, gpu_util, gpu_mem_bytes"

/* The tables that hang off a video, with the columns copied besides
 * video_id. Track ids are numbered per video, so they need no remapping. */
static const struct {
    const char *table, *columns;
} video_tables[] = {
    {"detections",
     "frame_index, pts_ms, class_id, label, score, x1, y1, x2, y2, carried, track_id"},
    {"snapshots", "kind, class_id, score, path, frame_index, x1, y1, x2, y2"},
    {"tracks", "track_id, class_id, label, first_frame, last_frame, first_ms, last_ms, detections,"
               " mean_score, speed_kmh"},
    {"zones", "name, kind, points, direction_in, direction_out"},
    {"crossings", "track_id, zone, frame_index, pts_ms, direction, class_id, label"},
    {"visits", "track_id, zone, enter_frame, enter_ms, exit_frame, exit_ms, dwell_s, class_id,"
               " label"},
};
/* A new schema version may add a table or a column of a video: merge must
 * copy it, or a merged database would silently lose it. */
_Static_assert(VS_STORE_SCHEMA_VERSION == 4,
               "merge.c copies the tables of schema v4: add what the new version adds");

typedef struct merge_state {
    sqlite3 *db;          /* OUT, with the shard attached as "shard" */
    const char *out_path; /* for messages */
    const char *shard_path;
    vs_merge_report report;
    void *context;
    vs_merge_result *result;
} merge_state;

static int merge_fail(merge_state *m, const char *doing, vs_error *err)
{
    return vs_fail(err, VS_EIO, "%s: cannot %s while merging %s: %s", VS_NAME(m->out_path), doing,
                   VS_NAME(m->shard_path), sqlite3_errmsg(m->db));
}

static int exec_sql(merge_state *m, const char *sql, const char *doing, vs_error *err)
{
    return sqlite3_exec(m->db, sql, NULL, NULL, NULL) == SQLITE_OK ? VS_OK
                                                                   : merge_fail(m, doing, err);
}

static int prepare(merge_state *m, const char *sql, sqlite3_stmt **stmt, vs_error *err)
{
    return sqlite3_prepare_v2(m->db, sql, -1, stmt, NULL) == SQLITE_OK
               ? VS_OK
               : merge_fail(m, "prepare a statement", err);
}

/* Runs a statement with two integer parameters (?1, ?2; ?2 ignored when the
 * SQL has none) to its end. */
static int run_with_ids(merge_state *m, const char *sql, int64_t first, int64_t second,
                        const char *doing, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = prepare(m, sql, &stmt, err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, first);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, second);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? VS_OK : merge_fail(m, doing, err);
}

static int read_int(merge_state *m, const char *sql, int64_t *value, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = prepare(m, sql, &stmt, err);
    if (status != VS_OK)
        return status;
    int rc = sqlite3_step(stmt);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VS_OK : merge_fail(m, "read", err);
}

/* A shard must be a vidsift database of this schema; merging it into
 * itself would double nothing but is surely a typo. */
static int check_shard_file(merge_state *m, const struct stat *out_info, vs_error *err)
{
    struct stat info;
    if (stat(m->shard_path, &info) != 0)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(m->shard_path), strerror(errno));
    if (!S_ISREG(info.st_mode))
        return vs_fail(err, VS_EIO, "%s: not a database file", VS_NAME(m->shard_path));
    if (info.st_dev == out_info->st_dev && info.st_ino == out_info->st_ino)
        return vs_fail(err, VS_EIO, "%s: is the output database itself", VS_NAME(m->shard_path));
    return VS_OK;
}

static int check_shard_schema(merge_state *m, vs_error *err)
{
    int64_t application_id = 0, version = 0;
    int status = read_int(m, "PRAGMA shard.application_id", &application_id, err);
    if (status == VS_OK)
        status = read_int(m, "PRAGMA shard.user_version", &version, err);
    if (status != VS_OK)
        return vs_fail(err, VS_EIO, "%s: not a SQLite database, or corrupt",
                       VS_NAME(m->shard_path));
    if (application_id != VS_STORE_APPLICATION_ID)
        return vs_fail(err, VS_EIO, "%s: a SQLite database, but not a vidsift results database",
                       VS_NAME(m->shard_path));
    if (version != VS_STORE_SCHEMA_VERSION)
        return vs_fail(err, VS_EIO,
                       "%s: schema v%lld, this build merges v%d (run this build's `vidsift run` "
                       "on it once to migrate it, or merge with the build that wrote it)",
                       VS_NAME(m->shard_path), (long long)version, VS_STORE_SCHEMA_VERSION);
    return VS_OK;
}

/* Copies the shard's runs OUT lacks and fills temp.run_map (shard id -> OUT
 * id). A run OUT holds unfinished (merged while the shard still ran) takes
 * the shard's end, summary, stage timings and samples. */
static int merge_runs(merge_state *m, vs_error *err)
{
    int status = exec_sql(m,
                          "CREATE TEMP TABLE IF NOT EXISTS run_map(shard_id INTEGER PRIMARY KEY,"
                          " out_id INTEGER NOT NULL); DELETE FROM temp.run_map",
                          "map the runs", err);
    sqlite3_stmt *runs = NULL, *find = NULL;
    if (status == VS_OK)
        status =
            prepare(m, "SELECT id, started_at, host, options, ended_at FROM shard.runs ORDER BY id",
                    &runs, err);
    if (status == VS_OK)
        status = prepare(m,
                         "SELECT id, ended_at IS NULL FROM main.runs WHERE started_at = ?1"
                         " AND host IS ?2 AND options IS ?3",
                         &find, err);
    int rc;
    while (status == VS_OK && (rc = sqlite3_step(runs)) == SQLITE_ROW) {
        int64_t shard_id = sqlite3_column_int64(runs, 0);
        for (int i = 1; i <= 3; i++)
            sqlite3_bind_value(find, i, sqlite3_column_value(runs, i));
        int64_t out_id = 0;
        int copy_timings = 0;
        if (sqlite3_step(find) == SQLITE_ROW) {
            out_id = sqlite3_column_int64(find, 0);
            if (sqlite3_column_int(find, 1) && sqlite3_column_type(runs, 4) != SQLITE_NULL) {
                copy_timings = 1;
                status = run_with_ids(
                    m,
                    "UPDATE main.runs SET (ended_at, status, summary) = (SELECT ended_at, status,"
                    " summary FROM shard.runs WHERE id = ?1) WHERE id = ?2",
                    shard_id, out_id, "update a run", err);
                if (status == VS_OK)
                    status = run_with_ids(m, "DELETE FROM main.stage_stats WHERE run_id = ?1",
                                          out_id, 0, "update a run", err);
                if (status == VS_OK)
                    status = run_with_ids(m, "DELETE FROM main.samples WHERE run_id = ?1", out_id,
                                          0, "update a run", err);
            }
        } else {
            status = run_with_ids(m,
                                  "INSERT INTO main.runs(started_at, ended_at, status, options,"
                                  " versions, device, host, summary) SELECT started_at, ended_at,"
                                  " status, options, versions, device, host, summary FROM"
                                  " shard.runs WHERE id = ?1",
                                  shard_id, 0, "copy a run", err);
            out_id = sqlite3_last_insert_rowid(m->db);
            copy_timings = 1;
            m->result->runs_added += status == VS_OK;
        }
        sqlite3_reset(find);
        if (status == VS_OK && copy_timings)
            status = run_with_ids(m,
                                  "INSERT INTO main.stage_stats(run_id, " STAGE_COLUMNS
                                  ") SELECT ?2, " STAGE_COLUMNS
                                  " FROM shard.stage_stats WHERE run_id = ?1 ORDER BY id",
                                  shard_id, out_id, "copy a run's timings", err);
        if (status == VS_OK && copy_timings)
            status = run_with_ids(m,
                                  "INSERT INTO main.samples(run_id, " SAMPLE_COLUMNS
                                  ") SELECT ?2, " SAMPLE_COLUMNS
                                  " FROM shard.samples WHERE run_id = ?1 ORDER BY id",
                                  shard_id, out_id, "copy a run's samples", err);
        if (status == VS_OK)
            status = run_with_ids(m, "INSERT INTO temp.run_map VALUES(?1, ?2)", shard_id, out_id,
                                  "map the runs", err);
    }
    if (status == VS_OK && rc != SQLITE_DONE)
        status = merge_fail(m, "read the runs", err);
    sqlite3_finalize(runs);
    sqlite3_finalize(find);
    return status;
}

/* 'done' (and 'skipped', which a store only writes over a done row) beats
 * 'failed' beats a row a killed process left 'running' or 'interrupted'. */
static int status_rank(const char *status)
{
    if (!status)
        return 0;
    if (!strcmp(status, "done") || !strcmp(status, "skipped"))
        return 2;
    return !strcmp(status, "failed");
}

static const char *text_or(sqlite3_stmt *stmt, int column, const char *fallback)
{
    const char *text = (const char *)sqlite3_column_text(stmt, column);
    return text ? text : fallback;
}

/* Columns 1..6 of both video queries: status, when, fingerprint, analysis,
 * frames_analysed, detections. Writes what differs into why ("" if nothing). */
static void compare_copies(sqlite3_stmt *ours, sqlite3_stmt *theirs, char *why, size_t size)
{
    static const char *const names[] = {
        NULL, NULL, NULL, "content fingerprint", "analysis", "frames analysed", "detections"};
    why[0] = 0;
    for (int column = 3; column <= 6; column++) {
        const char *a = text_or(ours, column, ""), *b = text_or(theirs, column, "");
        if (!strcmp(a, b))
            continue;
        size_t used = strlen(why);
        if (column == 4) /* the analysis text is long: name it only */
            snprintf(why + used, size - used, "%s%s", used ? ", " : "", names[column]);
        else
            snprintf(why + used, size - used, "%s%s %s vs %s", used ? ", " : "", names[column], a,
                     b);
    }
}

/* Copies shard video shard_id into OUT as id out_id (0: a new id), with its
 * detections and snapshots; keep_key 0 drops an output_key another video
 * of OUT already owns (its files stay in the shard's OUT). */
static int copy_video(merge_state *m, int64_t shard_id, int64_t out_id, int keep_key, vs_error *err)
{
    sqlite3_stmt *stmt;
    int prepared = prepare(
        m,
        "INSERT INTO main.videos(id, run_id, output_key, " VIDEO_COLUMNS
        ") SELECT ?2, (SELECT out_id FROM temp.run_map WHERE shard_id = v.run_id),"
        " CASE WHEN ?3 THEN output_key END, " VIDEO_COLUMNS " FROM shard.videos v WHERE id = ?1",
        &stmt, err);
    if (prepared != VS_OK)
        return prepared;
    sqlite3_bind_int64(stmt, 1, shard_id);
    if (out_id > 0)
        sqlite3_bind_int64(stmt, 2, out_id);
    sqlite3_bind_int(stmt, 3, keep_key);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return merge_fail(m, "copy a video", err);
    out_id = sqlite3_last_insert_rowid(m->db);
    int status = VS_OK;
    for (size_t t = 0; t < sizeof video_tables / sizeof video_tables[0] && status == VS_OK; t++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO main.%s(video_id, %s) SELECT ?2, %s FROM shard.%s"
                 " WHERE video_id = ?1 ORDER BY rowid",
                 video_tables[t].table, video_tables[t].columns, video_tables[t].columns,
                 video_tables[t].table);
        int64_t before = sqlite3_total_changes64(m->db);
        status = run_with_ids(m, sql, shard_id, out_id, "copy a video's rows", err);
        if (t == 0)
            m->result->detections_added += sqlite3_total_changes64(m->db) - before;
    }
    return status;
}

static int delete_video(merge_state *m, int64_t out_id, vs_error *err)
{
    int status = VS_OK;
    for (size_t t = 0; t < sizeof video_tables / sizeof video_tables[0] && status == VS_OK; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM main.%s WHERE video_id = ?1", video_tables[t].table);
        status = run_with_ids(m, sql, out_id, 0, "replace a video", err);
    }
    if (status == VS_OK)
        status = run_with_ids(m, "DELETE FROM main.videos WHERE id = ?1", out_id, 0,
                              "replace a video", err);
    return status;
}

#define VIDEO_QUERY                                                                                \
    "id, status, coalesce(ended_at, started_at, ''), fingerprint, analysis, frames_analysed,"      \
    " detections, coalesce(canonical_path, path), output_key, path"

static int merge_videos(merge_state *m, vs_error *err)
{
    sqlite3_stmt *theirs = NULL, *ours = NULL, *key_owner = NULL;
    int status = prepare(m, "SELECT " VIDEO_QUERY " FROM shard.videos ORDER BY id", &theirs, err);
    if (status == VS_OK)
        status = prepare(m,
                         "SELECT " VIDEO_QUERY " FROM main.videos WHERE canonical_path = ?1"
                         " OR (canonical_path IS NULL AND path = ?1)",
                         &ours, err);
    if (status == VS_OK)
        status = prepare(m, "SELECT id FROM main.videos WHERE output_key = ?1", &key_owner, err);
    int rc;
    while (status == VS_OK && (rc = sqlite3_step(theirs)) == SQLITE_ROW) {
        int64_t shard_id = sqlite3_column_int64(theirs, 0), out_id = 0;
        sqlite3_bind_value(ours, 1, sqlite3_column_value(theirs, 7));
        int better = 1;
        if (sqlite3_step(ours) == SQLITE_ROW) {
            out_id = sqlite3_column_int64(ours, 0);
            int rank_ours = status_rank(text_or(ours, 1, NULL));
            int rank_theirs = status_rank(text_or(theirs, 1, NULL));
            int newer = strcmp(text_or(theirs, 2, ""), text_or(ours, 2, "")) > 0;
            better = rank_theirs > rank_ours || (rank_theirs == rank_ours && newer);
            char why[512];
            compare_copies(ours, theirs, why, sizeof why);
            if (rank_ours == 2 && rank_theirs == 2 && why[0]) {
                char line[1024];
                snprintf(line, sizeof line,
                         "%s: the copies in %s and %s differ (%s); kept the newer, from %s",
                         VS_NAME(text_or(theirs, 9, "")), VS_NAME(m->out_path),
                         VS_NAME(m->shard_path), why,
                         VS_NAME(better ? m->shard_path : m->out_path));
                m->result->disagreements++;
                if (m->report)
                    m->report(m->context, line);
            }
        }
        sqlite3_reset(ours);
        if (!better) {
            m->result->videos_kept++;
            continue;
        }
        if (out_id > 0)
            status = delete_video(m, out_id, err);
        /* Two different videos of two shards may have been given the same
         * output name (file arguments with one name): the first keeps it. */
        int keep_key = 1;
        if (status == VS_OK && sqlite3_column_type(theirs, 8) != SQLITE_NULL) {
            sqlite3_bind_value(key_owner, 1, sqlite3_column_value(theirs, 8));
            keep_key = sqlite3_step(key_owner) != SQLITE_ROW;
            sqlite3_reset(key_owner);
        }
        if (status == VS_OK)
            status = copy_video(m, shard_id, out_id, keep_key, err);
        if (status == VS_OK) {
            if (out_id > 0)
                m->result->videos_replaced++;
            else
                m->result->videos_added++;
        }
    }
    if (status == VS_OK && rc != SQLITE_DONE)
        status = merge_fail(m, "read the videos", err);
    sqlite3_finalize(theirs);
    sqlite3_finalize(ours);
    sqlite3_finalize(key_owner);
    return status;
}

static int merge_one(merge_state *m, const struct stat *out_info, vs_error *err)
{
    /* Checked before ATTACH, which would create a missing file. */
    int status = check_shard_file(m, out_info, err);
    if (status != VS_OK)
        return status;
    sqlite3_stmt *attach;
    status = prepare(m, "ATTACH DATABASE ?1 AS shard", &attach, err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_text(attach, 1, m->shard_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(attach);
    sqlite3_finalize(attach);
    if (rc != SQLITE_DONE)
        return vs_fail(err, VS_EIO, "%s: cannot open: %s", VS_NAME(m->shard_path),
                       sqlite3_errmsg(m->db));
    status = check_shard_schema(m, err);
    if (status == VS_OK)
        status = exec_sql(m, "BEGIN IMMEDIATE", "start a write transaction", err);
    if (status == VS_OK)
        status = merge_runs(m, err);
    if (status == VS_OK)
        status = merge_videos(m, err);
    if (status == VS_OK)
        status = exec_sql(m, "COMMIT", "commit", err);
    if (status != VS_OK && !sqlite3_get_autocommit(m->db))
        sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(m->db, "DETACH DATABASE shard", NULL, NULL, NULL);
    return status;
}

int vs_merge(const char *out_path, const char *const *shard_paths, int shard_count,
             vs_merge_report report, void *context, vs_merge_result *result, vs_error *err)
{
    memset(result, 0, sizeof *result);
    /* The store creates OUT, or checks and migrates an existing one. */
    vs_store *store;
    int status = vs_store_open(&store, out_path, err);
    if (status != VS_OK)
        return status;
    vs_store_close(store);
    struct stat out_info;
    if (stat(out_path, &out_info) != 0)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(out_path), strerror(errno));

    merge_state m = {.out_path = out_path, .report = report, .context = context, .result = result};
    if (sqlite3_open_v2(out_path, &m.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        status = vs_fail(err, VS_EIO, "%s: cannot open: %s", VS_NAME(out_path),
                         m.db ? sqlite3_errmsg(m.db) : "out of memory");
        sqlite3_close(m.db);
        return status;
    }
    sqlite3_busy_timeout(m.db, VS_STORE_BUSY_MS);
    for (int i = 0; i < shard_count && status == VS_OK; i++) {
        m.shard_path = shard_paths[i];
        status = merge_one(&m, &out_info, err);
        result->shards += status == VS_OK;
    }
    if (sqlite3_close(m.db) != SQLITE_OK && status == VS_OK)
        status = vs_fail(err, VS_EIO, "%s: cannot close", VS_NAME(out_path));
    return status;
}
