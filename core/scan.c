/* scan.c: input discovery; see scan.h. Owns the video array it returns. */
#include "scan.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/md5.h>

#define PROBE_BYTES 4096
#define FINGERPRINT_SPAN 65536
/* Kept free below OUT/snapshots/<output name>: "/<label>.jpg.part", or
 * ".mp4.part", and the store's "~xxxxxxxx". */
#define OUTPUT_TAIL_RESERVE 160
#define SHORT_HASH 8 /* hex digits of the hash that keeps shortened names apart */

/* Where a video's file is on disk: one file, one video. */
typedef struct file_identity {
    dev_t dev;
    ino_t ino;
    int known; /* 0: a missing or failed argument, never a duplicate */
} file_identity;

typedef struct walk_state {
    vs_scan_report report;
    void *context;
    vs_scan_result *result;
    int capacity;
    file_identity *identities; /* parallel to result->videos */
    struct stat out_dir;       /* the run's --out, when it exists */
    int has_out_dir;
    size_t output_name_max;       /* longest output_name that keeps OUT's paths under PATH_MAX */
    char root_name[NAME_MAX + 1]; /* output_name's first component for this argument */
    struct {
        dev_t dev;
        ino_t ino;
    } ancestors[256]; /* directories on the current path */
    int depth;
    /* The argument being walked is itself an output directory (`vidsift run
     * --out . .`): its own files are the user's, only its outputs are not. */
    int root_is_output;
} walk_state;

static void problem(walk_state *walk, const char *path, const char *what)
{
    walk->result->problems++;
    if (walk->report)
        walk->report(walk->context, path, what);
}

