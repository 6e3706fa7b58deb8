/* store.c: the results database - schema, migrations, buffered writes.
 *
 * Owns one SQLite connection and the SQL that reads and writes the schema
 * documented in core/store.md. It must never be called from two threads at
 * once, never commit per detection row (rows go into a transaction that is
 * committed by size or age), and never leave a video marked 'done' whose
 * rows are not committed: the status update and the video's last rows
 * commit together.
 *
 * Every write transaction starts with BEGIN IMMEDIATE, which takes the
 * write lock up front: a deferred transaction that later upgrades from read
 * to write can fail at once in WAL mode without waiting on the busy handler,
 * which would turn a short wait for another run into a spurious error. */
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

struct vs_store {
    sqlite3 *db;
    char path[4096];
    int busy_ms;
    sqlite3_stmt *insert_detection; /* prepared once: the one hot statement */
    int64_t rows_in_transaction;
    double transaction_started_ms;
};

/* Schema v1. Later versions append a migration to `migrations` below and
 * never edit this text: databases written by older builds replay the steps
 * they lack, in order. */
static const char schema_v1[] =
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  started_at TEXT NOT NULL,"
    "  ended_at TEXT,"
    "  status TEXT NOT NULL,"
    "  options TEXT,"
    "  versions TEXT,"
    "  device TEXT,"
    "  host TEXT,"
    "  summary TEXT);"
    "CREATE TABLE videos ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  relative_path TEXT,"
    "  size INTEGER,"
    "  mtime INTEGER,"
    "  fingerprint TEXT,"
    "  container TEXT,"
    "  codec TEXT,"
    "  width INTEGER,"
    "  height INTEGER,"
    "  rotation INTEGER,"
    "  fps REAL,"
    "  frames INTEGER,"
    "  duration_s REAL,"
    "  has_audio INTEGER,"
    "  status TEXT NOT NULL,"
    "  error TEXT,"
    "  run_id INTEGER REFERENCES runs(id),"
    "  frames_analysed INTEGER,"
    "  detections INTEGER,"
    "  annotated_path TEXT,"
    "  started_at TEXT,"
    "  ended_at TEXT);"
    "CREATE TABLE detections ("
    "  id INTEGER PRIMARY KEY,"
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  frame_index INTEGER NOT NULL,"
    "  pts_ms INTEGER,"
    "  class_id INTEGER NOT NULL,"
    "  label TEXT,"
    "  score REAL NOT NULL,"
    "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
    "  carried INTEGER NOT NULL DEFAULT 0,"
    "  track_id INTEGER);"
    "CREATE INDEX detections_video_frame ON detections(video_id, frame_index);"
    "CREATE TABLE stage_stats ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  stage TEXT NOT NULL,"
    "  unit TEXT,"
    "  count INTEGER,"
    "  frames INTEGER,"
    "  total_ms REAL, avg_ms REAL, p95_ms REAL, max_ms REAL,"
    "  queue_avg REAL, queue_max INTEGER, queue_capacity INTEGER);"
    "CREATE INDEX stage_stats_run ON stage_stats(run_id);"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  t_ms REAL NOT NULL,"
    "  rss_bytes INTEGER,"
    "  gpu_util REAL,"
    "  gpu_mem_bytes INTEGER);"
    "CREATE INDEX samples_run ON samples(run_id, t_ms);"
    "CREATE TABLE snapshots ("
    "  id INTEGER PRIMARY KEY,"
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  kind TEXT NOT NULL,"
    "  class_id INTEGER,"
    "  score REAL,"
    "  path TEXT NOT NULL);"
    "CREATE INDEX snapshots_video ON snapshots(video_id);";

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const migrations[VS_STORE_SCHEMA_VERSION] = {
    schema_v1, /* 0 -> 1: empty file to the first schema */
};

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

static double monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

/* Turns an SQLite failure into a status and one line that says what it
 * means for the user, not only what SQLite said. */
