/* store.c: the results database - schema, migrations, buffered writes.
 *
 * Owns one SQLite connection and the SQL that reads and writes the schema
 * documented in README.md ("The results database"). It must never be called from two threads at
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

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analysis.h"
#include "fsutil.h"
#include "merge.h"

struct vs_store {
    sqlite3 *db;
    char path[4096];
    int busy_ms;
    sqlite3_stmt *insert_detection; /* prepared once: the one hot statement */
    sqlite3_stmt *count_analysed;   /* prepared at the first analysed frame */
    int64_t rows_in_transaction;
    double transaction_started_ms;
    /* The database file as opened: a second descriptor, never locked, closed
     * only after SQLite's (closing it earlier would drop SQLite's POSIX
     * locks). Each commit compares it with what `path` names now, so a
     * database deleted or replaced under a run is a failure, never a
     * success written into a file nobody can read. -1: not checked. */
    int file_fd;
    char *analysis; /* this run's vs_analysis_describe text, stored per video; NULL = none */
    const vs_zones_config *zones; /* this run's --zones (names of the events' zones); NULL: none */
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

/* v1 -> v2: a video is identified by its canonical path (realpath), not by
 * the path as given, which stays for display; it owns an output name that no
 * other video of the database shares (output_key, case-folded); and it keeps
 * the analysis (model and options) that produced its rows. SQLite cannot drop
 * the UNIQUE of `path` in place, so the table is rebuilt with the same ids.
 * Rows of v1 keep canonical_path NULL and are matched by path, as v1 did;
 * their output name is their relative_path, reserved for the first of each
 * name only (v1 let two videos share one). */
/* The annotated file name of an output name, case-folded: ".mp4" is
 * appended unless there (as core/sink.c does), so a.mkv and a.mkv.mp4 clash. */
#define OUTPUT_KEY(column)                                                                         \
    "lower(" column " || CASE WHEN " column " LIKE '_%.mp4' THEN '' ELSE '.mp4' END)"
static const char schema_v2[] =
    "CREATE TABLE videos_v2 ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL,"
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
    "  ended_at TEXT,"
    "  canonical_path TEXT UNIQUE,"
    "  output_name TEXT,"
    "  output_key TEXT UNIQUE,"
    "  analysis TEXT);"
    "INSERT INTO videos_v2(id, path, relative_path, size, mtime, fingerprint, container, codec,"
    "  width, height, rotation, fps, frames, duration_s, has_audio, status, error, run_id,"
    "  frames_analysed, detections, annotated_path, started_at, ended_at, output_name)"
    "  SELECT id, path, relative_path, size, mtime, fingerprint, container, codec,"
    "  width, height, rotation, fps, frames, duration_s, has_audio, status, error, run_id,"
    "  frames_analysed, detections, annotated_path, started_at, ended_at, relative_path"
    "  FROM videos ORDER BY id;"
    "UPDATE videos_v2 SET output_key = " OUTPUT_KEY(
        "output_name") "  WHERE output_name IS NOT NULL AND id = (SELECT min(other.id) FROM "
                       "videos_v2 other"
                       "  WHERE " OUTPUT_KEY("other.output_name") " = " OUTPUT_KEY(
                           "videos_v2.output_name") ");"
                                                    "DROP TABLE videos;"
                                                    "ALTER TABLE videos_v2 RENAME TO videos;"
                                                    "CREATE INDEX videos_path ON videos(path);"
                                                    "CREATE INDEX videos_fingerprint ON "
                                                    "videos(fingerprint);";

/* Schema v3: tracks (detections.track_id, reserved since v1, now filled),
 * zones and what happened in them. Times are PTS in milliseconds like
 * detections.pts_ms; zone points are source pixels of that video (fractions
 * in the zones file resolved with its size). */
static const char schema_v3[] =
    "CREATE INDEX detections_video_track ON detections(video_id, track_id)"
    "  WHERE track_id IS NOT NULL;"
    "CREATE TABLE tracks ("
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  track_id INTEGER NOT NULL,"
    "  class_id INTEGER,"
    "  label TEXT,"
    "  first_frame INTEGER, last_frame INTEGER,"
    "  first_ms INTEGER, last_ms INTEGER,"
    "  detections INTEGER,"
    "  mean_score REAL,"
    "  speed_kmh REAL,"
    "  PRIMARY KEY (video_id, track_id));"
    "CREATE TABLE zones ("
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  points TEXT NOT NULL,"
    "  direction_in TEXT, direction_out TEXT,"
    "  PRIMARY KEY (video_id, name));"
    "CREATE TABLE crossings ("
    "  id INTEGER PRIMARY KEY,"
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  track_id INTEGER NOT NULL,"
    "  zone TEXT NOT NULL,"
    "  frame_index INTEGER NOT NULL,"
    "  pts_ms INTEGER,"
    "  direction TEXT NOT NULL,"
    "  class_id INTEGER,"
    "  label TEXT);"
    "CREATE INDEX crossings_video ON crossings(video_id, zone);"
    "CREATE TABLE visits ("
    "  id INTEGER PRIMARY KEY,"
    "  video_id INTEGER NOT NULL REFERENCES videos(id),"
    "  track_id INTEGER NOT NULL,"
    "  zone TEXT NOT NULL,"
    "  enter_frame INTEGER, enter_ms INTEGER,"
    "  exit_frame INTEGER, exit_ms INTEGER,"
    "  dwell_s REAL,"
    "  class_id INTEGER,"
    "  label TEXT);"
    "CREATE INDEX visits_video ON visits(video_id, zone);";

/* Schema v4: where a snapshot was cut from - its frame and the crop's box in
 * coded source pixels - so a reader can find it among the detections. Rows
 * of older runs keep their ids and read NULL there. */
