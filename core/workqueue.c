/* workqueue.c: the Redis Streams work queue (see workqueue.h for the keys
 * and the delivery rules).
 *
 * DESIGN. Every step that must not be half done is one Lua script, which
 * Redis runs atomically: a push adds the key to the set and the entry to the
 * stream together (a crash between the two would lose the video forever);
 * an ack counts the video done only when XACK acknowledged it (a worker
 * whose lease ran out and whose video another worker also finished must not
 * count it twice); a burial acknowledges and appends to the dead-letter
 * stream together. Everything else is one plain command.
 *
 * Failure: each function returns VS_EIO with the server's message, or the
 * connection's error when Redis went away; the caller decides whether that
 * ends the worker. */
#include "workqueue.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#define GROUP "workers"

struct vs_workqueue {
    redisContext *redis;
    char url[512]; /* for messages */
    char stream[256], keys[256], errors[256], dead[256], done[256];
};

static const char push_script[] =
    "if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then"
    "  return redis.call('XADD', KEYS[2], '*', 'path', ARGV[2], 'relative_path', ARGV[3],"
    "    'canonical_path', ARGV[1], 'output_name', ARGV[4])"
    " end return false";
/* Renews only the entries this consumer still owns: XCLAIM alone would take
 * back an entry another worker reclaimed after a renewal came late. */
static const char keep_script[] =
    "for i = 2, #ARGV do"
    "  if #redis.call('XPENDING', KEYS[1], 'workers', ARGV[i], ARGV[i], 1, ARGV[1]) == 1 then"
    "    redis.call('XCLAIM', KEYS[1], 'workers', ARGV[1], 0, ARGV[i], 'JUSTID')"
    "  end"
    " end return 1";
static const char ack_script[] = "redis.call('HDEL', KEYS[3], ARGV[1])"
                                 " if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 1 then"
                                 "  return redis.call('INCR', KEYS[2]) end return 0";
static const char bury_script[] =
    "redis.call('HDEL', KEYS[3], ARGV[1])"
    " if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 1 then"
    "  redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'path', ARGV[2], 'deliveries', ARGV[3],"
    "    'error', ARGV[4]) return 1 end return 0";

