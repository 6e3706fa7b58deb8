/* queue.h: a bounded, blocking FIFO of pointers between two stages.
 *
 * The capacity is fixed at init; a push onto a full queue blocks (that is
 * the pipeline's backpressure) and a pop from an empty one blocks. Closing
 * a queue lets consumers drain what is left and then see VS_EOF; aborting
 * wakes everybody at once so an error or a signal tears the graph down. */
#ifndef VS_QUEUE_H
#define VS_QUEUE_H

#include <pthread.h>
#include <stdint.h>

#include "vs_error.h"

typedef struct vs_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    void **items;
    int capacity, head, count;
    int closed, aborted;
    /* occupancy, sampled at each push, for the report */
    int64_t pushes, occupancy_sum;
    int occupancy_max;
    int64_t full_waits; /* pushes that had to wait: the consumer was the slower side */
} vs_queue;

int vs_queue_init(vs_queue *queue, int capacity, vs_error *err);
void vs_queue_destroy(vs_queue *queue);
/* VS_OK, or VS_EINTR if the queue was aborted (the item was not taken). */
int vs_queue_push(vs_queue *queue, void *item);
/* VS_OK with *item set, VS_EOF once closed and drained, VS_EINTR if aborted. */
int vs_queue_pop(vs_queue *queue, void **item);
/* Non-blocking pop: VS_OK, VS_EOF (closed and empty) or 1+VS_EOF (empty, open). */
int vs_queue_try_pop(vs_queue *queue, void **item);
void vs_queue_close(vs_queue *queue);
void vs_queue_abort(vs_queue *queue);
int vs_queue_count(vs_queue *queue);

#endif