static const char schema_v4[] = "ALTER TABLE snapshots ADD COLUMN frame_index INTEGER;"
                                "ALTER TABLE snapshots ADD COLUMN x1 INTEGER;"
                                "ALTER TABLE snapshots ADD COLUMN y1 INTEGER;"
                                "ALTER TABLE snapshots ADD COLUMN x2 INTEGER;"
                                "ALTER TABLE snapshots ADD COLUMN y2 INTEGER;";

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const migrations[VS_STORE_SCHEMA_VERSION] = {
    schema_v1, /* 0 -> 1: empty file to the first schema */
    schema_v2, /* 1 -> 2: identity by canonical path, unique outputs, analysis per video */
    schema_v3, /* 2 -> 3: tracks, zones, crossings, visits */
    schema_v4, /* 3 -> 4: a snapshot's frame and crop box */
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
    const char *path = VS_NAME(store->path); /* lives to the end of the function */
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

/* Fails when the file this connection writes is no longer the one at
 * store->path: deleted (or its directory removed), or replaced. SQLite would
 * go on writing into the unlinked file and every commit would succeed. */
static int check_file(const vs_store *store, vs_error *err)
{
    if (store->file_fd < 0)
        return VS_OK;
    struct stat opened, named;
    int opened_ok = fstat(store->file_fd, &opened) == 0;
    int named_ok = stat(store->path, &named) == 0;
    if (opened_ok && named_ok && (opened.st_dev != named.st_dev || opened.st_ino != named.st_ino))
        return vs_fail(err, VS_EIO,
                       "%s: the database was replaced by another file while this run was "
                       "writing; the results of this run are lost",
                       VS_NAME(store->path));
    if (!opened_ok || !named_ok || opened.st_nlink == 0)
        return vs_fail(err, VS_EIO,
                       "%s: the database was deleted (or its directory removed) while this run "
                       "was writing; the results of this run are lost",
                       VS_NAME(store->path));
    return VS_OK;
}

int vs_store_check_file(vs_store *store, vs_error *err)
{
    return check_file(store, err);
}

int vs_store_commit(vs_store *store, vs_error *err)
{
    if (!transaction_open(store))
        return VS_OK;
    int rc = sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        store->rows_in_transaction = 0;
        return check_file(store, err);
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
        return vs_fail(err, VS_EIO, "%s: directory %s does not exist (%s)", VS_NAME(path),
                       VS_NAME(dir), strerror(errno));
    if (!S_ISDIR(info.st_mode))
        return vs_fail(err, VS_EIO, "%s: %s is not a directory", VS_NAME(path), VS_NAME(dir));
    if (access(dir, W_OK | X_OK) != 0)
        return vs_fail(err, VS_EIO,
                       "%s: directory %s is not writable (%s); the database and its "
                       "-wal/-shm files must be created there",
                       VS_NAME(path), VS_NAME(dir), strerror(errno));
    if (stat(path, &info) == 0) {
        if (S_ISDIR(info.st_mode))
            return vs_fail(err, VS_EIO, "%s: is a directory, not a database file", VS_NAME(path));
        if (access(path, R_OK | W_OK) != 0)
            return vs_fail(err, VS_EIO, "%s: database file is not writable (%s)", VS_NAME(path),
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
                       VS_NAME(store->path), (long long)*version, VS_STORE_SCHEMA_VERSION);
    if ((*version == 0 && tables > 0) ||
        (*version > 0 && application_id != VS_STORE_APPLICATION_ID))
        return vs_fail(err, VS_EIO, "%s: a SQLite database, but not a vidsift results database",
                       VS_NAME(store->path));
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
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
    snprintf(store->path, sizeof store->path, "%s", path);
    store->busy_ms = VS_STORE_BUSY_MS;
    store->file_fd = -1;

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
     * commit; a power cut may lose the last commits but never corrupts.
     * WAL's index lives in shared memory (the -shm file, mapped) that
     * processes on two machines never share, so on a network file system
     * the database keeps a rollback journal, synced at every commit:
     * readers then wait for the writer, but no machine sees a torn file. */
    char dir_copy[4096];
    snprintf(dir_copy, sizeof dir_copy, "%s", path);
    int network = vs_network_fs(dirname(dir_copy)) != NULL;
    if (status == VS_OK)
        status = store_exec(store,
                            network ? "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;"
                                    : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                            "configure the journal", err);
    if (status == VS_OK)
        status = store_exec(store,
                            "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;"
                            "PRAGMA journal_size_limit = 67108864",
                            "configure the connection", err);
    if (status == VS_OK && version < VS_STORE_SCHEMA_VERSION)
        status = store_migrate(store, err);
    if (status == VS_OK) {
        rc = sqlite3_prepare_v3(store->db,
                                "INSERT INTO detections(video_id, frame_index, pts_ms, class_id,"
                                " label, score, x1, y1, x2, y2, carried, track_id)"
                                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                                -1, SQLITE_PREPARE_PERSISTENT, &store->insert_detection, NULL);
        if (rc != SQLITE_OK)
            status = store_fail(store, rc, "prepare the detection insert", err);
    }
    if (status == VS_OK)
        store->file_fd = open(path, O_RDONLY | O_CLOEXEC); /* -1: the check is skipped */
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
        sqlite3_finalize(store->count_analysed);
        sqlite3_close(store->db);
    }
    if (store->file_fd >= 0)
        close(store->file_fd); /* after sqlite3_close: see file_fd */
    free(store->analysis);
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

int vs_store_set_analysis(vs_store *store, const char *analysis, vs_error *err)
{
    free(store->analysis);
    store->analysis = NULL;
    if (analysis && !(store->analysis = strdup(analysis)))
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(store->path));
    return VS_OK;
}

/* Columns of find_video's row. */
enum {
    FOUND_ID,
    FOUND_SIZE,
    FOUND_MTIME,
    FOUND_FINGERPRINT,
    FOUND_STATUS,
    FOUND_ANALYSIS,
    FOUND_OUTPUT_NAME,
    FOUND_OUTPUT_KEY
};

#define FOUND_COLUMNS                                                                              \
    "SELECT id, size, mtime, fingerprint, status, analysis, output_name, output_key FROM videos"

/* The id of the row of another name of this very file: a hard link, i.e. a
 * row with the same size and fingerprint whose canonical path is, on disk,
 * the same device and inode as video's file. 0: none. */
static int find_hard_link(vs_store *store, const vs_video *video, const char *canonical,
                          int64_t *id, vs_error *err)
{
    *id = 0;
    struct stat mine, theirs;
    if (!video->fingerprint[0] || stat(canonical, &mine) != 0)
        return VS_OK;
    sqlite3_stmt *stmt;
    int status = store_prepare(store,
                               "SELECT id, canonical_path FROM videos WHERE fingerprint = ?1"
                               " AND size = ?2 AND canonical_path IS NOT NULL"
                               " AND canonical_path != ?3",
                               &stmt, "look up a video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_text(stmt, 1, video->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, video->size_bytes);
    sqlite3_bind_text(stmt, 3, canonical, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *recorded = (const char *)sqlite3_column_text(stmt, 1);
        if (recorded && stat(recorded, &theirs) == 0 && theirs.st_dev == mine.st_dev &&
            theirs.st_ino == mine.st_ino) {
            *id = sqlite3_column_int64(stmt, 0);
            break;
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VS_OK
                                                 : store_fail(store, rc, "look up a video", err);
}

/* Steps to the first row of FOUND_COLUMNS WHERE where, with ?1 bound to
 * text (or to id when text is NULL). *found = 0: no row, and *row is NULL. */
static int lookup(vs_store *store, const char *where, const char *text, int64_t id,
                  sqlite3_stmt **row, int *found, vs_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, FOUND_COLUMNS " WHERE %s", where);
    *found = 0;
    *row = NULL;
    int status = store_prepare(store, sql, row, "look up a video", err);
    if (status != VS_OK)
        return status;
    if (text)
        sqlite3_bind_text(*row, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(*row, 1, id);
    int rc = sqlite3_step(*row);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        return VS_OK;
    sqlite3_finalize(*row);
    *row = NULL;
    return rc == SQLITE_DONE ? VS_OK : store_fail(store, rc, "look up a video", err);
}

/* Steps to the row that records video: the one with its canonical path; else
 * the one of a hard link to it; else a v1 row (no canonical path) with its
 * path as given. *found = 0: none; otherwise the caller reads the row
 * (FOUND_* columns). The caller finalizes *row either way. */
static int find_video(vs_store *store, const vs_video *video, sqlite3_stmt **row, int *found,
                      vs_error *err)
{
    const char *canonical = video->canonical_path[0] ? video->canonical_path : video->path;
    int64_t link_id = 0;
    int status = lookup(store, "canonical_path = ?1", canonical, 0, row, found, err);
    if (status == VS_OK && !*found)
        status = find_hard_link(store, video, canonical, &link_id, err);
    if (status == VS_OK && !*found && link_id)
        status = lookup(store, "id = ?1", NULL, link_id, row, found, err);
    if (status == VS_OK && !*found)
        status =
            lookup(store, "canonical_path IS NULL AND path = ?1", video->path, 0, row, found, err);
    return status;
}

static const char *column_text(sqlite3_stmt *row, int column)
{
    const char *text = (const char *)sqlite3_column_text(row, column);
    return text ? text : "";
}

int vs_store_video_is_complete(vs_store *store, const vs_video *video, int *complete, char *reason,
                               size_t reason_size, vs_error *err)
{
    *complete = 0;
    char why[512] = "";
    sqlite3_stmt *row = NULL;
    int found = 0;
    int status = find_video(store, video, &row, &found, err);
    if (status == VS_OK && found) {
        const char *row_status = column_text(row, FOUND_STATUS);
        const char *analysis = (const char *)sqlite3_column_text(row, FOUND_ANALYSIS);
        if (!strcmp(row_status, "running"))
            snprintf(why, sizeof why, "the last attempt did not finish (killed or crashed)");
        else if (strcmp(row_status, "done"))
            snprintf(why, sizeof why, "the last attempt %s",
                     !strcmp(row_status, "interrupted") ? "was interrupted" : "failed");
        else if (sqlite3_column_int64(row, FOUND_SIZE) != video->size_bytes)
            snprintf(why, sizeof why, "the file changed (size)");
        else if (sqlite3_column_int64(row, FOUND_MTIME) != video->mtime_s)
            snprintf(why, sizeof why, "the file changed (modification time)");
        else if (strcmp(column_text(row, FOUND_FINGERPRINT), video->fingerprint))
            snprintf(why, sizeof why, "the file changed (content)");
        else if (store->analysis) /* no analysis set: the caller does not compare options */
            vs_analysis_difference(analysis, store->analysis, why, sizeof why);
        *complete = why[0] == 0;
    }
    sqlite3_finalize(row);
    if (reason && reason_size)
        snprintf(reason, reason_size, "%s", status == VS_OK ? why : "");
    return status;
}

/* The key that output_key holds for an output name: see OUTPUT_KEY. */
static void output_key(const char *name, char *key, size_t size)
{
    size_t length = strlen(name);
    int has_mp4 = length > 4 && !strcasecmp(name + length - 4, ".mp4");
    snprintf(key, size, "%s%s", name, has_mp4 ? "" : ".mp4");
    for (char *c = key; *c; c++)
        *c = (char)tolower((unsigned char)*c);
}

/* name with "~tag" before the extension of its last component
 * (cam2/clip.mp4 -> cam2/clip~1a2b3c4d.mp4). */
static void tagged_name(const char *name, const char *tag, char *out, size_t size)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = name + strlen(name);
    snprintf(out, size, "%.*s~%s%s", (int)(dot - name), name, tag, dot);
}

/* FNV-1a: a short, stable tag from the canonical path. */
static uint32_t name_hash(const char *text)
{
    uint32_t hash = 2166136261u;
    for (; *text; text++)
        hash = (hash ^ (unsigned char)*text) * 16777619u;
    return hash;
}

/* Picks the output name for a video: the proposal when no other video of
 * the database has its key, else the proposal tagged with a hash of the
 * canonical path (and a counter, in the unlikely case that is taken too).
 * Runs inside the caller's write transaction, so two runs cannot both take
 * one name. */
static int unique_output_name(vs_store *store, const vs_video *video, int64_t own_id, char *name,
                              size_t size, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_prepare(store, "SELECT 1 FROM videos WHERE output_key = ?1 AND id IS NOT ?2",
                               &stmt, "choose an output name", err);
    if (status != VS_OK)
        return status;
    const char *canonical = video->canonical_path[0] ? video->canonical_path : video->path;
    uint32_t hash = name_hash(canonical);
    for (int attempt = 0; attempt < 100; attempt++) {
        char tag[32];
        if (attempt == 0)
            snprintf(name, size, "%s", video->output_name);
        else {
            snprintf(tag, sizeof tag, attempt == 1 ? "%08x" : "%08x-%d", hash, attempt);
            tagged_name(video->output_name, tag, name, size);
        }
        char key[4200];
        output_key(name, key, sizeof key);
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT);
        if (own_id > 0)
            sqlite3_bind_int64(stmt, 2, own_id);
        else
            sqlite3_bind_null(stmt, 2);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc == SQLITE_DONE) {
            sqlite3_finalize(stmt);
            return VS_OK;
        }
        if (rc != SQLITE_ROW) {
            sqlite3_finalize(stmt);
            return store_fail(store, rc, "choose an output name", err);
        }
    }
    sqlite3_finalize(stmt);
    return vs_fail(err, VS_EIO, "%s: no free output name for %s", VS_NAME(store->path),
                   VS_NAME(video->path));
}

/* Removes what an earlier attempt at this video stored, inside the caller's
 * transaction. */
static int delete_video_rows(vs_store *store, int64_t video_id, vs_error *err)
{
    static const char *const deletes[] = {
        "DELETE FROM detections WHERE video_id = ?1", "DELETE FROM snapshots WHERE video_id = ?1",
        "DELETE FROM tracks WHERE video_id = ?1",     "DELETE FROM zones WHERE video_id = ?1",
        "DELETE FROM crossings WHERE video_id = ?1",  "DELETE FROM visits WHERE video_id = ?1",
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

/* Parameters ?1..?19 of both statements of vs_store_begin_video. */
static void bind_video(sqlite3_stmt *stmt, int64_t run_id, const vs_video *video, const char *name,
                       const char *key, const char *analysis)
{
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
    sqlite3_bind_text(stmt, 16, video->canonical_path[0] ? video->canonical_path : video->path, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 17, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 18, key, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 19, analysis);
}

int vs_store_begin_video(vs_store *store, int64_t run_id, vs_video *video, int64_t *video_id,
                         vs_error *err)
{
    static const char insert[] =
        "INSERT INTO videos(path, relative_path, size, mtime, fingerprint, container, codec,"
        " width, height, rotation, fps, frames, duration_s, has_audio, run_id, canonical_path,"
        " output_name, output_key, analysis, status, started_at)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, 'running', " NOW_SQL ")"
        " RETURNING id";
    static const char update[] =
        "UPDATE videos SET path = ?1, relative_path = ?2, size = ?3, mtime = ?4,"
        " fingerprint = ?5, container = ?6, codec = ?7, width = ?8, height = ?9,"
        " rotation = ?10, fps = ?11, frames = ?12, duration_s = ?13, has_audio = ?14,"
        " run_id = ?15, canonical_path = ?16, output_name = ?17, output_key = ?18,"
        " analysis = ?19, status = 'running', error = NULL, frames_analysed = NULL,"
        " detections = NULL, annotated_path = NULL, started_at = " NOW_SQL ", ended_at = NULL"
        " WHERE id = ?20 RETURNING id";
    char name[sizeof video->output_name] = "", key[sizeof video->output_name + 8];
    int64_t existing_id = 0;
    sqlite3_stmt *stmt = NULL;
    int status = store_begin(store, err);
    if (status == VS_OK) {
        int found;
        status = find_video(store, video, &stmt, &found, err);
        if (status == VS_OK && found) {
            existing_id = sqlite3_column_int64(stmt, FOUND_ID);
            /* A video keeps the place it was given: a rerun overwrites its own files. */
            if (sqlite3_column_type(stmt, FOUND_OUTPUT_KEY) != SQLITE_NULL)
                snprintf(name, sizeof name, "%s", column_text(stmt, FOUND_OUTPUT_NAME));
        }
        sqlite3_finalize(stmt);
    }
    if (status == VS_OK && !name[0])
        status = unique_output_name(store, video, existing_id, name, sizeof name, err);
    if (status == VS_OK) {
        output_key(name, key, sizeof key);
        status = store_prepare(store, existing_id ? update : insert, &stmt, "record a video", err);
    }
    if (status == VS_OK) {
        bind_video(stmt, run_id, video, name, key, store->analysis);
        if (existing_id)
            sqlite3_bind_int64(stmt, 20, existing_id);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            *video_id = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW)
            status = store_fail(store, rc, "record a video", err);
    }
    if (status == VS_OK)
        status = delete_video_rows(store, *video_id, err);
    if (status != VS_OK) {
        /* Undo the half-done upsert, and with it any rows buffered for other
         * videos since the last commit: those videos stay 'running' and are
         * redone on resume, which is safe; a half-deleted video is not. */
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return status;
    }
    /* The sink reads the place from here on; nothing else reads output_name. */
    snprintf(video->output_name, sizeof video->output_name, "%s", name);
    return vs_store_commit(store, err);
}

void vs_store_set_zones(vs_store *store, const vs_zones_config *zones)
{
    store->zones = zones && zones->count > 0 ? zones : NULL;
}

static void bind_label(sqlite3_stmt *stmt, int index, const char *const *labels, int class_id)
{
    const char *label = labels && class_id >= 0 ? labels[class_id] : NULL;
    if (label)
        sqlite3_bind_text(stmt, index, label, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, index);
}

/* The tracker's events of a frame: crossings, visits, and the speed of
 * tracks that ended (their tracks row is completed at the video's end). */
static int add_events(vs_store *store, int64_t video_id, const vs_frame *frame,
                      const char *const *labels, vs_error *err)
{
    static const char *const sql[] = {
        [VS_ZONE_CROSSING] = "INSERT INTO crossings(video_id, track_id, zone, frame_index, pts_ms,"
                             " direction, class_id, label) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [VS_ZONE_VISIT] = "INSERT INTO visits(video_id, track_id, zone, enter_frame, enter_ms,"
                          " exit_frame, exit_ms, dwell_s, class_id, label)"
                          " VALUES(?1, ?2, ?3, ?9, ?10, ?4, ?5, ?11, ?7, ?8)",
        [VS_TRACK_ENDED] = "INSERT INTO tracks(video_id, track_id, speed_kmh) VALUES(?1, ?2, ?12)"
                           " ON CONFLICT(video_id, track_id) DO UPDATE SET speed_kmh = ?12",
    };
    for (int i = 0; i < frame->event_count; i++) {
        const vs_zone_event *e = &frame->events[i];
        assert(e->kind >= 0 && e->kind <= VS_TRACK_ENDED);
        const vs_zone *zone = store->zones && e->zone >= 0 && e->zone < store->zones->count
                                  ? &store->zones->zones[e->zone]
                                  : NULL;
        if (!zone && e->kind != VS_TRACK_ENDED)
            continue; /* no zones file given to the store: nothing to name it by */
        sqlite3_stmt *stmt;
        int status = store_prepare(store, sql[e->kind], &stmt, "insert tracking events", err);
        if (status != VS_OK)
            return status;
        sqlite3_bind_int64(stmt, 1, video_id);
        sqlite3_bind_int(stmt, 2, e->track_id);
        if (zone)
            sqlite3_bind_text(stmt, 3, zone->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, e->frame);
        sqlite3_bind_int64(stmt, 5, (int64_t)llround(e->time_s * 1000.0));
        if (zone)
            sqlite3_bind_text(stmt, 6, zone->directions[e->direction ? 1 : 0], -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 7, e->class_id);
        bind_label(stmt, 8, labels, e->class_id);
        sqlite3_bind_int64(stmt, 9, e->enter_frame);
        sqlite3_bind_int64(stmt, 10, (int64_t)llround(e->enter_s * 1000.0));
        sqlite3_bind_double(stmt, 11, e->time_s - e->enter_s);
        if (isnan(e->speed_kmh))
            sqlite3_bind_null(stmt, 12);
        else
            sqlite3_bind_double(stmt, 12, e->speed_kmh);
        status = store_step_done(store, stmt, "insert tracking events", err);
        if (status != VS_OK)
            return status;
    }
    store->rows_in_transaction += frame->event_count;
    return VS_OK;
}

/* videos.frames_analysed advances with every analysed frame, in the same
 * transactions as the rows: another terminal watching the database sees a
 * video progress, and vs_store_end_video writes the final count. */
static int count_analysed(vs_store *store, int64_t video_id, vs_error *err)
{
    int status = store_begin(store, err);
    if (status == VS_OK && !store->count_analysed) {
        int rc = sqlite3_prepare_v3(store->db,
                                    "UPDATE videos SET frames_analysed ="
                                    " coalesce(frames_analysed, 0) + 1 WHERE id = ?1",
                                    -1, SQLITE_PREPARE_PERSISTENT, &store->count_analysed, NULL);
        if (rc != SQLITE_OK)
            status = store_fail(store, rc, "count analysed frames", err);
    }
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(store->count_analysed, 1, video_id);
    int rc = sqlite3_step(store->count_analysed);
    sqlite3_reset(store->count_analysed);
    return rc == SQLITE_DONE ? VS_OK : store_fail(store, rc, "count analysed frames", err);
}

int vs_store_add_frame(vs_store *store, int64_t video_id, const vs_frame *frame,
                       const char *const *labels, vs_error *err)
{
    if (frame->event_count > 0) {
        int status = store_begin(store, err);
        if (status == VS_OK)
            status = add_events(store, video_id, frame, labels, err);
        if (status != VS_OK)
            return status;
    }
    if (frame->kind == VS_FRAME_PICTURE && frame->analysed) {
        int status = count_analysed(store, video_id, err);
        if (status != VS_OK)
            return status;
    }
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
        if (det->track_id > 0)
            sqlite3_bind_int(insert, 12, det->track_id);
        else
            sqlite3_bind_null(insert, 12);
        int rc = sqlite3_step(insert);
        sqlite3_reset(insert);
        if (rc != SQLITE_DONE)
            return store_fail(store, rc, "insert detections", err);
    }
    store->rows_in_transaction += frame->detection_count;
    return store_commit_if_due(store, err);
}

/* A tracks row per track id of the video's detections (analysed frames
 * only: carried copies would count a box twice), its class the most
 * frequent (ties: the earliest seen); a row made earlier for its speed is
 * completed. And the zones as this video's pixels. */
static int end_tracks(vs_store *store, int64_t video_id, const vs_video *video, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_prepare(
        store,
        "INSERT INTO tracks(video_id, track_id, class_id, label, first_frame, last_frame,"
        " first_ms, last_ms, detections, mean_score)"
        " SELECT d.video_id, d.track_id, m.class_id, m.label, min(d.frame_index),"
        "  max(d.frame_index), min(d.pts_ms), max(d.pts_ms), count(*), avg(d.score)"
        " FROM detections d JOIN (SELECT track_id, class_id, label FROM ("
        "   SELECT track_id, class_id, label, row_number() OVER (PARTITION BY track_id"
        "     ORDER BY count(*) DESC, min(frame_index)) AS rank"
        "   FROM detections WHERE video_id = ?1 AND track_id IS NOT NULL AND carried = 0"
        "   GROUP BY track_id, class_id) WHERE rank = 1) m ON m.track_id = d.track_id"
        " WHERE d.video_id = ?1 AND d.carried = 0 GROUP BY d.track_id"
        " ON CONFLICT(video_id, track_id) DO UPDATE SET class_id = excluded.class_id,"
        "  label = excluded.label, first_frame = excluded.first_frame,"
        "  last_frame = excluded.last_frame, first_ms = excluded.first_ms,"
        "  last_ms = excluded.last_ms, detections = excluded.detections,"
        "  mean_score = excluded.mean_score",
        &stmt, "record the tracks of a video", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, video_id);
    if ((status = store_step_done(store, stmt, "record the tracks of a video", err)) != VS_OK)
        return status;
    for (int z = 0; store->zones && z < store->zones->count && video->width > 0; z++) {
        const vs_zone *zone = &store->zones->zones[z];
        char points[VS_ZONE_MAX_POINTS * 48 + 4];
        size_t used = 0;
        points[used++] = '[';
        for (int i = 0; i < zone->point_count; i++)
            used += (size_t)snprintf(points + used, sizeof points - used, "%s[%.2f, %.2f]",
                                     i ? ", " : "",
                                     zone->points[i][0] * (zone->fractions ? video->width : 1),
                                     zone->points[i][1] * (zone->fractions ? video->height : 1));
        snprintf(points + used, sizeof points - used, "]");
        status = store_prepare(store,
                               "INSERT OR REPLACE INTO zones(video_id, name, kind, points,"
                               " direction_in, direction_out) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                               &stmt, "record the zones of a video", err);
        if (status != VS_OK)
            return status;
        sqlite3_bind_int64(stmt, 1, video_id);
        sqlite3_bind_text(stmt, 2, zone->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, zone->kind == VS_ZONE_LINE ? "line" : "polygon", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, points, -1, SQLITE_TRANSIENT);
        if (zone->kind == VS_ZONE_LINE) {
            sqlite3_bind_text(stmt, 5, zone->directions[0], -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 6, zone->directions[1], -1, SQLITE_STATIC);
        }
        if ((status = store_step_done(store, stmt, "record the zones of a video", err)) != VS_OK)
            return status;
    }
    return VS_OK;
}

int vs_store_end_video(vs_store *store, int64_t video_id, const vs_video *video, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = end_tracks(store, video_id, video, err);
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

int vs_store_add_snapshot(vs_store *store, int64_t video_id, const vs_store_snapshot *snapshot,
                          vs_error *err)
{
    assert(snapshot->x1 <= snapshot->x2 && snapshot->y1 <= snapshot->y2);
    sqlite3_stmt *stmt;
    int status = store_begin(store, err);
    if (status == VS_OK)
        status = store_prepare(store,
                               "INSERT INTO snapshots(video_id, kind, class_id, score, path,"
                               " frame_index, x1, y1, x2, y2)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                               &stmt, "record a snapshot", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, video_id);
    sqlite3_bind_text(stmt, 2, snapshot->kind, -1, SQLITE_STATIC);
    if (snapshot->class_id >= 0) {
        sqlite3_bind_int(stmt, 3, snapshot->class_id);
        sqlite3_bind_double(stmt, 4, snapshot->score);
    }
    sqlite3_bind_text(stmt, 5, snapshot->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, snapshot->frame_index);
    sqlite3_bind_int(stmt, 7, snapshot->x1);
    sqlite3_bind_int(stmt, 8, snapshot->y1);
    sqlite3_bind_int(stmt, 9, snapshot->x2);
    sqlite3_bind_int(stmt, 10, snapshot->y2);
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
                       VS_NAME(path));
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

/* ---- Reading ---- */

struct vs_store_cursor {
    vs_store *store;
    sqlite3_stmt *stmt;
    const char *doing; /* for messages: "read videos", ... */
};

int vs_store_open_read(vs_store **out, const char *path, vs_error *err)
{
    *out = NULL;
    struct stat info;
    if (stat(path, &info) != 0)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(path), strerror(errno));
    if (S_ISDIR(info.st_mode))
        return vs_fail(err, VS_EIO, "%s: is a directory, not a results database", VS_NAME(path));
    vs_store *store = calloc(1, sizeof *store);
    if (!store)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(path));
    snprintf(store->path, sizeof store->path, "%s", path);
    store->busy_ms = VS_STORE_BUSY_MS;
    store->file_fd = -1; /* nothing is written: no file to check at commits */
    int rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    int status = rc == SQLITE_OK ? VS_OK : store_fail(store, rc, "open the database", err);
    int64_t version = 0;
    if (status == VS_OK) {
        sqlite3_extended_result_codes(store->db, 1);
        sqlite3_busy_timeout(store->db, store->busy_ms);
        status = check_identity(store, &version, err);
    }
    /* v2 has every column the cursors read; v3 added tracking's tables,
     * which read as empty in a v2 database. */
    if (status == VS_OK && version < 2)
        status = vs_fail(err, VS_EIO,
                         "%s: %s (schema v%lld); a `vidsift run` with this database migrates it",
                         VS_NAME(path),
                         version == 0 ? "not a vidsift results database, or an empty one"
                                      : "written by an older vidsift",
                         (long long)version);
    /* One read transaction: every cursor sees the same rows. */
    if (status == VS_OK)
        status = store_exec(store, "BEGIN", "start reading", err);
    if (status != VS_OK) {
        vs_store_close(store);
        return status;
    }
    *out = store;
    return VS_OK;
}

void vs_store_cursor_close(vs_store_cursor *cursor)
{
    if (!cursor)
        return;
    sqlite3_finalize(cursor->stmt);
    free(cursor);
}

/* Appends the filter's clauses to sql; only the set fields, so that SQLite
 * uses the indexes (an "?1 = 0 OR video_id = ?1" clause would defeat them).
 * rows: the alias of the table read, which has video_id and label columns
 * ("d" detections, "t" tracks, "c" crossings, "s" visits): the video and
 * class clauses apply to it, and min_score to its score column (callers of
 * tables without one clear it); NULL: the videos table itself, without
 * class or score clauses. Parameters are named and bound by bind_filter. */
static void filter_sql(char *sql, size_t size, const vs_store_filter *f, const char *rows)
{
    size_t used = strlen(sql);
    char clauses[5][200];
    int count = 0;
    if (f && f->run_id > 0)
        snprintf(clauses[count++], sizeof clauses[0], "v.run_id = :run");
    if (f && f->video_id > 0)
        snprintf(clauses[count++], sizeof clauses[0], "%s%s = :video", rows ? rows : "v.id",
                 rows ? ".video_id" : "");
    if (f && f->video_pattern)
        snprintf(clauses[count++], sizeof clauses[0], "v.path GLOB :pattern");
    if (f && f->classes && rows)
        snprintf(clauses[count++], sizeof clauses[0],
                 "instr(',' || lower(replace(:classes, ' ', '')) || ',',"
                 " ',' || lower(replace(%s.label, ' ', '')) || ',') > 0",
                 rows);
    if (f && f->min_score > 0 && rows)
        snprintf(clauses[count++], sizeof clauses[0], "%s.score >= :min_score", rows);
    for (int i = 0; i < count && used < size; i++)
        used +=
            (size_t)snprintf(sql + used, size - used, "%s%s", i ? " AND " : " WHERE ", clauses[i]);
}

static void bind_filter(sqlite3_stmt *stmt, const vs_store_filter *f)
{
    if (!f)
        return;
    int index;
    if ((index = sqlite3_bind_parameter_index(stmt, ":run")))
        sqlite3_bind_int64(stmt, index, f->run_id);
    if ((index = sqlite3_bind_parameter_index(stmt, ":video")))
        sqlite3_bind_int64(stmt, index, f->video_id);
    if ((index = sqlite3_bind_parameter_index(stmt, ":pattern")))
        sqlite3_bind_text(stmt, index, f->video_pattern, -1, SQLITE_TRANSIENT);
    if ((index = sqlite3_bind_parameter_index(stmt, ":classes")))
        sqlite3_bind_text(stmt, index, f->classes, -1, SQLITE_TRANSIENT);
    if ((index = sqlite3_bind_parameter_index(stmt, ":min_score")))
        sqlite3_bind_double(stmt, index, f->min_score);
}

static int open_cursor(vs_store *store, const char *sql, const vs_store_filter *filter,
                       const char *doing, vs_store_cursor **out, vs_error *err)
{
    *out = NULL;
    vs_store_cursor *cursor = calloc(1, sizeof *cursor);
    if (!cursor)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(store->path));
    int status = store_prepare(store, sql, &cursor->stmt, doing, err);
    if (status != VS_OK) {
        free(cursor);
        return status;
    }
    bind_filter(cursor->stmt, filter);
    cursor->store = store;
    cursor->doing = doing;
    *out = cursor;
    return VS_OK;
}

/* 1: a row is ready; 0: the end; < 0: failed. */
static int cursor_step(vs_store_cursor *cursor, vs_error *err)
{
    int rc = sqlite3_step(cursor->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_fail(cursor->store, rc, cursor->doing, err);
}

/* Unlike column_text, NULL stays NULL: a reader tells "none" from "". */
static const char *nullable_text(sqlite3_stmt *stmt, int column)
{
    return (const char *)sqlite3_column_text(stmt, column);
}

static double column_real_or(sqlite3_stmt *stmt, int column, double missing)
{
    return sqlite3_column_type(stmt, column) == SQLITE_NULL ? missing
                                                            : sqlite3_column_double(stmt, column);
}

static int64_t column_int_or(sqlite3_stmt *stmt, int column, int64_t missing)
{
    return sqlite3_column_type(stmt, column) == SQLITE_NULL ? missing
                                                            : sqlite3_column_int64(stmt, column);
}

int vs_store_read_runs(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                       vs_error *err)
{
    const char *sql = filter && filter->run_id > 0
                          ? "SELECT id, started_at, ended_at, status, options, versions, summary,"
                            " device, host FROM runs WHERE id = :run"
                          : "SELECT id, started_at, ended_at, status, options, versions, summary,"
                            " device, host FROM runs ORDER BY id DESC";
    return open_cursor(store, sql, filter, "read runs", out, err);
}

int vs_store_next_run(vs_store_cursor *cursor, vs_store_run_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_run_row){.id = sqlite3_column_int64(s, 0),
                              .started_at = nullable_text(s, 1),
                              .ended_at = nullable_text(s, 2),
                              .status = nullable_text(s, 3),
                              .options = nullable_text(s, 4),
                              .versions = nullable_text(s, 5),
                              .summary = nullable_text(s, 6),
                              .device = nullable_text(s, 7),
                              .host = nullable_text(s, 8)};
    return 1;
}

int vs_store_read_videos(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err)
{
    char sql[2048] = "SELECT v.id, v.run_id, v.path, v.canonical_path, v.relative_path,"
                     " v.output_name, v.container, v.codec, v.status, v.error, v.annotated_path,"
                     " v.analysis, v.started_at, v.ended_at, v.width, v.height, v.rotation,"
                     " v.has_audio, v.fps, v.duration_s, v.frames, v.frames_analysed,"
                     " v.detections FROM videos v";
    filter_sql(sql, sizeof sql, filter, NULL);
    strncat(sql, " ORDER BY v.id", sizeof sql - strlen(sql) - 1);
    return open_cursor(store, sql, filter, "read videos", out, err);
}

int vs_store_next_video(vs_store_cursor *cursor, vs_store_video_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_video_row){.id = sqlite3_column_int64(s, 0),
                                .run_id = column_int_or(s, 1, 0),
                                .path = nullable_text(s, 2),
                                .canonical_path = nullable_text(s, 3),
                                .relative_path = nullable_text(s, 4),
                                .output_name = nullable_text(s, 5),
                                .container = nullable_text(s, 6),
                                .codec = nullable_text(s, 7),
                                .status = nullable_text(s, 8),
                                .error = nullable_text(s, 9),
                                .annotated_path = nullable_text(s, 10),
                                .analysis = nullable_text(s, 11),
                                .started_at = nullable_text(s, 12),
                                .ended_at = nullable_text(s, 13),
                                .width = sqlite3_column_int(s, 14),
                                .height = sqlite3_column_int(s, 15),
                                .rotation = sqlite3_column_int(s, 16),
                                .has_audio = sqlite3_column_int(s, 17),
                                .fps = column_real_or(s, 18, -1),
                                .duration_s = column_real_or(s, 19, -1),
                                .frames = column_int_or(s, 20, -1),
                                .frames_analysed = column_int_or(s, 21, 0),
                                .detections = column_int_or(s, 22, 0)};
    return 1;
}

int vs_store_read_detections(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                             vs_error *err)
{
    char sql[2048] = "SELECT d.video_id, d.frame_index, d.pts_ms, v.path, d.label, d.class_id,"
                     " d.carried, d.score, d.x1, d.y1, d.x2, d.y2, d.track_id"
                     " FROM detections d JOIN videos v ON v.id = d.video_id";
    filter_sql(sql, sizeof sql, filter, "d");
    strncat(sql, " ORDER BY d.video_id, d.frame_index, d.id", sizeof sql - strlen(sql) - 1);
    return open_cursor(store, sql, filter, "read detections", out, err);
}

int vs_store_next_detection(vs_store_cursor *cursor, vs_store_detection_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_detection_row){.video_id = sqlite3_column_int64(s, 0),
                                    .frame_index = sqlite3_column_int64(s, 1),
                                    .pts_ms = sqlite3_column_int64(s, 2),
                                    .video_path = nullable_text(s, 3),
                                    .label = nullable_text(s, 4),
                                    .class_id = sqlite3_column_int(s, 5),
                                    .carried = sqlite3_column_int(s, 6),
                                    .score = sqlite3_column_double(s, 7),
                                    .x1 = sqlite3_column_double(s, 8),
                                    .y1 = sqlite3_column_double(s, 9),
                                    .x2 = sqlite3_column_double(s, 10),
                                    .y2 = sqlite3_column_double(s, 11),
                                    .track_id = column_int_or(s, 12, -1)};
    return 1;
}