static int store_fail(const vs_store *store, int rc, const char *doing, vs_error *err)
{
    const char *path = store->path;
    const char *detail = store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
    int system_errno = store->db ? sqlite3_system_errno(store->db) : 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return vs_fail(err, VS_EBUSY,
                       "%s: database is locked by another process "
                       "(waited %.1f s to %s); wait for it to finish or use another --db",
                       path, store->busy_ms / 1000.0, doing);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return vs_fail(err, VS_EIO,
                       "%s: not a SQLite database, or corrupt (%s while trying to %s); "
                       "move it away or give another --db",
                       path, detail, doing);
    case SQLITE_FULL: return vs_fail(err, VS_EIO, "%s: disk full while trying to %s", path, doing);
    case SQLITE_NOMEM:
        return vs_fail(err, VS_ENOMEM, "%s: out of memory while trying to %s", path, doing);
    case SQLITE_READONLY:
        return vs_fail(err, VS_EIO, "%s: database is read-only (%s) while trying to %s", path,
                       detail, doing);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
        return vs_fail(err, VS_EIO, "%s: cannot %s: %s%s%s%s", path, doing, detail,
                       system_errno ? " (" : "", system_errno ? strerror(system_errno) : "",
                       system_errno ? ")" : "");
    default: return vs_fail(err, VS_EIO, "%s: cannot %s: %s", path, doing, detail);
    }
}

static int store_exec(vs_store *store, const char *sql, const char *doing, vs_error *err)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VS_OK : store_fail(store, rc, doing, err);
}

static int store_prepare(vs_store *store, const char *sql, sqlite3_stmt **stmt, const char *doing,
                         vs_error *err)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL);
    return rc == SQLITE_OK ? VS_OK : store_fail(store, rc, doing, err);
}

/* Steps a statement that returns no rows (or whose rows are not needed) and
 * finalizes it. */
static int store_step_done(vs_store *store, sqlite3_stmt *stmt, const char *doing, vs_error *err)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? VS_OK : store_fail(store, rc, doing, err);
}

static void bind_text_or_null(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text && *text)
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, index);
}

static int read_int(vs_store *store, const char *sql, int64_t *value, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_prepare(store, sql, &stmt, "read the database header", err);
    if (status != VS_OK)
        return status;
    int rc = sqlite3_step(stmt);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? VS_OK
               : store_fail(store, rc, "read the database header", err);
}

static int transaction_open(const vs_store *store)
{
    return !sqlite3_get_autocommit(store->db);
}

static int store_begin(vs_store *store, vs_error *err)
{
    if (transaction_open(store))
        return VS_OK;
    int status = store_exec(store, "BEGIN IMMEDIATE", "start a write transaction", err);
    if (status != VS_OK)
        return status;
    store->rows_in_transaction = 0;
    store->transaction_started_ms = monotonic_ms();
    return VS_OK;
}

int vs_store_commit(vs_store *store, vs_error *err)
{
    if (!transaction_open(store))
        return VS_OK;
    int rc = sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        store->rows_in_transaction = 0;
        return VS_OK;
    }
    int status = store_fail(store, rc, "commit", err);
    /* A failed COMMIT (disk full, I/O error) may leave the transaction open;
     * roll it back so the connection stays usable for the next video. */
    if (transaction_open(store))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    store->rows_in_transaction = 0;
    return status;
}

/* Commits when the open transaction is big or old enough. */
static int store_commit_if_due(vs_store *store, vs_error *err)
{
    if (!transaction_open(store))
        return VS_OK;
    if (store->rows_in_transaction >= VS_STORE_COMMIT_ROWS ||
        monotonic_ms() - store->transaction_started_ms >= VS_STORE_COMMIT_MS)
        return vs_store_commit(store, err);
    return VS_OK;
}

/* Fails early, with a plain reason, where SQLite would only say "unable to
 * open database file". WAL also needs to create PATH-wal and PATH-shm beside
 * the database, so the directory must be writable even when the file is. */
