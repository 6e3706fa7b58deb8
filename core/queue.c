/* queue.c: bounded blocking FIFO; see queue.h. Owns only its ring of
 * pointers (allocated once at init); never owns what the pointers point to. */
#include "queue.h"

#include <stdlib.h>

int vs_queue_init(vs_queue *queue, int capacity, vs_error *err)
{
    *queue = (vs_queue){0};
    if (capacity < 1)
        return vs_fail(err, VS_EINVAL, "queue capacity %d must be at least 1", capacity);
    queue->items = calloc((size_t)capacity, sizeof *queue->items);
    if (!queue->items)
        return vs_fail(err, VS_ENOMEM, "out of memory for a queue of %d", capacity);
    queue->capacity = capacity;
    pthread_mutex_init(&queue->lock, NULL);
    pthread_cond_init(&queue->not_empty, NULL);
    pthread_cond_init(&queue->not_full, NULL);
    return VS_OK;
}

void vs_queue_destroy(vs_queue *queue)
{
    if (!queue->items)
        return;
    pthread_mutex_destroy(&queue->lock);
    pthread_cond_destroy(&queue->not_empty);
    pthread_cond_destroy(&queue->not_full);
    free(queue->items);
    queue->items = NULL;
}

int vs_queue_push(vs_queue *queue, void *item)
{
    pthread_mutex_lock(&queue->lock);
    if (queue->count == queue->capacity && !queue->aborted)
        queue->full_waits++;
    while (queue->count == queue->capacity && !queue->aborted)
        pthread_cond_wait(&queue->not_full, &queue->lock);
    if (queue->aborted) {
        pthread_mutex_unlock(&queue->lock);
        return VS_EINTR;
    }
    queue->items[(queue->head + queue->count) % queue->capacity] = item;
    queue->count++;
    queue->pushes++;
    queue->occupancy_sum += queue->count;
    if (queue->count > queue->occupancy_max)
        queue->occupancy_max = queue->count;
    pthread_cond_signal(&queue->not_empty);
    pthread_mutex_unlock(&queue->lock);
    return VS_OK;
}

static void *take_locked(vs_queue *queue)
{
    void *item = queue->items[queue->head];
    queue->head = (queue->head + 1) % queue->capacity;
    queue->count--;
    pthread_cond_signal(&queue->not_full);
    return item;
}

int vs_queue_pop(vs_queue *queue, void **item)
{
    pthread_mutex_lock(&queue->lock);
    while (queue->count == 0 && !queue->closed && !queue->aborted)
        pthread_cond_wait(&queue->not_empty, &queue->lock);
    int status = VS_OK;
    if (queue->aborted)
        status = VS_EINTR;
    else if (queue->count == 0)
        status = VS_EOF;
    else
        *item = take_locked(queue);
    pthread_mutex_unlock(&queue->lock);
    return status;
}

int vs_queue_try_pop(vs_queue *queue, void **item)
{
    pthread_mutex_lock(&queue->lock);
    int status = VS_OK;
    if (queue->aborted)
        status = VS_EINTR;
    else if (queue->count > 0)
        *item = take_locked(queue);
    else
        status = queue->closed ? VS_EOF : VS_EOF + 1;
    pthread_mutex_unlock(&queue->lock);
    return status;
}

void vs_queue_close(vs_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    queue->closed = 1;
    pthread_cond_broadcast(&queue->not_empty);
    pthread_mutex_unlock(&queue->lock);
}

void vs_queue_abort(vs_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    queue->aborted = 1;
    pthread_cond_broadcast(&queue->not_empty);
    pthread_cond_broadcast(&queue->not_full);
    pthread_mutex_unlock(&queue->lock);
}

int vs_queue_count(vs_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    int count = queue->count;
    pthread_mutex_unlock(&queue->lock);
    return count;
}