int vs_store_read_classes(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                          vs_error *err)
{
    char sql[2048] = "SELECT d.class_id, max(d.label), count(*), count(DISTINCT d.track_id),"
                     " count(DISTINCT d.video_id || ':' || d.frame_index)"
                     " FROM detections d JOIN videos v ON v.id = d.video_id";
    filter_sql(sql, sizeof sql, filter, "d");
    strncat(sql, " GROUP BY d.class_id ORDER BY d.class_id", sizeof sql - strlen(sql) - 1);
    return open_cursor(store, sql, filter, "count detections per class", out, err);
}

int vs_store_next_class(vs_store_cursor *cursor, vs_store_class_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_class_row){.class_id = sqlite3_column_int(s, 0),
                                .label = nullable_text(s, 1),
                                .detections = sqlite3_column_int64(s, 2),
                                .tracks = sqlite3_column_int64(s, 3),
                                .frames = sqlite3_column_int64(s, 4)};
    return 1;
}

int vs_store_read_stage_stats(vs_store *store, int64_t run_id, vs_store_cursor **out, vs_error *err)
{
    vs_store_filter filter = {.run_id = run_id};
    return open_cursor(store,
                       "SELECT stage, unit, count, frames, total_ms, avg_ms, p95_ms, max_ms,"
                       " queue_avg, queue_max, queue_capacity FROM stage_stats"
                       " WHERE run_id = :run ORDER BY rowid",
                       &filter, "read stage statistics", out, err);
}