static int check_location(const char *path, vs_error *err)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat info;
    if (stat(dir, &info) != 0)
        return vs_fail(err, VS_EIO, "%s: directory %s does not exist (%s)", path, dir,
                       strerror(errno));
    if (!S_ISDIR(info.st_mode))
        return vs_fail(err, VS_EIO, "%s: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return vs_fail(err, VS_EIO,
                       "%s: directory %s is not writable (%s); the database and its "
                       "-wal/-shm files must be created there",
                       path, dir, strerror(errno));
    if (stat(path, &info) == 0) {
        if (S_ISDIR(info.st_mode))
            return vs_fail(err, VS_EIO, "%s: is a directory, not a database file", path);
        if (access(path, R_OK | W_OK) != 0)
            return vs_fail(err, VS_EIO, "%s: database file is not writable (%s)", path,
                           strerror(errno));
    }
    return VS_OK;
}

/* Brings the schema to VS_STORE_SCHEMA_VERSION. The version is read again
 * inside the write transaction: another run may have migrated meanwhile. */
static int store_migrate(vs_store *store, vs_error *err)
{
    int status = store_begin(store, err);
    if (status != VS_OK)
        return status;
    int64_t version = 0;
    status = read_int(store, "PRAGMA user_version", &version, err);
    for (int64_t v = version; status == VS_OK && v < VS_STORE_SCHEMA_VERSION; v++) {
        char doing[64];
        snprintf(doing, sizeof doing, "migrate the schema from v%d to v%d", (int)v, (int)v + 1);
        status = store_exec(store, migrations[v], doing, err);
    }
    if (status == VS_OK && version < VS_STORE_SCHEMA_VERSION) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 VS_STORE_SCHEMA_VERSION, VS_STORE_APPLICATION_ID);
        status = store_exec(store, sql, "record the schema version", err);
    }
    if (status != VS_OK) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return status;
    }
    return vs_store_commit(store, err);
}

/* Refuses files that SQLite can read but that are not ours, or are newer. */
static int check_identity(vs_store *store, int64_t *version, vs_error *err)
{
    int64_t application_id = 0, tables = 0;
    int status = read_int(store, "PRAGMA user_version", version, err);
    if (status == VS_OK)
        status = read_int(store, "PRAGMA application_id", &application_id, err);
    if (status == VS_OK)
        status =
            read_int(store, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                     &tables, err);
    if (status != VS_OK)
        return status;
    if (*version > VS_STORE_SCHEMA_VERSION)
        return vs_fail(err, VS_EIO,
                       "%s: written by a newer vidsift (schema v%lld; this build knows "
                       "up to v%d)",
                       store->path, (long long)*version, VS_STORE_SCHEMA_VERSION);
    if ((*version == 0 && tables > 0) ||
        (*version > 0 && application_id != VS_STORE_APPLICATION_ID))
        return vs_fail(err, VS_EIO, "%s: a SQLite database, but not a vidsift results database",
                       store->path);
    return VS_OK;
}

int vs_store_open(vs_store **out, const char *path, vs_error *err)
{
    *out = NULL;
    int status = check_location(path, err);
    if (status != VS_OK)
        return status;
    vs_store *store = calloc(1, sizeof *store);
    if (!store)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", path);
    snprintf(store->path, sizeof store->path, "%s", path);
    store->busy_ms = VS_STORE_BUSY_MS;

    int rc = sqlite3_open_v2(
        path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(store, rc, "open the database", err);
        vs_store_close(store);
        return status;
    }
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, store->busy_ms);

    int64_t version = 0;
    status = check_identity(store, &version, err);
    /* WAL: readers (export, a second run's resume check) never block the
     * writer. synchronous=NORMAL in WAL syncs at checkpoints, not at every
     * commit; a power cut may lose the last commits but never corrupts. */
    if (status == VS_OK)
        status = store_exec(store,
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                            "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;"
                            "PRAGMA journal_size_limit = 67108864",
                            "configure the connection", err);
    if (status == VS_OK && version < VS_STORE_SCHEMA_VERSION)
        status = store_migrate(store, err);
    if (status == VS_OK) {
        rc = sqlite3_prepare_v3(store->db,
                                "INSERT INTO detections(video_id, frame_index, pts_ms, class_id,"
                                " label, score, x1, y1, x2, y2, carried)"
                                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                -1, SQLITE_PREPARE_PERSISTENT, &store->insert_detection, NULL);
        if (rc != SQLITE_OK)
            status = store_fail(store, rc, "prepare the detection insert", err);
    }
    if (status != VS_OK) {
        vs_store_close(store);
        return status;
    }
    *out = store;
    return VS_OK;
}