/* The first SHORT_HASH hex digits of the MD5 of text. */
static void short_hash(const char *text, char out[SHORT_HASH + 1])
{
    uint8_t digest[16];
    av_md5_sum(digest, (const uint8_t *)text, strlen(text));
    for (int i = 0; i < SHORT_HASH / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* Bytes of text that end on a UTF-8 character boundary, at most limit. */
static size_t utf8_prefix(const char *text, size_t limit)
{
    size_t length = strlen(text);
    if (length <= limit)
        return length;
    while (limit > 0 && ((unsigned char)text[limit] & 0xc0) == 0x80)
        limit--;
    return limit;
}

/* Writes component into out, shortened to at most limit bytes when longer
 * (or always, when force): a readable prefix, "~", a short hash of full_name
 * (so two long names with the same prefix stay apart), and the extension. */
static void bounded_component(const char *component, size_t length, size_t limit, int force,
                              const char *full_name, char *out)
{
    assert(limit >= SHORT_HASH + 2);
    if (length <= limit && !force) {
        memcpy(out, component, length);
        out[length] = 0;
        return;
    }
    char hash[SHORT_HASH + 1];
    short_hash(full_name, hash);
    const char *dot = memrchr(component, '.', length);
    size_t extension = dot && dot != component && component + length - dot <= 16
                           ? (size_t)(component + length - dot)
                           : 0;
    if (extension + 1 + SHORT_HASH > limit)
        extension = 0; /* a tiny limit keeps the hash, not the extension */
    size_t room = limit - 1 - SHORT_HASH - extension;
    char prefix[NAME_MAX * 4 + 1];
    size_t prefix_length =
        length - extension < sizeof prefix - 1 ? length - extension : sizeof prefix - 1;
    memcpy(prefix, component, prefix_length);
    prefix[prefix_length] = 0;
    prefix_length = utf8_prefix(prefix, room);
    sprintf(out, "%.*s~%s%.*s", (int)prefix_length, prefix, hash, (int)extension,
            extension ? dot : "");
}

/* output_name: the argument's name, then the path below it, each component
 * at most VS_OUTPUT_COMPONENT_MAX bytes, the whole at most
 * walk->output_name_max. A name too long for that keeps its first and last
 * components, the middle folded into the hash. */
static void make_output_name(const walk_state *walk, const char *relative, char *out, size_t size)
{
    char full[8192], bounded[8192];
    snprintf(full, sizeof full, "%s%s%s", walk->root_name, walk->root_name[0] ? "/" : "", relative);
    size_t used = 0;
    bounded[0] = 0;
    /* Each component of full is at most NAME_MAX, so bounded cannot outgrow full. */
    for (const char *part = full; *part;) {
        size_t length = strcspn(part, "/");
        if (length > 0) {
            if (used)
                bounded[used++] = '/';
            bounded_component(part, length, VS_OUTPUT_COMPONENT_MAX, 0, full, bounded + used);
            used += strlen(bounded + used);
        }
        part += length + (part[length] == '/');
    }
    size_t limit = walk->output_name_max < size - 1 ? walk->output_name_max : size - 1;
    if (used <= limit) {
        memcpy(out, bounded, used + 1);
        return;
    }
    const char *last = strrchr(bounded, '/');
    size_t first_length = last ? strcspn(bounded, "/") : 0;
    const char *tail = last ? last + 1 : bounded;
    size_t room =
        limit > first_length + 1 + SHORT_HASH + 2 ? limit - first_length - 1 : SHORT_HASH + 2;
    if (room > VS_OUTPUT_COMPONENT_MAX)
        room = VS_OUTPUT_COMPONENT_MAX;
    char short_tail[NAME_MAX * 4 + 1];
    bounded_component(tail, strlen(tail), room, 1, full, short_tail);
    if (first_length && first_length + 1 + strlen(short_tail) <= limit)
        snprintf(out, size, "%.*s/%s", (int)first_length, bounded, short_tail);
    else
        snprintf(out, size, "%s", short_tail);
}

static int add_video(walk_state *walk, const char *path, const char *root, const struct stat *st,
                     vs_error *err)
{
    vs_scan_result *result = walk->result;
    if (result->video_count == walk->capacity) {
        int capacity = walk->capacity ? walk->capacity * 2 : 64;
        vs_video *grown = realloc(result->videos, (size_t)capacity * sizeof *grown);
        if (!grown)
            return vs_fail(err, VS_ENOMEM, "out of memory listing videos");
        result->videos = grown;
        file_identity *identities =
            realloc(walk->identities, (size_t)capacity * sizeof *identities);
        if (!identities)
            return vs_fail(err, VS_ENOMEM, "out of memory listing videos");
        walk->identities = identities;
        walk->capacity = capacity;
    }
    walk->identities[result->video_count] =
        st ? (file_identity){.dev = st->st_dev, .ino = st->st_ino, .known = 1} : (file_identity){0};
    vs_video *video = &result->videos[result->video_count++];
    memset(video, 0, sizeof *video);
    snprintf(video->path, sizeof video->path, "%s", path);
    const char *relative = path;
    size_t root_length = root ? strlen(root) : 0;
    if (root && !strncmp(path, root, root_length)) {
        relative = path + root_length;
        while (*relative == '/')
            relative++;
    } else {
        const char *slash = strrchr(path, '/');
        relative = slash ? slash + 1 : path;
    }
    snprintf(video->relative_path, sizeof video->relative_path, "%s", relative);
    if (!realpath(path, video->canonical_path))
        snprintf(video->canonical_path, sizeof video->canonical_path, "%s", path);
    make_output_name(walk, relative, video->output_name, sizeof video->output_name);
    return VS_OK;
}

/* An argument that cannot be a video: kept, already failed, so that the run
 * names it among the failures and goes on with the others. */
static int add_failed(walk_state *walk, const char *path, const char *reason, vs_error *err)
{
    int status = add_video(walk, path, NULL, NULL, err);
    if (status != VS_OK)
        return status;
    vs_video *video = &walk->result->videos[walk->result->video_count - 1];
    video->status = VS_VIDEO_FAILED;
    vs_fail(&video->error, VS_EINVAL, "%s: %s", VS_NAME(path), reason);
    return VS_OK;
}

static const char *not_a_file(mode_t mode)
{
    return S_ISFIFO(mode)                   ? "a FIFO (named pipe), not a video file"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device, not a video file"
           : S_ISSOCK(mode)                 ? "a socket, not a video file"
                                            : "not a regular file";
}

/* Whether FFmpeg recognises a media container in the first bytes of a file
 * (image formats excluded: a directory's photos are not videos). */
static int looks_like_video(const char *path)
{
    unsigned char buffer[PROBE_BYTES + AVPROBE_PADDING_SIZE] = {0};
    /* O_NONBLOCK: should the file have become a FIFO since its stat, the
     * open must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buffer, PROBE_BYTES);
    close(fd);
    if (n <= 0)
        return 0;
    AVProbeData probe = {.filename = path, .buf = buffer, .buf_size = (int)n};
    int score = 0;
    const AVInputFormat *format = av_probe_input_format3(&probe, 1, &score);
    if (!format || score < AVPROBE_SCORE_EXTENSION)
        return 0;
    if (strstr(format->name, "_pipe") || !strncmp(format->name, "image2", 6) ||
        !strcmp(format->name, "mp3") || !strcmp(format->name, "wav") ||
        !strcmp(format->name, "flac"))
        return 0;
    return 1;
}

/* Whether the name says video: such a file is kept even when its content is
 * not recognised, so that an empty or damaged clip is reported, not ignored.
 * Only names that mean video and little else: not ".ts" (TypeScript sources
 * are far more common; a transport stream is recognised by its content). */
static int has_video_extension(const char *path)
{
    static const char *const extensions[] = {
        "mp4", "m4v", "mov",  "qt",   "mkv", "webm", "avi",  "wmv", "asf",   "flv",
        "f4v", "mpg", "mpeg", "m2v",  "mts", "m2ts", "vob",  "3gp", "3g2",   "ogv",
        "mxf", "dv",  "y4m",  "h264", "264", "hevc", "h265", "265", "mjpeg", "rmvb"};
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return 0;
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (!strcasecmp(dot + 1, extensions[i]))
            return 1;
    return 0;
}

int vs_is_output_dir(const char *dir)
{
    char path[PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, VS_OUTPUT_MARKER);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 1;
    snprintf(path, sizeof path, "%s/results.db", dir);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    snprintf(path, sizeof path, "%s/annotated", dir);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    snprintf(path, sizeof path, "%s/report.json", dir);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int vs_mark_output_dir(const char *out_dir, vs_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", out_dir, VS_OUTPUT_MARKER);
    static const char text[] = "This directory holds the outputs of vidsift run: it never "
                               "analyses the videos in it.\n";
    FILE *file = fopen(path, "w");
    int written = file && fputs(text, file) >= 0;
    if (file && fclose(file) != 0)
        written = 0;
    if (!written)
        return vs_fail(err, VS_EIO, "%s: cannot write: %s", VS_NAME(path), strerror(errno));
    return VS_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_directory(walk_state *walk, const char *dir, const char *root, vs_error *err);

/* A directory not to walk: the run's output directory, or another's. One
 * given as the argument itself is walked, all but its annotated/ and
 * snapshots/ (see walk_directory). */
static int skip_output_dir(walk_state *walk, const char *path, const struct stat *st, int explicit)
{
    int ours = walk->has_out_dir && st->st_dev == walk->out_dir.st_dev &&
               st->st_ino == walk->out_dir.st_ino;
    if (!ours && !vs_is_output_dir(path))
        return 0;
    if (explicit) {
        walk->root_is_output = 1;
        problem(walk, path,
                "a vidsift output directory: its annotated/ and snapshots/ are not analysed");
        return 0;
    }
    problem(walk, path,
            ours ? "the run's output directory, not analysed"
                 : "a vidsift output directory, not analysed");
    return 1;
}

static int walk_entry(walk_state *walk, const char *path, const char *root, int explicit,
                      vs_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (explicit)
            return add_failed(walk, path, strerror(errno), err);
        problem(walk, path, errno == ELOOP ? "symlink loop" : strerror(errno));
        return VS_OK;
    }
    if (S_ISDIR(st.st_mode)) {
        if (skip_output_dir(walk, path, &st, explicit))
            return VS_OK;
        for (int i = 0; i < walk->depth; i++)
            if (walk->ancestors[i].dev == st.st_dev && walk->ancestors[i].ino == st.st_ino) {
                problem(walk, path, "directory loop (symlink back to an ancestor), not followed");
                return VS_OK;
            }
        if (walk->depth == (int)(sizeof walk->ancestors / sizeof walk->ancestors[0])) {
            problem(walk, path, "too deep, not followed");
            return VS_OK;
        }
        walk->ancestors[walk->depth].dev = st.st_dev;
        walk->ancestors[walk->depth].ino = st.st_ino;
        walk->depth++;
        int status = walk_directory(walk, path, root ? root : path, err);
        walk->depth--;
        return status;
    }
    if (!S_ISREG(st.st_mode)) {
        if (explicit)
            return add_failed(walk, path, not_a_file(st.st_mode), err);
        walk->result->files_skipped++; /* never opened: a FIFO would block */
        return VS_OK;
    }
    if (explicit)
        return add_video(walk, path, NULL, &st, err);
    if (access(path, R_OK) != 0) {
        /* Kept, so that the run names it among the failures. */
        return add_video(walk, path, root, &st, err);
    }
    if (looks_like_video(path) || has_video_extension(path))
        return add_video(walk, path, root, &st, err);
    walk->result->files_skipped++;
    return VS_OK;
}

static int walk_directory(walk_state *walk, const char *dir, const char *root, vs_error *err)
{
    DIR *handle = opendir(dir);
    if (!handle) {
        problem(walk, dir, strerror(errno));
        return VS_OK;
    }
    char **names = NULL;
    int count = 0, capacity = 0, status = VS_OK;
    struct dirent *entry;
    while ((entry = readdir(handle))) {
        if (entry->d_name[0] == '.')
            continue; /* hidden files and . / .. */
        if (walk->root_is_output && walk->depth == 1 &&
            (!strcmp(entry->d_name, "annotated") || !strcmp(entry->d_name, "snapshots")))
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 32;
            char **grown = realloc(names, (size_t)capacity * sizeof *grown);
            if (!grown) {
                status = vs_fail(err, VS_ENOMEM, "out of memory listing %s", VS_NAME(dir));
                break;
            }
            names = grown;
        }
        if (!(names[count] = strdup(entry->d_name))) {
            status = vs_fail(err, VS_ENOMEM, "out of memory listing %s", VS_NAME(dir));
            break;
        }
        count++;
    }
    closedir(handle);
    if (count)
        qsort(names, (size_t)count, sizeof *names, compare_names);
    for (int i = 0; i < count && status == VS_OK; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path)
            problem(walk, names[i], "path too long");
        else
            status = walk_entry(walk, path, root, 0, err);
    }
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return status;
}

/* The name an argument's outputs go under: its last component as given
 * (cam1/ -> cam1), or the real directory's name for "." and "..". Empty for
 * a file argument (its own name is its output name) and for "/". */
static void set_root_name(walk_state *walk, const char *path)
{
    walk->root_name[0] = 0;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char resolved[PATH_MAX];
    if (!strcmp(name, ".") || !strcmp(name, "..") || !*name) {
        if (!realpath(path, resolved))
            return;
        slash = strrchr(resolved, '/');
        name = slash ? slash + 1 : resolved;
    }
    snprintf(walk->root_name, sizeof walk->root_name, "%.*s", NAME_MAX, name);
}

typedef struct identity_order {
    file_identity identity;
    int index;
} identity_order;

static int compare_identities(const void *a, const void *b)
{
    const identity_order *x = a, *y = b;
    if (x->identity.dev != y->identity.dev)
        return x->identity.dev < y->identity.dev ? -1 : 1;
    if (x->identity.ino != y->identity.ino)
        return x->identity.ino < y->identity.ino ? -1 : 1;
    return x->index - y->index;
}

/* Drops every video that is the same file as an earlier one, keeping the
 * input order of the rest. */
static int drop_duplicates(walk_state *walk, vs_error *err)
{
    vs_scan_result *result = walk->result;
    int count = result->video_count;
    if (count < 2)
        return VS_OK;
    identity_order *order = malloc((size_t)count * sizeof *order);
    int *first = malloc((size_t)count * sizeof *first); /* the video each one repeats, or itself */
    if (!order || !first) {
        free(order);
        free(first);
        return vs_fail(err, VS_ENOMEM, "out of memory listing videos");
    }
    for (int i = 0; i < count; i++) {
        order[i] = (identity_order){.identity = walk->identities[i], .index = i};
        first[i] = i;
    }
    qsort(order, (size_t)count, sizeof *order, compare_identities);
    for (int i = 1; i < count; i++) {
        const file_identity *a = &order[i - 1].identity, *b = &order[i].identity;
        if (a->known && b->known && a->dev == b->dev && a->ino == b->ino)
            first[order[i].index] = first[order[i - 1].index];
    }
    int kept = 0;
    for (int i = 0; i < count; i++) {
        if (first[i] != i) {
            char note[VS_NAME_SIZE + 64];
            /* first[i] < i was kept, and first[] of it now gives its new place. */
            snprintf(note, sizeof note, "the same file as %s, analysed once",
                     VS_NAME(result->videos[first[first[i]]].path));
            problem(walk, result->videos[i].path, note);
            result->duplicates++;
            continue;
        }
        /* Earlier videos only move down, so first[] of a later one still
         * names a kept video by its original index: remap as we go. */
        first[i] = kept;
        if (kept != i)
            result->videos[kept] = result->videos[i];
        kept++;
    }
    result->video_count = kept;
    free(order);
    free(first);
    return VS_OK;
}

int vs_scan(const char *const *paths, int path_count, const char *out_dir, vs_scan_report report,
            void *context, vs_scan_result *result, vs_error *err)
{
    memset(result, 0, sizeof *result);
    walk_state walk = {.report = report, .context = context, .result = result};
    walk.has_out_dir = out_dir && stat(out_dir, &walk.out_dir) == 0;
    /* OUT/snapshots/<output name>/<file> must fit in PATH_MAX. */
    size_t prefix = (out_dir ? strlen(out_dir) : 0) + sizeof "/snapshots/" + OUTPUT_TAIL_RESERVE;
    walk.output_name_max = prefix + 64 < PATH_MAX ? PATH_MAX - 1 - prefix : 64;
    int status = VS_OK;
    for (int i = 0; i < path_count && status == VS_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", paths[i]);
        size_t length = strlen(path);
        while (length > 1 && path[length - 1] == '/')
            path[--length] = 0;
        set_root_name(&walk, path);
        walk.root_is_output = 0;
        status = walk_entry(&walk, path, NULL, 1, err);
    }
    if (status == VS_OK)
        status = drop_duplicates(&walk, err);
    free(walk.identities);
    if (status != VS_OK) {
        vs_scan_free(result);
        return status;
    }
    for (int i = 0; i < result->video_count; i++)
        result->videos[i].index = i;
    return VS_OK;
}

void vs_scan_free(vs_scan_result *result)
{
    free(result->videos);
    memset(result, 0, sizeof *result);
}

int vs_fingerprint(vs_video *video, vs_error *err)
{
    /* O_NONBLOCK: a FIFO put in the file's place since the scan must not
     * hang the run; a regular file reads the same either way. */
    int fd = open(video->path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(video->path), strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return vs_fail(err, VS_EIO, "%s: %s", VS_NAME(video->path), strerror(errno));
    }
    video->size_bytes = st.st_size;
    video->mtime_s = st.st_mtime;
    struct AVMD5 *md5 = av_md5_alloc();
    if (!md5) {
        close(fd);
        return vs_fail(err, VS_ENOMEM, "out of memory");
    }
    av_md5_init(md5);
    av_md5_update(md5, (const uint8_t *)&video->size_bytes, sizeof video->size_bytes);
    static const int whence[2] = {SEEK_SET, SEEK_END};
    unsigned char buffer[FINGERPRINT_SPAN];
    for (int part = 0; part < 2; part++) {
        off_t offset =
            part == 0 ? 0 : -(off_t)(st.st_size < FINGERPRINT_SPAN ? st.st_size : FINGERPRINT_SPAN);
        if (lseek(fd, offset, whence[part]) < 0)
            break;
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0)
            av_md5_update(md5, buffer, (size_t)n);
    }
    close(fd);
    uint8_t digest[16];
    av_md5_final(md5, digest);
    av_free(md5);
    for (int i = 0; i < 16; i++)
        snprintf(video->fingerprint + 2 * i, 3, "%02x", digest[i]);
    return VS_OK;
}