/* Sends one command; NULL after writing why into err (the reply freed). */
static redisReply *command_argv(vs_workqueue *wq, const char *doing, int argc, const char **argv,
                                vs_error *err)
{
    redisReply *reply = redisCommandArgv(wq->redis, argc, argv, NULL);
    if (!reply) {
        vs_fail(err, VS_EIO, "%s: cannot %s: %s (is the Redis server running?)", wq->url, doing,
                wq->redis->errstr[0] ? wq->redis->errstr : "connection lost");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        vs_fail(err, VS_EIO, "%s: cannot %s: %s", wq->url, doing, reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

#define COMMAND(wq, doing, err, ...)                                                               \
    command_argv((wq), (doing), (int)(sizeof(const char *[]){__VA_ARGS__} / sizeof(const char *)), \
                 (const char *[]){__VA_ARGS__}, (err))

static int create_group(vs_workqueue *wq, vs_error *err)
{
    redisReply *reply =
        redisCommand(wq->redis, "XGROUP CREATE %s " GROUP " 0 MKSTREAM", wq->stream);
    if (!reply)
        return vs_fail(err, VS_EIO, "%s: cannot create the consumer group: %s", wq->url,
                       wq->redis->errstr);
    /* BUSYGROUP: another push or worker created it first. */
    int status =
        reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9)
            ? vs_fail(err, VS_EIO, "%s: cannot create the consumer group: %s", wq->url, reply->str)
            : VS_OK;
    freeReplyObject(reply);
    return status;
}

/* Splits url into a Unix socket path or host and port, password, db. */
static int connect_url(vs_workqueue *wq, const char *url, vs_error *err)
{
    struct timeval timeout = {5, 0};
    char host[256] = "127.0.0.1", user[128] = "", password[256] = "";
    int port = 6379, db = 0;
    const char *socket_path = NULL;
    if (!strncmp(url, "unix://", 7))
        socket_path = url + 7;
    else if (url[0] == '/')
        socket_path = url;
    if (socket_path) {
        wq->redis = redisConnectUnixWithTimeout(socket_path, timeout);
    } else {
        const char *rest = !strncmp(url, "redis://", 8) ? url + 8 : url;
        const char *at = strchr(rest, '@');
        if (at) {
            const char *colon = memchr(rest, ':', (size_t)(at - rest));
            if (colon) {
                snprintf(user, sizeof user, "%.*s", (int)(colon - rest), rest);
                snprintf(password, sizeof password, "%.*s", (int)(at - colon - 1), colon + 1);
            } else {
                snprintf(password, sizeof password, "%.*s", (int)(at - rest), rest);
            }
            rest = at + 1;
        }
        size_t host_length = strcspn(rest, ":/");
        if (host_length > 0)
            snprintf(host, sizeof host, "%.*s", (int)host_length, rest);
        rest += host_length;
        if (*rest == ':') {
            char *end;
            port = (int)strtol(rest + 1, &end, 10);
            rest = end;
        }
        if (*rest == '/')
            db = (int)strtol(rest + 1, NULL, 10);
        if (port <= 0 || port > 65535)
            return vs_fail(err, VS_EINVAL,
                           "%s: not a Redis URL (redis://[:password@]host[:port][/db] or "
                           "unix:///path/to/socket)",
                           url);
        wq->redis = redisConnectWithTimeout(host, port, timeout);
    }
    if (!wq->redis || wq->redis->err)
        return vs_fail(err, VS_EIO, "%s: cannot connect: %s", url,
                       wq->redis ? wq->redis->errstr : "out of memory");
    redisSetTimeout(wq->redis, (struct timeval){30, 0});
    redisReply *reply = NULL;
    if (password[0] && user[0])
        reply = COMMAND(wq, "log in", err, "AUTH", user, password);
    else if (password[0])
        reply = COMMAND(wq, "log in", err, "AUTH", password);
    if (password[0] && !reply)
        return VS_EIO;
    freeReplyObject(reply);
    if (db) {
        char number[16];
        snprintf(number, sizeof number, "%d", db);
        if (!(reply = COMMAND(wq, "select the database", err, "SELECT", number)))
            return VS_EIO;
        freeReplyObject(reply);
    }
    return VS_OK;
}

int vs_wq_connect(vs_workqueue **out, const char *url, const char *queue, vs_error *err)
{
    *out = NULL;
    vs_workqueue *wq = calloc(1, sizeof *wq);
    if (!wq)
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", url);
    if (!queue || !*queue)
        queue = VS_WQ_DEFAULT_NAME;
    snprintf(wq->url, sizeof wq->url, "%s", url);
    snprintf(wq->stream, sizeof wq->stream, "%.200s:videos", queue);
    snprintf(wq->keys, sizeof wq->keys, "%.200s:keys", queue);
    snprintf(wq->errors, sizeof wq->errors, "%.200s:errors", queue);
    snprintf(wq->dead, sizeof wq->dead, "%.200s:dead", queue);
    snprintf(wq->done, sizeof wq->done, "%.200s:done", queue);
    int status = connect_url(wq, url, err);
    if (status == VS_OK)
        status = create_group(wq, err);
    if (status != VS_OK) {
        vs_wq_close(wq);
        return status;
    }
    *out = wq;
    return VS_OK;
}

void vs_wq_close(vs_workqueue *wq)
{
    if (!wq)
        return;
    if (wq->redis)
        redisFree(wq->redis);
    free(wq);
}

int vs_wq_push(vs_workqueue *wq, const vs_video *video, int *added, vs_error *err)
{
    const char *key = video->canonical_path[0] ? video->canonical_path : video->path;
    redisReply *reply =
        COMMAND(wq, "push a video", err, "EVAL", push_script, "2", wq->keys, wq->stream, key,
                video->path, video->relative_path, video->output_name);
    if (!reply)
        return VS_EIO;
    *added = reply->type == REDIS_REPLY_STRING;
    freeReplyObject(reply);
    return VS_OK;
}

static const char *field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return "";
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->str && !strcmp(fields->element[i]->str, name))
            return fields->element[i + 1]->str ? fields->element[i + 1]->str : "";
    return "";
}

/* Appends the entries of a reply's [id, [field, value...]] list to items. */
static void take_entries(const redisReply *entries, vs_wq_item *items, int max_items, int *count)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < entries->elements && *count < max_items; i++) {
        const redisReply *entry = entries->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || !entry->element[0]->str)
            continue;
        vs_wq_item *item = &items[*count];
        memset(item, 0, sizeof *item);
        snprintf(item->id, sizeof item->id, "%s", entry->element[0]->str);
        const redisReply *fields = entry->element[1];
        vs_video *video = &item->video;
        snprintf(video->path, sizeof video->path, "%s", field(fields, "path"));
        snprintf(video->relative_path, sizeof video->relative_path, "%s",
                 field(fields, "relative_path"));
        snprintf(video->canonical_path, sizeof video->canonical_path, "%s",
                 field(fields, "canonical_path"));
        snprintf(video->output_name, sizeof video->output_name, "%s", field(fields, "output_name"));
        video->index = *count;
        (*count)++;
    }
}

