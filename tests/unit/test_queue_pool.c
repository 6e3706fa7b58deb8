/* Queues and pools: order, blocking (backpressure), close, abort. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"
#include "queue.h"

static void queue_keeps_order_and_closes(void **state)
{
    (void)state;
    vs_queue q;
    vs_error err;
    assert_int_equal(vs_queue_init(&q, 4, &err), VS_OK);
    int values[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++)
        assert_int_equal(vs_queue_push(&q, &values[i]), VS_OK);
    assert_int_equal(q.occupancy_max, 4);
    vs_queue_close(&q);
    void *item;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vs_queue_pop(&q, &item), VS_OK);
        assert_ptr_equal(item, &values[i]);
    }
    assert_int_equal(vs_queue_pop(&q, &item), VS_EOF);
    vs_queue_destroy(&q);
}

static void queue_rejects_zero_capacity(void **state)
{
    (void)state;
    vs_queue q;
    vs_error err;
    assert_int_equal(vs_queue_init(&q, 0, &err), VS_EINVAL);
}

typedef struct producer_args {
    vs_queue *queue;
    int count;
    int pushed;
} producer_args;

static void *producer(void *arg)
{
    producer_args *p = arg;
    for (intptr_t i = 1; i <= p->count; i++) {
        if (vs_queue_push(p->queue, (void *)i) != VS_OK)
            break;
        __atomic_add_fetch(&p->pushed, 1, __ATOMIC_SEQ_CST);
    }
    vs_queue_close(p->queue);
    return NULL;
}

static void full_queue_blocks_producer_and_loses_nothing(void **state)
{
    (void)state;
    vs_queue q;
    vs_error err;
    assert_int_equal(vs_queue_init(&q, 2, &err), VS_OK);
    producer_args p = {.queue = &q, .count = 1000};
    pthread_t thread;
    pthread_create(&thread, NULL, producer, &p);
    usleep(50000);
    /* Nobody consumed yet: the producer is held at the capacity. */
    assert_int_equal(__atomic_load_n(&p.pushed, __ATOMIC_SEQ_CST), 2);
    void *item;
    intptr_t expected = 1;
    while (vs_queue_pop(&q, &item) == VS_OK)
        assert_int_equal((intptr_t)item, expected++);
    assert_int_equal(expected, 1001);
    pthread_join(thread, NULL);
    assert_true(q.full_waits > 0);
    vs_queue_destroy(&q);
}

static void abort_wakes_blocked_producer(void **state)
{
    (void)state;
    vs_queue q;
    vs_error err;
    assert_int_equal(vs_queue_init(&q, 1, &err), VS_OK);
    producer_args p = {.queue = &q, .count = 10};
    pthread_t thread;
    pthread_create(&thread, NULL, producer, &p);
    /* Abort only once the first item is in: on a loaded machine a fixed sleep
     * may end before the producer has run at all. */
    while (__atomic_load_n(&p.pushed, __ATOMIC_SEQ_CST) < 1)
        usleep(1000);
    usleep(20000);
    vs_queue_abort(&q);
    pthread_join(thread, NULL);
    assert_int_equal(p.pushed, 1);
    void *item;
    assert_int_equal(vs_queue_pop(&q, &item), VS_EINTR);
    vs_queue_destroy(&q);
}

typedef struct getter_args {
    vs_pool *pool;
    void *slot;
} getter_args;

static void *getter(void *arg)
{
    getter_args *g = arg;
    g->slot = vs_pool_get(g->pool);
    return NULL;
}

static void empty_pool_waits_for_a_slot(void **state)
{
    (void)state;
    vs_pool pool;
    vs_error err;
    assert_int_equal(vs_pool_init(&pool, 64, 3, &err), VS_OK);
    void *slots[3];
    for (int i = 0; i < 3; i++) {
        slots[i] = vs_pool_get(&pool);
        assert_non_null(slots[i]);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(slots[i], slots[j]);
    }
    getter_args g = {.pool = &pool};
    pthread_t thread;
    pthread_create(&thread, NULL, getter, &g);
    usleep(30000);
    assert_null(__atomic_load_n(&g.slot, __ATOMIC_SEQ_CST)); /* blocked, not allocated */
    vs_pool_put(&pool, slots[1]);
    pthread_join(thread, NULL);
    assert_ptr_equal(g.slot, slots[1]);
    assert_int_equal(pool.in_use_max, 3);
    assert_int_equal(pool.gets, 4);
    assert_true(pool.empty_waits >= 1);
    vs_pool_destroy(&pool);
}

static void aborted_pool_returns_null(void **state)
{
    (void)state;
    vs_pool pool;
    vs_error err;
    assert_int_equal(vs_pool_init(&pool, 8, 1, &err), VS_OK);
    assert_non_null(vs_pool_get(&pool));
    getter_args g = {.pool = &pool, .slot = &g};
    pthread_t thread;
    pthread_create(&thread, NULL, getter, &g);
    usleep(20000);
    vs_pool_abort(&pool);
    pthread_join(thread, NULL);
    assert_null(g.slot);
    vs_pool_destroy(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_keeps_order_and_closes),
        cmocka_unit_test(queue_rejects_zero_capacity),
        cmocka_unit_test(full_queue_blocks_producer_and_loses_nothing),
        cmocka_unit_test(abort_wakes_blocked_producer),
        cmocka_unit_test(empty_pool_waits_for_a_slot),
        cmocka_unit_test(aborted_pool_returns_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
