/* workqueue.h: a work queue of videos on Redis Streams (the only code that
 * talks to Redis; hiredis is linked to it alone).
 *
 * Keys, under a queue name Q (default "vidsift"):
 *   Q:videos   stream, one entry per video: path, relative_path,
 *              canonical_path, output_name (as `queue push` scanned it)
 *   Q:keys     set of canonical paths pushed: a second push adds nothing
 *   Q:errors   hash, entry id -> the last failure's message
 *   Q:dead     stream of videos given up: id, path, deliveries, error
 *   Q:done     counter of videos acknowledged done
 * Consumer group "workers" on Q:videos: each worker is one consumer.
 *
 * Delivery is at least once. A worker claims entries (XAUTOCLAIM of
 * entries idle past the lease first: their worker went silent; then
 * XREADGROUP of new ones), keeps them fresh while it works (XCLAIM JUSTID,
 * which resets the idle time without counting a delivery), and
 * acknowledges each only after the video's rows and 'done' mark are
 * committed to its database. A worker killed before its ack leaves the
 * entry pending: after the lease another worker claims it and does the
 * video again; `vidsift merge` keeps one copy. An entry delivered more than
 * max_deliveries times (a file that fails, or kills its worker, each time)
 * goes to Q:dead with its last error instead of being worked on again.
 *
 * A vs_workqueue is one connection: one thread at a time. */
#ifndef VS_WORKQUEUE_H
#define VS_WORKQUEUE_H

#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "vs_error.h"

#define VS_WQ_DEFAULT_NAME "vidsift"
#define VS_WQ_MAX_ITEMS 64 /* entries one claim takes at most (run's --jobs limit) */

typedef struct vs_workqueue vs_workqueue;

/* One claimed entry. */
typedef struct vs_wq_item {
    char id[64];          /* stream entry id */
    int64_t deliveries;   /* times delivered, this one included */
    char last_error[512]; /* the previous delivery's failure, "" if none recorded */
    vs_video video;       /* path, relative_path, canonical_path, output_name filled */
} vs_wq_item;

/* url: redis://[[user]:password@]host[:port][/db], unix:///path/to/socket
 * (or a bare /path), or host:port. queue: the key prefix (NULL: default).
 * VS_EIO "URL: cannot connect: reason". */
int vs_wq_connect(vs_workqueue **out, const char *url, const char *queue, vs_error *err);
void vs_wq_close(vs_workqueue *wq);

/* Adds the video unless its canonical path was pushed before (*added 0). */
int vs_wq_push(vs_workqueue *wq, const vs_video *video, int *added, vs_error *err);

/* Claims up to max_items entries for consumer: first entries idle for at
 * least lease_ms (their worker went silent, or failed them), then new ones.
 * *count 0: nothing to take now. */
int vs_wq_claim(vs_workqueue *wq, const char *consumer, int64_t lease_ms, vs_wq_item *items,
                int max_items, int *count, vs_error *err);
/* Resets the idle time of those of ids[0..count-1] that consumer still
 * owns; one another worker reclaimed meanwhile stays with that worker. */
int vs_wq_keep(vs_workqueue *wq, const char *consumer, char (*ids)[64], int count, vs_error *err);
/* The video is committed done: acknowledge and count it. */
int vs_wq_ack(vs_workqueue *wq, const vs_wq_item *item, vs_error *err);
/* A delivery failed with error: recorded for the next one, or, when the
 * entry has had max_deliveries, moved to the dead-letter stream and
 * acknowledged (*dead 1). */
int vs_wq_failed(vs_workqueue *wq, const vs_wq_item *item, const char *error,
                 int64_t max_deliveries, int *dead, vs_error *err);
/* Moves an entry delivered too often to the dead-letter stream. */
int vs_wq_bury(vs_workqueue *wq, const vs_wq_item *item, const char *error, vs_error *err);
/* *drained 1 when no entry is waiting to be delivered and none is held. */
int vs_wq_drained(vs_workqueue *wq, int *drained, vs_error *err);

typedef struct vs_wq_counts {
    int64_t pushed, waiting, in_progress, done, dead;
} vs_wq_counts;
/* Prints the counts, then one line per entry in progress (consumer, idle
 * time, deliveries, path) and per dead entry, to out. */
int vs_wq_status(vs_workqueue *wq, FILE *out, vs_wq_counts *counts, vs_error *err);

#endif