/* Fills deliveries and last_error of items[first..count-1]. */
static int describe_items(vs_workqueue *wq, vs_wq_item *items, int first, int count, vs_error *err)
{
    for (int i = first; i < count; i++) {
        redisReply *reply = COMMAND(wq, "read a delivery count", err, "XPENDING", wq->stream, GROUP,
                                    items[i].id, items[i].id, "1");
        if (!reply)
            return VS_EIO;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
            reply->element[0]->elements >= 4)
            items[i].deliveries = reply->element[0]->element[3]->integer;
        freeReplyObject(reply);
        if (!(reply = COMMAND(wq, "read an error", err, "HGET", wq->errors, items[i].id)))
            return VS_EIO;
        if (reply->type == REDIS_REPLY_STRING)
            snprintf(items[i].last_error, sizeof items[i].last_error, "%s", reply->str);
        freeReplyObject(reply);
    }
    return VS_OK;
}

int vs_wq_claim(vs_workqueue *wq, const char *consumer, int64_t lease_ms, vs_wq_item *items,
                int max_items, int *count, vs_error *err)
{
    *count = 0;
    char idle[32], wanted[16], cursor[64] = "0-0";
    snprintf(idle, sizeof idle, "%lld", (long long)lease_ms);
    /* Silent workers' entries first: they have waited longest. */
    do {
        snprintf(wanted, sizeof wanted, "%d", max_items - *count);
        redisReply *reply = COMMAND(wq, "reclaim videos", err, "XAUTOCLAIM", wq->stream, GROUP,
                                    consumer, idle, cursor, "COUNT", wanted);
        if (!reply)
            return VS_EIO;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 && reply->element[0]->str) {
            snprintf(cursor, sizeof cursor, "%s", reply->element[0]->str);
            take_entries(reply->element[1], items, max_items, count);
        } else {
            snprintf(cursor, sizeof cursor, "0-0");
        }
        freeReplyObject(reply);
    } while (strcmp(cursor, "0-0") && *count < max_items);
    if (*count < max_items) {
        snprintf(wanted, sizeof wanted, "%d", max_items - *count);
        redisReply *reply = COMMAND(wq, "read new videos", err, "XREADGROUP", "GROUP", GROUP,
                                    consumer, "COUNT", wanted, "STREAMS", wq->stream, ">");
        if (!reply)
            return VS_EIO;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
            reply->element[0]->elements == 2)
            take_entries(reply->element[0]->element[1], items, max_items, count);
        freeReplyObject(reply);
    }
    return describe_items(wq, items, 0, *count, err);
}

int vs_wq_keep(vs_workqueue *wq, const char *consumer, char (*ids)[64], int count, vs_error *err)
{
    if (count <= 0)
        return VS_OK;
    const char *argv[5 + VS_WQ_MAX_ITEMS];
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = keep_script;
    argv[argc++] = "1";
    argv[argc++] = wq->stream;
    argv[argc++] = consumer;
    for (int i = 0; i < count && i < VS_WQ_MAX_ITEMS; i++)
        argv[argc++] = ids[i];
    redisReply *reply = command_argv(wq, "keep the lease", argc, argv, err);
    if (!reply)
        return VS_EIO;
    freeReplyObject(reply);
    return VS_OK;
}

int vs_wq_ack(vs_workqueue *wq, const vs_wq_item *item, vs_error *err)
{
    redisReply *reply = COMMAND(wq, "acknowledge a video", err, "EVAL", ack_script, "3", wq->stream,
                                wq->done, wq->errors, item->id);
    if (!reply)
        return VS_EIO;
    freeReplyObject(reply);
    return VS_OK;
}

int vs_wq_bury(vs_workqueue *wq, const vs_wq_item *item, const char *error, vs_error *err)
{
    char deliveries[32];
    snprintf(deliveries, sizeof deliveries, "%lld", (long long)item->deliveries);
    redisReply *reply =
        COMMAND(wq, "move a video to the dead-letter stream", err, "EVAL", bury_script, "3",
                wq->stream, wq->dead, wq->errors, item->id, item->video.path, deliveries, error);
    if (!reply)
        return VS_EIO;
    freeReplyObject(reply);
    return VS_OK;
}

int vs_wq_failed(vs_workqueue *wq, const vs_wq_item *item, const char *error,
                 int64_t max_deliveries, int *dead, vs_error *err)
{
    *dead = item->deliveries >= max_deliveries;
    if (*dead)
        return vs_wq_bury(wq, item, error, err);
    redisReply *reply = COMMAND(wq, "record a failure", err, "HSET", wq->errors, item->id, error);
    if (!reply)
        return VS_EIO;
    freeReplyObject(reply);
    return VS_OK;
}

