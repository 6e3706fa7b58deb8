/* pool.c: fixed slots handed out through a queue of free slots; see pool.h.
 * Owns the slots' memory. Never grows. */
#include "pool.h"

#include <stdlib.h>

int vs_pool_init(vs_pool *pool, size_t item_size, int count, vs_error *err)
{
    *pool = (vs_pool){0};
    if (count < 1 || item_size == 0)
        return vs_fail(err, VS_EINVAL, "pool of %d slots of %zu bytes", count, item_size);
    pool->memory = calloc((size_t)count, item_size);
    if (!pool->memory)
        return vs_fail(err, VS_ENOMEM, "out of memory for %d slots of %zu bytes", count, item_size);
    pool->item_size = item_size;
    pool->count = count;
    int status = vs_queue_init(&pool->free_slots, count, err);
    if (status != VS_OK) {
        free(pool->memory);
        return status;
    }
    for (int i = 0; i < count; i++)
        vs_queue_push(&pool->free_slots, vs_pool_slot(pool, i));
    return VS_OK;
}

void vs_pool_destroy(vs_pool *pool)
{
    vs_queue_destroy(&pool->free_slots);
    free(pool->memory);
    pool->memory = NULL;
}

void *vs_pool_slot(vs_pool *pool, int index)
{
    return pool->memory + (size_t)index * pool->item_size;
}

void *vs_pool_get(vs_pool *pool)
{
    void *slot = NULL;
    if (vs_queue_try_pop(&pool->free_slots, &slot) != VS_OK) {
        __atomic_add_fetch(&pool->empty_waits, 1, __ATOMIC_RELAXED);
        if (vs_queue_pop(&pool->free_slots, &slot) != VS_OK)
            return NULL;
    }
    __atomic_add_fetch(&pool->gets, 1, __ATOMIC_RELAXED);
    int in_use = pool->count - vs_queue_count(&pool->free_slots);
    int seen = __atomic_load_n(&pool->in_use_max, __ATOMIC_RELAXED);
    while (in_use > seen && !__atomic_compare_exchange_n(&pool->in_use_max, &seen, in_use, 0,
                                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return slot;
}

void vs_pool_put(vs_pool *pool, void *slot)
{
    vs_queue_push(&pool->free_slots, slot);
}

void vs_pool_abort(vs_pool *pool)
{
    vs_queue_abort(&pool->free_slots);
}
