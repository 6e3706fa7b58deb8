/* scan.c: input discovery; see scan.h. Owns the video array it returns. */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/md5.h>

#define PROBE_BYTES 4096
#define FINGERPRINT_SPAN 65536

typedef struct walk_state {
    vs_scan_report report;
    void *context;
    vs_scan_result *result;
    int capacity;
    struct {
        dev_t dev;
        ino_t ino;
    } ancestors[256]; /* directories on the current path */
    int depth;
} walk_state;

static void problem(walk_state *walk, const char *path, const char *what)
{
    walk->result->problems++;
    if (walk->report)
        walk->report(walk->context, path, what);
}

static int add_video(walk_state *walk, const char *path, const char *root, vs_error *err)
{
    vs_scan_result *result = walk->result;
    if (result->video_count == walk->capacity) {
        int capacity = walk->capacity ? walk->capacity * 2 : 64;
        vs_video *grown = realloc(result->videos, (size_t)capacity * sizeof *grown);
        if (!grown)
            return vs_fail(err, VS_ENOMEM, "out of memory listing videos");
        result->videos = grown;
        walk->capacity = capacity;
    }
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
    snprintf(video->output_name, sizeof video->output_name, "%s", relative);
    return VS_OK;
}

/* Whether FFmpeg recognises a media container in the first bytes of a file
 * (image formats excluded: a directory's photos are not videos). */
static int looks_like_video(const char *path)
{
    unsigned char buffer[PROBE_BYTES + AVPROBE_PADDING_SIZE] = {0};
    int fd = open(path, O_RDONLY);
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

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_directory(walk_state *walk, const char *dir, const char *root, vs_error *err);

static int walk_entry(walk_state *walk, const char *path, const char *root, int explicit,
                      vs_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (explicit)
            return vs_fail(err, VS_EINVAL, "%s: %s", path, strerror(errno));
        problem(walk, path, errno == ELOOP ? "symlink loop" : strerror(errno));
        return VS_OK;
    }
    if (S_ISDIR(st.st_mode)) {
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
            return vs_fail(err, VS_EINVAL, "%s: not a regular file", path);
        return VS_OK;
    }
    if (explicit)
        return add_video(walk, path, NULL, err);
    if (access(path, R_OK) != 0) {
        /* Kept, so that the run names it among the failures. */
        return add_video(walk, path, root, err);
    }
    if (looks_like_video(path))
        return add_video(walk, path, root, err);
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
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 32;
            char **grown = realloc(names, (size_t)capacity * sizeof *grown);
            if (!grown) {
                status = vs_fail(err, VS_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            names = grown;
        }
        if (!(names[count] = strdup(entry->d_name))) {
            status = vs_fail(err, VS_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        count++;
    }
    closedir(handle);
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

int vs_scan(const char *const *paths, int path_count, vs_scan_report report, void *context,
            vs_scan_result *result, vs_error *err)
{
    memset(result, 0, sizeof *result);
    walk_state walk = {.report = report, .context = context, .result = result};
    for (int i = 0; i < path_count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", paths[i]);
        size_t length = strlen(path);
        while (length > 1 && path[length - 1] == '/')
            path[--length] = 0;
        int status = walk_entry(&walk, path, NULL, 1, err);
        if (status != VS_OK) {
            vs_scan_free(result);
            return status;
        }
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
    int fd = open(video->path, O_RDONLY);
    if (fd < 0)
        return vs_fail(err, VS_EIO, "%s: %s", video->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return vs_fail(err, VS_EIO, "%s: %s", video->path, strerror(errno));
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