int vs_store_next_stage_stat(vs_store_cursor *cursor, vs_store_stage_stat *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_stage_stat){.stage = nullable_text(s, 0),
                                 .unit = nullable_text(s, 1),
                                 .count = sqlite3_column_int64(s, 2),
                                 .frames = sqlite3_column_int64(s, 3),
                                 .total_ms = sqlite3_column_double(s, 4),
                                 .avg_ms = sqlite3_column_double(s, 5),
                                 .p95_ms = sqlite3_column_double(s, 6),
                                 .max_ms = sqlite3_column_double(s, 7),
                                 .queue_avg = column_real_or(s, 8, -1),
                                 .queue_max = (int)column_int_or(s, 9, -1),
                                 .queue_capacity = (int)column_int_or(s, 10, -1)};
    return 1;
}

int vs_store_read_samples(vs_store *store, int64_t run_id, vs_store_cursor **out, vs_error *err)
{
    vs_store_filter filter = {.run_id = run_id};
    return open_cursor(store,
                       "SELECT t_ms, rss_bytes, gpu_util, gpu_mem_bytes FROM samples"
                       " WHERE run_id = :run ORDER BY t_ms",
                       &filter, "read resource samples", out, err);
}

int vs_store_next_sample(vs_store_cursor *cursor, vs_store_sample *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_sample){.t_ms = sqlite3_column_double(s, 0),
                             .rss_bytes = column_int_or(s, 1, -1),
                             .gpu_util = column_real_or(s, 2, -1),
                             .gpu_mem_bytes = column_int_or(s, 3, -1)};
    return 1;
}