void vs_store_set_busy_timeout(vs_store *store, int milliseconds)
{
    store->busy_ms = milliseconds;
    sqlite3_busy_timeout(store->db, milliseconds);
}

void vs_store_close(vs_store *store)
{
    if (!store)
        return;
    if (store->db) {
        vs_store_commit(store, NULL);
        sqlite3_finalize(store->insert_detection);
        sqlite3_close(store->db);
    }
    free(store);
}

int vs_store_begin_run(vs_store *store, const char *options_json, const char *versions_json,
                       const char *device, const char *host, int64_t *run_id, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "INSERT INTO runs(started_at, status, options, versions, device,"
                               " host) VALUES(" NOW_SQL ", 'running', ?1, ?2, ?3, ?4)",
                               &stmt, "record the run", err);
    if (status != VS_OK)
        return status;
    bind_text_or_null(stmt, 1, options_json);
    bind_text_or_null(stmt, 2, versions_json);
    bind_text_or_null(stmt, 3, device);
    bind_text_or_null(stmt, 4, host);
    status = store_step_done(store, stmt, "record the run", err);
    if (status != VS_OK)
        return status;
    *run_id = sqlite3_last_insert_rowid(store->db);
    return vs_store_commit(store, err);
}

int vs_store_end_run(vs_store *store, int64_t run_id, const char *status_text,
                     const char *summary_json, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "UPDATE runs SET ended_at = " NOW_SQL ", status = ?2, summary = ?3"
                               " WHERE id = ?1",
                               &stmt, "record the end of the run", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, run_id);
    bind_text_or_null(stmt, 2, status_text ? status_text : "done");
    bind_text_or_null(stmt, 3, summary_json);
    status = store_step_done(store, stmt, "record the end of the run", err);
    return status != VS_OK ? status : vs_store_commit(store, err);
}

const char *vs_store_status_name(vs_video_status status)
{
    switch (status) {
    case VS_VIDEO_DONE: return "done";
    case VS_VIDEO_FAILED: return "failed";
    case VS_VIDEO_SKIPPED: return "skipped";
    case VS_VIDEO_INTERRUPTED: return "interrupted";
    case VS_VIDEO_PENDING: break;
    }
    return "running";
}