/* Entries not yet delivered to the group: XINFO GROUPS' lag (Redis 7). */
static int read_waiting(vs_workqueue *wq, int64_t *waiting, vs_error *err)
{
    *waiting = 0;
    redisReply *reply = COMMAND(wq, "read the group", err, "XINFO", "GROUPS", wq->stream);
    if (!reply)
        return VS_EIO;
    for (size_t g = 0; reply->type == REDIS_REPLY_ARRAY && g < reply->elements; g++) {
        const redisReply *group = reply->element[g];
        if (strcmp(field(group, "name"), GROUP))
            continue;
        for (size_t i = 0; i + 1 < group->elements; i += 2)
            if (group->element[i]->str && !strcmp(group->element[i]->str, "lag"))
                *waiting = group->element[i + 1]->integer; /* nil (unknown) reads 0 */
    }
    freeReplyObject(reply);
    return VS_OK;
}

static int read_integer(vs_workqueue *wq, const char *doing, int64_t *value, vs_error *err,
                        const char *name, const char *key)
{
    redisReply *reply = COMMAND(wq, doing, err, name, key);
    if (!reply)
        return VS_EIO;
    *value = reply->type == REDIS_REPLY_INTEGER  ? reply->integer
             : reply->type == REDIS_REPLY_STRING ? strtoll(reply->str, NULL, 10)
                                                 : 0;
    freeReplyObject(reply);
    return VS_OK;
}

static int read_pending(vs_workqueue *wq, int64_t *pending, vs_error *err)
{
    redisReply *reply = COMMAND(wq, "read the pending videos", err, "XPENDING", wq->stream, GROUP);
    if (!reply)
        return VS_EIO;
    *pending =
        reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 ? reply->element[0]->integer : 0;
    freeReplyObject(reply);
    return VS_OK;
}

int vs_wq_drained(vs_workqueue *wq, int *drained, vs_error *err)
{
    int64_t waiting = 0, pending = 0;
    int status = read_waiting(wq, &waiting, err);
    if (status == VS_OK)
        status = read_pending(wq, &pending, err);
    *drained = status == VS_OK && waiting == 0 && pending == 0;
    return status;
}

int vs_wq_status(vs_workqueue *wq, FILE *out, vs_wq_counts *counts, vs_error *err)
{
    memset(counts, 0, sizeof *counts);
    int status = read_integer(wq, "count the videos", &counts->pushed, err, "SCARD", wq->keys);
    if (status == VS_OK)
        status = read_waiting(wq, &counts->waiting, err);
    if (status == VS_OK)
        status = read_pending(wq, &counts->in_progress, err);
    if (status == VS_OK)
        status = read_integer(wq, "count the done videos", &counts->done, err, "GET", wq->done);
    if (status == VS_OK)
        status = read_integer(wq, "count the dead videos", &counts->dead, err, "XLEN", wq->dead);
    if (status != VS_OK)
        return status;
    fprintf(out, "pending %lld, in progress %lld, done %lld, dead %lld (%lld pushed)\n",
            (long long)counts->waiting, (long long)counts->in_progress, (long long)counts->done,
            (long long)counts->dead, (long long)counts->pushed);
    redisReply *pending = COMMAND(wq, "list the videos in progress", err, "XPENDING", wq->stream,
                                  GROUP, "-", "+", "1000");
    if (!pending)
        return VS_EIO;
    for (size_t i = 0; pending->type == REDIS_REPLY_ARRAY && i < pending->elements; i++) {
        const redisReply *entry = pending->element[i];
        if (entry->elements < 4)
            continue;
        redisReply *range = COMMAND(wq, "read a video", err, "XRANGE", wq->stream,
                                    entry->element[0]->str, entry->element[0]->str);
        const char *path = "";
        if (range && range->type == REDIS_REPLY_ARRAY && range->elements == 1)
            path = field(range->element[0]->element[1], "path");
        fprintf(out, "  in progress: %s  idle %.1fs  delivery %lld  %s\n", entry->element[1]->str,
                entry->element[2]->integer / 1000.0, entry->element[3]->integer, VS_NAME(path));
        freeReplyObject(range);
    }
    freeReplyObject(pending);
    redisReply *dead =
        COMMAND(wq, "list the dead videos", err, "XRANGE", wq->dead, "-", "+", "COUNT", "1000");
    if (!dead)
        return VS_EIO;
    for (size_t i = 0; dead->type == REDIS_REPLY_ARRAY && i < dead->elements; i++) {
        const redisReply *fields = dead->element[i]->element[1];
        fprintf(out, "  dead: %s  after %s deliveries: %s\n", VS_NAME(field(fields, "path")),
                field(fields, "deliveries"), VS_NAME(field(fields, "error")));
    }
    freeReplyObject(dead);
    return VS_OK;
}