int vs_store_read_snapshots(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                            vs_error *err)
{
    /* The label is not stored with a snapshot: it is the one its class has
     * in the video's detections (the index on video and frame finds them). */
    char sql[2048] = "SELECT s.id, s.video_id, s.kind, s.class_id,"
                     " (SELECT d.label FROM detections d WHERE d.video_id = s.video_id"
                     "  AND d.class_id = s.class_id LIMIT 1),"
                     " s.score, s.path FROM snapshots s JOIN videos v ON v.id = s.video_id";
    vs_store_filter videos_only = filter ? *filter : (vs_store_filter){0};
    videos_only.classes = NULL;
    videos_only.min_score = 0;
    filter_sql(sql, sizeof sql, &videos_only, NULL);
    strncat(sql, " ORDER BY s.video_id, s.id", sizeof sql - strlen(sql) - 1);
    return open_cursor(store, sql, &videos_only, "read snapshots", out, err);
}

int vs_store_next_snapshot(vs_store_cursor *cursor, vs_store_snapshot_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_snapshot_row){.id = sqlite3_column_int64(s, 0),
                                   .video_id = sqlite3_column_int64(s, 1),
                                   .kind = nullable_text(s, 2),
                                   .class_id = (int)column_int_or(s, 3, -1),
                                   .label = nullable_text(s, 4),
                                   .score = column_real_or(s, 5, -1),
                                   .path = nullable_text(s, 6)};
    return 1;
}

