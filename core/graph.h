/* graph.h: the pipeline's stages as a table (as FFmpeg's scheduler).
 *
 * Each row describes one stage once: its name, its thread loop, its state,
 * how many threads run it, and the queue it reads and the one it writes.
 * Checking, starting and joining loop over the table, so adding a stage is
 * its own file plus one row (tests/unit/test_stages.c is the template):
 *
 *   {.name = "vs-track", .loop = vs_track_thread, .states = &g->track, .copies = 1,
 *    .in = &queues[DETECTED], .out = &queues[TRACKED]},
 *
 * The wiring is checked before any thread starts: every queue a row reads
 * is written by exactly one row and every queue a row writes is read by
 * exactly one, so no stage waits forever on an input nobody feeds. When the
 * last thread of a row returns, its output queue is closed for it: end of
 * stream travels downstream even from a stage that stopped on an error. */
#ifndef VS_GRAPH_H
#define VS_GRAPH_H

#include <pthread.h>
#include <stddef.h>

#include "queue.h"
#include "vs_error.h"

#define VS_STAGE_COPIES_MAX 64

typedef struct vs_stage_row vs_stage_row;

/* One thread of a row: what the wrapper needs to run it. */
typedef struct vs_stage_thread {
    vs_stage_row *row;
    void *state;
    pthread_t thread;
} vs_stage_thread;

struct vs_stage_row {
    const char *name;           /* thread name (top -H), at most 15 bytes: "vs-batch" */
    void *(*loop)(void *state); /* the stage: receive -> work -> send until its input ends */
    void *states;               /* copies states, state_size bytes apart */
    size_t state_size;          /* 0 when copies is 1 */
    int copies;                 /* threads running loop, 1..VS_STAGE_COPIES_MAX (decode: --jobs) */
    vs_queue *in;               /* NULL: a source */
    vs_queue *out;              /* NULL: a sink */
    /* Set by vs_graph_start. */
    vs_stage_thread threads[VS_STAGE_COPIES_MAX];
    int started; /* threads created */
    int running; /* threads not yet returned; the last one closes out */
};

/* VS_OK, or VS_EINVAL naming the first row that is malformed or not
 * connected (an input nobody writes, an output nobody reads, a queue two
 * rows write or two rows read). */
int vs_graph_check(const vs_stage_row *rows, int count, vs_error *err);

/* Checks the table, then starts every row's threads. If a thread cannot be
 * created, aborts every queue of the table, joins the threads already
 * running and returns the failure naming the stage: nothing is left running. */
int vs_graph_start(vs_stage_row *rows, int count, vs_error *err);

/* Waits for every thread of every row, in table order (data drains downstream). */
void vs_graph_join(vs_stage_row *rows, int count);

#endif