int vs_store_video_is_complete(vs_store *store, const vs_video *video, int *complete, vs_error *err)
{
    *complete = 0;
    sqlite3_stmt *stmt;
    int status =
        store_prepare(store, "SELECT size, mtime, fingerprint, status FROM videos WHERE path = ?1",
                      &stmt, "look up a video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_text(stmt, 1, video->path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *fingerprint = (const char *)sqlite3_column_text(stmt, 2);
        const char *row_status = (const char *)sqlite3_column_text(stmt, 3);
        *complete = sqlite3_column_int64(stmt, 0) == video->size_bytes &&
                    sqlite3_column_int64(stmt, 1) == video->mtime_s && fingerprint &&
                    !strcmp(fingerprint, video->fingerprint) && row_status &&
                    !strcmp(row_status, "done");
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VS_OK
                                                 : store_fail(store, rc, "look up a video", err);
}

/* Removes what an earlier attempt at this video stored, inside the caller's
 * transaction. */
static int delete_video_rows(vs_store *store, int64_t video_id, vs_error *err)
{
    static const char *const deletes[] = {
        "DELETE FROM detections WHERE video_id = ?1",
        "DELETE FROM snapshots WHERE video_id = ?1",
    };
    for (size_t i = 0; i < sizeof deletes / sizeof deletes[0]; i++) {
        sqlite3_stmt *stmt;
        int status = store_prepare(store, deletes[i], &stmt, "delete earlier rows of a video", err);
        if (status != VS_OK)
            return status;
        sqlite3_bind_int64(stmt, 1, video_id);
        status = store_step_done(store, stmt, "delete earlier rows of a video", err);
        if (status != VS_OK)
            return status;
    }
    return VS_OK;
}

int vs_store_begin_video(vs_store *store, int64_t run_id, const vs_video *video, int64_t *video_id,
                         vs_error *err)
{
    static const char upsert[] =
        "INSERT INTO videos(path, relative_path, size, mtime, fingerprint, container, codec,"
        " width, height, rotation, fps, frames, duration_s, has_audio, run_id, status,"
        " started_at)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "'running', " NOW_SQL ")"
        " ON CONFLICT(path) DO UPDATE SET relative_path = excluded.relative_path,"
        " size = excluded.size, mtime = excluded.mtime, fingerprint = excluded.fingerprint,"
        " container = excluded.container, codec = excluded.codec, width = excluded.width,"
        " height = excluded.height, rotation = excluded.rotation, fps = excluded.fps,"
        " frames = excluded.frames, duration_s = excluded.duration_s,"
        " has_audio = excluded.has_audio, run_id = excluded.run_id, status = 'running',"
        " error = NULL, frames_analysed = NULL, detections = NULL, annotated_path = NULL,"
        " started_at = excluded.started_at, ended_at = NULL"
        " RETURNING id";
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store, upsert, &stmt, "record a video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_text(stmt, 1, video->path, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 2, video->relative_path);
    sqlite3_bind_int64(stmt, 3, video->size_bytes);
    sqlite3_bind_int64(stmt, 4, video->mtime_s);
    bind_text_or_null(stmt, 5, video->fingerprint);
    bind_text_or_null(stmt, 6, video->container);
    bind_text_or_null(stmt, 7, video->codec);
    sqlite3_bind_int(stmt, 8, video->width);
    sqlite3_bind_int(stmt, 9, video->height);
    sqlite3_bind_int(stmt, 10, video->rotation);
    if (video->fps > 0)
        sqlite3_bind_double(stmt, 11, video->fps);
    if (video->frames_expected > 0)
        sqlite3_bind_int64(stmt, 12, video->frames_expected);
    if (video->duration_s > 0)
        sqlite3_bind_double(stmt, 13, video->duration_s);
    sqlite3_bind_int(stmt, 14, video->has_audio);
    sqlite3_bind_int64(stmt, 15, run_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *video_id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        status = store_fail(store, rc, "record a video", err);
    if (status == VS_OK)
        status = delete_video_rows(store, *video_id, err);
    if (status != VS_OK) {
        /* Undo the half-done upsert, and with it any rows buffered for other
         * videos since the last commit: those videos stay 'running' and are
         * redone on resume, which is safe; a half-deleted video is not. */
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return status;
    }
    return vs_store_commit(store, err);
}

int vs_store_add_frame(vs_store *store, int64_t video_id, const vs_frame *frame,
                       const char *const *labels, vs_error *err)
{
    if (frame->kind != VS_FRAME_PICTURE || frame->detection_count <= 0)
        return store_commit_if_due(store, err);
    int status = store_begin(store, err);
    if (status != VS_OK)
        return status;
    sqlite3_stmt *insert = store->insert_detection;
    for (int i = 0; i < frame->detection_count; i++) {
        const vs_detection *det = &frame->detections[i];
        sqlite3_bind_int64(insert, 1, video_id);
        sqlite3_bind_int64(insert, 2, frame->index);
        sqlite3_bind_int64(insert, 3, frame->pts_ms);
        sqlite3_bind_int(insert, 4, det->class_id);
        const char *label = labels && det->class_id >= 0 ? labels[det->class_id] : NULL;
        /* STATIC: labels outlive the step, and copying every label would
         * cost more than the rest of the row. */
        if (label)
            sqlite3_bind_text(insert, 5, label, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(insert, 5);
        sqlite3_bind_double(insert, 6, det->score);
        sqlite3_bind_double(insert, 7, det->x1);
        sqlite3_bind_double(insert, 8, det->y1);
        sqlite3_bind_double(insert, 9, det->x2);
        sqlite3_bind_double(insert, 10, det->y2);
        sqlite3_bind_int(insert, 11, frame->carried != 0);
        int rc = sqlite3_step(insert);
        sqlite3_reset(insert);
        if (rc != SQLITE_DONE)
            return store_fail(store, rc, "insert detections", err);
    }
    store->rows_in_transaction += frame->detection_count;
    return store_commit_if_due(store, err);
}

int vs_store_end_video(vs_store *store, int64_t video_id, const vs_video *video, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "UPDATE videos SET status = ?2, error = ?3, frames = ?4,"
                               " frames_analysed = ?5, ended_at = " NOW_SQL ","
                               " detections = (SELECT count(*) FROM detections"
                               "               WHERE video_id = ?1)"
                               " WHERE id = ?1",
                               &stmt, "record the end of a video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, video_id);
    sqlite3_bind_text(stmt, 2, vs_store_status_name(video->status), -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 3, video->status == VS_VIDEO_DONE ? NULL : video->error.msg);
    sqlite3_bind_int64(stmt, 4, video->frames_decoded);
    sqlite3_bind_int64(stmt, 5, video->frames_analysed);
    status = store_step_done(store, stmt, "record the end of a video", err);
    if (status != VS_OK)
        return status;
    /* The status and the video's last buffered rows commit together. */
    return vs_store_commit(store, err);
}

int vs_store_set_annotated(vs_store *store, int64_t video_id, const char *annotated_path,
                           vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store, "UPDATE videos SET annotated_path = ?2 WHERE id = ?1", &stmt,
                               "record an annotated video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, video_id);
    bind_text_or_null(stmt, 2, annotated_path);
    status = store_step_done(store, stmt, "record an annotated video", err);
    return status != VS_OK ? status : store_commit_if_due(store, err);
}

int vs_store_add_snapshot(vs_store *store, int64_t video_id, const char *kind, int class_id,
                          double score, const char *path, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "INSERT INTO snapshots(video_id, kind, class_id, score, path)"
                               " VALUES(?1, ?2, ?3, ?4, ?5)",
                               &stmt, "record a snapshot", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, video_id);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    if (class_id >= 0) {
        sqlite3_bind_int(stmt, 3, class_id);
        sqlite3_bind_double(stmt, 4, score);
    }
    sqlite3_bind_text(stmt, 5, path, -1, SQLITE_STATIC);
    status = store_step_done(store, stmt, "record a snapshot", err);
    return status != VS_OK ? status : store_commit_if_due(store, err);
}

int vs_store_add_stage_stats(vs_store *store, int64_t run_id, const vs_store_stage_stat *stats,
                             int count, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "INSERT INTO stage_stats(run_id, stage, unit, count, frames,"
                               " total_ms, avg_ms, p95_ms, max_ms, queue_avg, queue_max,"
                               " queue_capacity)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                               &stmt, "record stage statistics", err);
    if (status != VS_OK)
        return status;
    for (int i = 0; i < count && status == VS_OK; i++) {
        const vs_store_stage_stat *stat = &stats[i];
        sqlite3_bind_int64(stmt, 1, run_id);
        bind_text_or_null(stmt, 2, stat->stage ? stat->stage : "?");
        bind_text_or_null(stmt, 3, stat->unit);
        sqlite3_bind_int64(stmt, 4, stat->count);
        sqlite3_bind_int64(stmt, 5, stat->frames);
        sqlite3_bind_double(stmt, 6, stat->total_ms);
        sqlite3_bind_double(stmt, 7, stat->avg_ms);
        sqlite3_bind_double(stmt, 8, stat->p95_ms);
        sqlite3_bind_double(stmt, 9, stat->max_ms);
        if (stat->queue_avg >= 0)
            sqlite3_bind_double(stmt, 10, stat->queue_avg);
        else
            sqlite3_bind_null(stmt, 10);
        if (stat->queue_max >= 0)
            sqlite3_bind_int(stmt, 11, stat->queue_max);
        else
            sqlite3_bind_null(stmt, 11);
        if (stat->queue_capacity >= 0)
            sqlite3_bind_int(stmt, 12, stat->queue_capacity);
        else
            sqlite3_bind_null(stmt, 12);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            status = store_fail(store, rc, "record stage statistics", err);
    }
    sqlite3_finalize(stmt);
    return status != VS_OK ? status : store_commit_if_due(store, err);
}

int vs_store_add_samples(vs_store *store, int64_t run_id, const vs_store_sample *samples, int count,
                         vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "INSERT INTO samples(run_id, t_ms, rss_bytes, gpu_util,"
                               " gpu_mem_bytes) VALUES(?1, ?2, ?3, ?4, ?5)",
                               &stmt, "record resource samples", err);
    if (status != VS_OK)
        return status;
    for (int i = 0; i < count && status == VS_OK; i++) {
        const vs_store_sample *sample = &samples[i];
        sqlite3_bind_int64(stmt, 1, run_id);
        sqlite3_bind_double(stmt, 2, sample->t_ms);
        if (sample->rss_bytes >= 0)
            sqlite3_bind_int64(stmt, 3, sample->rss_bytes);
        else
            sqlite3_bind_null(stmt, 3);
        if (sample->gpu_util >= 0)
            sqlite3_bind_double(stmt, 4, sample->gpu_util);
        else
            sqlite3_bind_null(stmt, 4);
        if (sample->gpu_mem_bytes >= 0)
            sqlite3_bind_int64(stmt, 5, sample->gpu_mem_bytes);
        else
            sqlite3_bind_null(stmt, 5);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            status = store_fail(store, rc, "record resource samples", err);
    }
    sqlite3_finalize(stmt);
    return status != VS_OK ? status : store_commit_if_due(store, err);
}