/* A cursor on one of schema v3's tracking tables (tracks, crossings,
 * visits): sql, or no rows at all in a v2 database, which has no tracking. */
static int open_tracking_cursor(vs_store *store, const char *table, const char *sql,
                                const vs_store_filter *filter, const char *doing,
                                vs_store_cursor **out, vs_error *err)
{
    *out = NULL;
    sqlite3_stmt *stmt;
    int status = store_prepare(store, "SELECT count(*) FROM sqlite_master WHERE name = ?1", &stmt,
                               "read the database header", err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int has_table = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) > 0;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return store_fail(store, rc, "read the database header", err);
    return open_cursor(store, has_table ? sql : "SELECT NULL WHERE 0", filter, doing, out, err);
}

/* The filter of a tracking table's rows: they have no score. */
static vs_store_filter without_score(const vs_store_filter *filter)
{
    vs_store_filter copy = filter ? *filter : (vs_store_filter){0};
    copy.min_score = 0;
    return copy;
}

int vs_store_read_crossings(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                            vs_error *err)
{
    char sql[2048] = "SELECT c.zone, c.label, c.direction, count(*) FROM crossings c"
                     " JOIN videos v ON v.id = c.video_id";
    vs_store_filter videos_only = without_score(filter);
    videos_only.classes = NULL;
    filter_sql(sql, sizeof sql, &videos_only, NULL);
    strncat(sql, " GROUP BY c.zone, c.label, c.direction ORDER BY c.zone, c.label, c.direction",
            sizeof sql - strlen(sql) - 1);
    return open_tracking_cursor(store, "crossings", sql, &videos_only, "count line crossings", out,
                                err);
}

