/* shard.c: which videos a `--shard K/N` run takes (see shard.h). */
#include "shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t vs_shard_hash(const char *key)
{
    uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a 64 offset basis */
    for (const unsigned char *byte = (const unsigned char *)key; *byte; byte++) {
        hash ^= *byte;
        hash *= 0x100000001b3ull; /* FNV-1a 64 prime */
    }
    return hash;
}

int vs_shard_of(const char *key, int count)
{
    if (count <= 1)
        return 0;
    return (int)(vs_shard_hash(key) % (uint64_t)count);
}

/* A whole number from min to max, all of text; -1 otherwise (never valid here). */
static long whole_number(const char *text, long min, long max)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    return errno || *end || value < min || value > max ? -1 : value;
}

static const char *plain_getenv(const char *name)
{
    return getenv(name);
}

static int shard_from_environment(int shards_option, const char *(*getenv_fn)(const char *),
                                  vs_shard *shard, vs_error *err)
{
    const char *task_id = getenv_fn("SLURM_ARRAY_TASK_ID");
    if (task_id && *task_id) {
        const char *task_min = getenv_fn("SLURM_ARRAY_TASK_MIN");
        const char *task_count = getenv_fn("SLURM_ARRAY_TASK_COUNT");
        long id = whole_number(task_id, 0, 100000000);
        long min = task_min && *task_min ? whole_number(task_min, 0, 100000000) : 0;
        long count = whole_number(task_count, 1, VS_SHARD_MAX);
        if (shards_option > 0 && count < 0)
            count = shards_option; /* an older Slurm without SLURM_ARRAY_TASK_COUNT */
        if (id < 0 || min < 0 || count < 0)
            return vs_fail(err, VS_EINVAL,
                           "--shard auto: SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s, "
                           "SLURM_ARRAY_TASK_COUNT=%s are not whole numbers (give --shards N "
                           "when the count is missing)",
                           task_id, task_min ? task_min : "(unset)",
                           task_count ? task_count : "(unset)");
        if (id - min >= count)
            return vs_fail(err, VS_EINVAL,
                           "--shard auto: array task %ld is not below min %ld + count %ld: "
                           "submit the array as --array=0-%ld (a contiguous range, no step)",
                           id, min, count, count - 1);
        shard->index = (int)(id - min);
        shard->count = (int)count;
        return VS_OK;
    }
    const char *completion = getenv_fn("JOB_COMPLETION_INDEX");
    if (completion && *completion) {
        long index = whole_number(completion, 0, VS_SHARD_MAX);
        if (shards_option <= 0)
            return vs_fail(err, VS_EINVAL,
                           "--shard auto: JOB_COMPLETION_INDEX is set but not the number of "
                           "shards: give --shards N (the Job's completions)");
        if (index < 0 || index >= shards_option)
            return vs_fail(err, VS_EINVAL,
                           "--shard auto: JOB_COMPLETION_INDEX=%s is not from 0 to %d", completion,
                           shards_option - 1);
        shard->index = (int)index;
        shard->count = shards_option;
        return VS_OK;
    }
    return vs_fail(err, VS_EINVAL,
                   "--shard auto: neither SLURM_ARRAY_TASK_ID (sbatch --array) nor "
                   "JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; give --shard K/N");
}

int vs_shard_parse(const char *text, int shards_option, const char *(*getenv_fn)(const char *name),
                   vs_shard *shard, vs_error *err)
{
    if (!getenv_fn)
        getenv_fn = plain_getenv;
    if (!strcmp(text, "auto"))
        return shard_from_environment(shards_option, getenv_fn, shard, err);
    const char *slash = strchr(text, '/');
    char index_text[32];
    long index = -1, count = -1;
    if (slash && (size_t)(slash - text) < sizeof index_text) {
        memcpy(index_text, text, (size_t)(slash - text));
        index_text[slash - text] = 0;
        index = whole_number(index_text, 0, VS_SHARD_MAX);
        count = whole_number(slash + 1, 1, VS_SHARD_MAX);
    }
    if (index < 0 || count < 0 || index >= count)
        return vs_fail(err, VS_EINVAL,
                       "--shard: '%s' is not K/N with 0 <= K < N <= %d (e.g. 0/4), nor auto", text,
                       VS_SHARD_MAX);
    if (shards_option > 0 && shards_option != count)
        return vs_fail(err, VS_EINVAL, "--shard %s disagrees with --shards %d", text,
                       shards_option);
    shard->index = (int)index;
    shard->count = (int)count;
    return VS_OK;
}

int vs_shard_select(const vs_shard *shard, vs_video *videos, int video_count)
{
    int kept = 0;
    for (int i = 0; i < video_count; i++) {
        if (vs_shard_of(videos[i].relative_path, shard->count) != shard->index)
            continue;
        if (kept != i)
            videos[kept] = videos[i];
        videos[kept].index = kept; /* the run's order is the shard's */
        kept++;
    }
    return kept;
}