static void remove_database_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

int vs_store_bench(const char *path, int64_t rows, double *rows_per_s, vs_error *err)
{
    enum { PER_FRAME = 20 };
    static const char *const labels[] = {"person", "bicycle", "car", "motorcycle", "bus"};
    *rows_per_s = 0;
    if (rows <= 0)
        return vs_fail(err, VS_EINVAL, "bench needs a positive row count");
    if (access(path, F_OK) == 0)
        return vs_fail(err, VS_EINVAL,
                       "%s: exists; the store benchmark needs a new file (it deletes it "
                       "afterwards)",
                       path);
    vs_store *store;
    int status = vs_store_open(&store, path, err);
    if (status != VS_OK)
        return status;
    vs_video *video = calloc(1, sizeof *video);
    vs_frame *frame = calloc(1, sizeof *frame);
    int64_t run_id = 0, video_id = 0;
    if (!video || !frame)
        status = vs_fail(err, VS_ENOMEM, "bench: out of memory");
    if (status == VS_OK)
        status = vs_store_begin_run(store, "{\"bench\":true}", NULL, "cpu", NULL, &run_id, err);
    if (status == VS_OK) {
        snprintf(video->path, sizeof video->path, "bench/synthetic.mp4");
        video->width = 1920;
        video->height = 1080;
        video->fps = 30;
        status = vs_store_begin_video(store, run_id, video, &video_id, err);
    }
    double started_ms = monotonic_ms();
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->analysed = 1;
    for (int64_t written = 0; status == VS_OK && written < rows; frame->index++) {
        frame->pts_ms = frame->index * 1000 / 30;
        frame->detection_count = rows - written < PER_FRAME ? (int)(rows - written) : PER_FRAME;
        for (int i = 0; i < frame->detection_count; i++) {
            vs_detection *det = &frame->detections[i];
            det->class_id = (int)((frame->index + i) % 5);
            det->score = 0.25f + 0.03f * i;
            det->x1 = (float)(i * 90 % 1800);
            det->y1 = (float)(i * 50 % 1000);
            det->x2 = det->x1 + 64;
            det->y2 = det->y1 + 128;
        }
        status = vs_store_add_frame(store, video_id, frame, labels, err);
        written += frame->detection_count;
    }
    if (status == VS_OK) {
        video->status = VS_VIDEO_DONE;
        video->frames_decoded = video->frames_analysed = frame->index;
        status = vs_store_end_video(store, video_id, video, err);
    }
    double elapsed_ms = monotonic_ms() - started_ms;
    if (status == VS_OK)
        status = vs_store_end_run(store, run_id, "done", NULL, err);
    vs_store_close(store);
    remove_database_files(path);
    free(video);
    free(frame);
    if (status == VS_OK)
        *rows_per_s = rows / (elapsed_ms > 0 ? elapsed_ms / 1e3 : 1e-9);
    return status;
}