int vs_store_next_crossing(vs_store_cursor *cursor, vs_store_crossing_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_crossing_row){.zone = nullable_text(s, 0),
                                   .label = nullable_text(s, 1),
                                   .direction = nullable_text(s, 2),
                                   .crossings = sqlite3_column_int64(s, 3)};
    return 1;
}

int vs_store_read_tracks(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err)
{
    char sql[2048] = "SELECT t.video_id, v.path, t.track_id, t.class_id, t.label, t.first_frame,"
                     " t.last_frame, t.first_ms, t.last_ms, t.detections, t.mean_score,"
                     " t.speed_kmh FROM tracks t JOIN videos v ON v.id = t.video_id";
    vs_store_filter tracks = without_score(filter);
    filter_sql(sql, sizeof sql, &tracks, "t");
    strncat(sql, " ORDER BY t.video_id, t.track_id", sizeof sql - strlen(sql) - 1);
    return open_tracking_cursor(store, "tracks", sql, &tracks, "read tracks", out, err);
}

int vs_store_next_track(vs_store_cursor *cursor, vs_store_track_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_track_row){.video_id = sqlite3_column_int64(s, 0),
                                .video_path = nullable_text(s, 1),
                                .track_id = sqlite3_column_int64(s, 2),
                                .summarised = sqlite3_column_type(s, 5) != SQLITE_NULL,
                                .class_id = (int)column_int_or(s, 3, -1),
                                .label = nullable_text(s, 4),
                                .first_frame = sqlite3_column_int64(s, 5),
                                .last_frame = sqlite3_column_int64(s, 6),
                                .first_ms = sqlite3_column_int64(s, 7),
                                .last_ms = sqlite3_column_int64(s, 8),
                                .detections = sqlite3_column_int64(s, 9),
                                .mean_score = sqlite3_column_double(s, 10),
                                .speed_kmh = column_real_or(s, 11, -1)};
    return 1;
}

