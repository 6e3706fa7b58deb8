/* pool.h: a fixed set of equal-sized slots, allocated once.
 *
 * vs_pool_get blocks while every slot is out (backpressure: a stage that
 * runs ahead waits for the slowest one to hand slots back); it never
 * allocates and never drops. Sizing rule (as in FFmpeg's scheduler): a pool
 * must hold as many slots as all the queues and stages that can keep one
 * at the same time, or the pipeline would deadlock. */
#ifndef VS_POOL_H
#define VS_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"

typedef struct vs_pool {
    unsigned char *memory; /* count * item_size bytes, zeroed at init */
    size_t item_size;
    int count;
    vs_queue free_slots;
    int64_t gets, empty_waits; /* gets that found no free slot and had to wait */
    int in_use_max;
} vs_pool;

int vs_pool_init(vs_pool *pool, size_t item_size, int count, vs_error *err);
void vs_pool_destroy(vs_pool *pool);
/* A free slot, or NULL if the pool was aborted. */
void *vs_pool_get(vs_pool *pool);
void vs_pool_put(vs_pool *pool, void *slot);
void *vs_pool_slot(vs_pool *pool, int index); /* for one-time setup of each slot */
void vs_pool_abort(vs_pool *pool);

#endif