int vs_store_read_crossing_events(vs_store *store, const vs_store_filter *filter,
                                  vs_store_cursor **out, vs_error *err)
{
    char sql[2048] = "SELECT c.video_id, v.path, c.track_id, c.zone, c.frame_index, c.pts_ms,"
                     " c.direction, c.class_id, c.label FROM crossings c"
                     " JOIN videos v ON v.id = c.video_id";
    vs_store_filter crossings = without_score(filter);
    filter_sql(sql, sizeof sql, &crossings, "c");
    strncat(sql, " ORDER BY c.video_id, c.frame_index, c.id", sizeof sql - strlen(sql) - 1);
    return open_tracking_cursor(store, "crossings", sql, &crossings, "read line crossings", out,
                                err);
}

int vs_store_next_crossing_event(vs_store_cursor *cursor, vs_store_crossing_event_row *row,
                                 vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_crossing_event_row){.video_id = sqlite3_column_int64(s, 0),
                                         .video_path = nullable_text(s, 1),
                                         .track_id = sqlite3_column_int64(s, 2),
                                         .zone = nullable_text(s, 3),
                                         .frame_index = sqlite3_column_int64(s, 4),
                                         .pts_ms = sqlite3_column_int64(s, 5),
                                         .direction = nullable_text(s, 6),
                                         .class_id = (int)column_int_or(s, 7, -1),
                                         .label = nullable_text(s, 8)};
    return 1;
}

int vs_store_read_visits(vs_store *store, const vs_store_filter *filter, vs_store_cursor **out,
                         vs_error *err)
{
    char sql[2048] = "SELECT s.video_id, v.path, s.track_id, s.zone, s.enter_frame, s.enter_ms,"
                     " s.exit_frame, s.exit_ms, s.dwell_s, s.class_id, s.label FROM visits s"
                     " JOIN videos v ON v.id = s.video_id";
    vs_store_filter visits = without_score(filter);
    filter_sql(sql, sizeof sql, &visits, "s");
    strncat(sql, " ORDER BY s.video_id, s.enter_frame, s.id", sizeof sql - strlen(sql) - 1);
    return open_tracking_cursor(store, "visits", sql, &visits, "read visits", out, err);
}

int vs_store_next_visit(vs_store_cursor *cursor, vs_store_visit_row *row, vs_error *err)
{
    int step = cursor_step(cursor, err);
    if (step != 1)
        return step;
    sqlite3_stmt *s = cursor->stmt;
    *row = (vs_store_visit_row){.video_id = sqlite3_column_int64(s, 0),
                                .video_path = nullable_text(s, 1),
                                .track_id = sqlite3_column_int64(s, 2),
                                .zone = nullable_text(s, 3),
                                .enter_frame = sqlite3_column_int64(s, 4),
                                .enter_ms = sqlite3_column_int64(s, 5),
                                .exit_frame = sqlite3_column_int64(s, 6),
                                .exit_ms = sqlite3_column_int64(s, 7),
                                .dwell_s = sqlite3_column_double(s, 8),
                                .class_id = (int)column_int_or(s, 9, -1),
                                .label = nullable_text(s, 10)};
    return 1;
}

int vs_store_count_tracked_videos(vs_store *store, const vs_store_filter *filter, int64_t *count,
                                  vs_error *err)
{
    *count = 0;
    char sql[2048] = "SELECT count(DISTINCT d.video_id) FROM detections d"
                     " JOIN videos v ON v.id = d.video_id";
    filter_sql(sql, sizeof sql, filter, "d");
    const char *tracked =
        strstr(sql, " WHERE ") ? " AND d.track_id IS NOT NULL" : " WHERE d.track_id IS NOT NULL";
    strncat(sql, tracked, sizeof sql - strlen(sql) - 1);
    vs_store_cursor *cursor = NULL;
    int status = open_cursor(store, sql, filter, "read detections", &cursor, err);
    if (status != VS_OK)
        return status;
    int step = cursor_step(cursor, err);
    if (step == 1)
        *count = sqlite3_column_int64(cursor->stmt, 0);
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

/* ---- Merging shard databases (vs_merge, see merge.h) ----
 *
 * DESIGN. OUT is created and migrated by vs_store_open, so its schema is
 * exactly a single-machine run's; the copying is then plain SQL on one
 * connection to OUT with each shard ATTACHed in turn, because INSERT ...
 * SELECT between attached databases moves millions of detection rows
 * without a round trip through C per row. Only this section writes OUT while
 * merging, and it writes nothing but rows of the store's own tables. It
 * lives in store.c because it is schema knowledge: each table and column a
 * video or run owns is listed below, in the file whose migrations define
 * them, and a schema version that adds one fails to compile until it is
 * listed. Cursors would not do: the copy is one INSERT ... SELECT per table
 * inside SQLite, where a cursor would bring every row through C and back.
 *
 * A video is matched by its canonical path (v1 rows, which have none, by
 * path), the store's identity of a video. Runs are matched by their start
 * time, host and options, which a rerun of the same merge finds again. */

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

static int merge_exec(merge_state *m, const char *sql, const char *doing, vs_error *err)
{
    return sqlite3_exec(m->db, sql, NULL, NULL, NULL) == SQLITE_OK ? VS_OK
                                                                   : merge_fail(m, doing, err);
}

static int merge_prepare(merge_state *m, const char *sql, sqlite3_stmt **stmt, vs_error *err)
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
    int status = merge_prepare(m, sql, &stmt, err);
    if (status != VS_OK)
        return status;
    sqlite3_bind_int64(stmt, 1, first);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, second);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? VS_OK : merge_fail(m, doing, err);
}

static int merge_read_int(merge_state *m, const char *sql, int64_t *value, vs_error *err)
{
    sqlite3_stmt *stmt;
    int status = merge_prepare(m, sql, &stmt, err);
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
    int status = merge_read_int(m, "PRAGMA shard.application_id", &application_id, err);
    if (status == VS_OK)
        status = merge_read_int(m, "PRAGMA shard.user_version", &version, err);
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
    int status = merge_exec(m,
                            "CREATE TEMP TABLE IF NOT EXISTS run_map(shard_id INTEGER PRIMARY KEY,"
                            " out_id INTEGER NOT NULL); DELETE FROM temp.run_map",
                            "map the runs", err);
    sqlite3_stmt *runs = NULL, *find = NULL;
    if (status == VS_OK)
        status = merge_prepare(
            m, "SELECT id, started_at, host, options, ended_at FROM shard.runs ORDER BY id", &runs,
            err);
    if (status == VS_OK)
        status = merge_prepare(m,
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
    int prepared = merge_prepare(
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
    int status =
        merge_prepare(m, "SELECT " VIDEO_QUERY " FROM shard.videos ORDER BY id", &theirs, err);
    if (status == VS_OK)
        status = merge_prepare(m,
                               "SELECT " VIDEO_QUERY " FROM main.videos WHERE canonical_path = ?1"
                               " OR (canonical_path IS NULL AND path = ?1)",
                               &ours, err);
    if (status == VS_OK)
        status =
            merge_prepare(m, "SELECT id FROM main.videos WHERE output_key = ?1", &key_owner, err);
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
    status = merge_prepare(m, "ATTACH DATABASE ?1 AS shard", &attach, err);
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
        status = merge_exec(m, "BEGIN IMMEDIATE", "start a write transaction", err);
    if (status == VS_OK)
        status = merge_runs(m, err);
    if (status == VS_OK)
        status = merge_videos(m, err);
    if (status == VS_OK)
        status = merge_exec(m, "COMMIT", "commit", err);
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
