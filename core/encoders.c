/* encoders.c: the encoder workers of the annotated-video output (see
 * encoders.h). Each worker pops jobs - a video and one of its frames - from
 * its own bounded queue, draws and encodes the frame with the video's
 * annotator, releases the frame slot and counts the frame done; the sink
 * thread waits on that count at the video's end.
 *
 * Jobs live in a ring per worker, written by the sink thread only: a job is
 * reused only after the worker has taken it (the ring holds a full queue,
 * the job being encoded and the one being written), so no job is allocated
 * per frame. */
#include "encoders.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "stages.h"

enum { RING_SIZE = VS_ENCODE_QUEUE + 2 };

typedef struct encoder_worker encoder_worker;

struct vs_encoder_video {
    vs_annotate *annotate;  /* the worker's while the video is open */
    encoder_worker *worker; /* fixed from open to finish */
    int64_t frames_queued;  /* written by the sink thread */
    int64_t frames_done;    /* written by the worker under its lock */
    int failed;             /* atomic: the worker's first failure is in error */
    vs_error error;
};

typedef struct encode_job {
    vs_encoder_video *video;
    vs_frame *frame;
} encode_job;

struct encoder_worker {
    vs_encoders *encoders;
    vs_queue jobs; /* encode_job pointers into ring, in the video's order */
    encode_job ring[RING_SIZE];
    int64_t jobs_written; /* the sink thread's: the next job is ring[jobs_written % RING_SIZE] */
    int videos_open;      /* the sink thread's: to give a new video to the least busy */
    pthread_mutex_t lock;
    pthread_cond_t progress; /* a video's frames_done grew */
    int64_t frames_encoded;  /* atomic, for tests and the record */
    pthread_t thread;
};

struct vs_encoders {
    vs_pool *frames;
    const char *const *labels;
    int worker_count, started;
    encoder_worker workers[];
};

static void encode_one(encoder_worker *worker, vs_encoder_video *video, vs_frame *frame)
{
    /* After a failure the annotator has nothing more to write: the sink
     * hears of it at the next frame and drops the copy. */
    vs_error error = {{0}};
    if (!__atomic_load_n(&video->failed, __ATOMIC_ACQUIRE) &&
        vs_annotate_frame(video->annotate, frame, worker->encoders->labels, &error) != VS_OK) {
        video->error = error;
        __atomic_store_n(&video->failed, 1, __ATOMIC_RELEASE);
    }
    vs_frame_release(worker->encoders->frames, frame);
    __atomic_add_fetch(&worker->frames_encoded, 1, __ATOMIC_RELAXED);
}

static void *encoder_thread(void *arg)
{
    encoder_worker *worker = arg;
    void *item;
    while (vs_queue_pop(&worker->jobs, &item) == VS_OK) {
        encode_job job = *(encode_job *)item; /* the ring slot is the sink's again once taken */
        encode_one(worker, job.video, job.frame);
        pthread_mutex_lock(&worker->lock);
        job.video->frames_done++;
        pthread_cond_broadcast(&worker->progress);
        pthread_mutex_unlock(&worker->lock);
    }
    return NULL;
}

int vs_encoders_start(vs_encoders **out, int workers, vs_pool *frames, const char *const *labels,
                      vs_error *err)
{
    assert(workers >= 1 && workers <= VS_ENCODE_WORKERS_MAX);
    *out = NULL;
    vs_encoders *e = calloc(1, sizeof *e + (size_t)workers * sizeof e->workers[0]);
    if (!e)
        return vs_fail(err, VS_ENOMEM, "out of memory for the encoder workers");
    *e = (vs_encoders){.frames = frames, .labels = labels, .worker_count = workers};
    for (int w = 0; w < workers; w++) {
        encoder_worker *worker = &e->workers[w];
        worker->encoders = e;
        int status = vs_queue_init(&worker->jobs, VS_ENCODE_QUEUE, err);
        if (status != VS_OK) {
            vs_encoders_stop(e);
            return status;
        }
        pthread_mutex_init(&worker->lock, NULL);
        pthread_cond_init(&worker->progress, NULL);
        if (pthread_create(&worker->thread, NULL, encoder_thread, worker) != 0) {
            vs_queue_destroy(&worker->jobs);
            pthread_mutex_destroy(&worker->lock);
            pthread_cond_destroy(&worker->progress);
            vs_encoders_stop(e);
            return vs_fail(err, VS_ENOMEM, "cannot start the encoder workers");
        }
        pthread_setname_np(worker->thread, "vs-encode");
        e->started++;
    }
    *out = e;
    return VS_OK;
}

int vs_encoders_open(vs_encoders *e, vs_annotate *annotate, vs_encoder_video **out, vs_error *err)
{
    *out = NULL;
    encoder_worker *least_busy = &e->workers[0];
    for (int w = 1; w < e->worker_count; w++)
        if (e->workers[w].videos_open < least_busy->videos_open)
            least_busy = &e->workers[w];
    vs_encoder_video *video = calloc(1, sizeof *video);
    if (!video)
        return vs_fail(err, VS_ENOMEM, "out of memory for an encoder");
    *video = (vs_encoder_video){.annotate = annotate, .worker = least_busy};
    least_busy->videos_open++;
    *out = video;
    return VS_OK;
}

int vs_encoders_add(vs_encoders *e, vs_encoder_video *video, vs_frame *frame, vs_error *err)
{
    (void)e;
    if (__atomic_load_n(&video->failed, __ATOMIC_ACQUIRE)) {
        *err = video->error;
        return VS_EIO;
    }
    encoder_worker *worker = video->worker;
    encode_job *job = &worker->ring[worker->jobs_written++ % RING_SIZE];
    *job = (encode_job){.video = video, .frame = frame};
    vs_frame_hold(frame); /* released by the worker once encoded */
    video->frames_queued++;
    if (vs_queue_push(&worker->jobs, job) != VS_OK) {
        /* Not reached: only vs_encoders_stop ends a queue, after every finish. */
        vs_frame_release(e->frames, frame);
        video->frames_queued--;
        return vs_fail(err, VS_EIO, "the encoder workers have stopped");
    }
    return VS_OK;
}

int vs_encoders_finish(vs_encoders *e, vs_encoder_video *video, vs_annotate **annotate,
                       vs_error *err)
{
    (void)e;
    encoder_worker *worker = video->worker;
    pthread_mutex_lock(&worker->lock);
    while (video->frames_done < video->frames_queued)
        pthread_cond_wait(&worker->progress, &worker->lock);
    pthread_mutex_unlock(&worker->lock);
    worker->videos_open--;
    *annotate = video->annotate;
    int status = VS_OK;
    if (video->failed) {
        *err = video->error;
        status = VS_EIO;
    }
    free(video);
    return status;
}

void vs_encoders_stop(vs_encoders *e)
{
    if (!e)
        return;
    for (int w = 0; w < e->started; w++) {
        encoder_worker *worker = &e->workers[w];
        assert(worker->videos_open == 0); /* every video finished: nothing left queued */
        vs_queue_close(&worker->jobs);
        pthread_join(worker->thread, NULL);
        vs_queue_destroy(&worker->jobs);
        pthread_mutex_destroy(&worker->lock);
        pthread_cond_destroy(&worker->progress);
    }
    free(e);
}

int vs_encoders_count(const vs_encoders *e)
{
    return e->worker_count;
}

int64_t vs_encoders_frames(const vs_encoders *e, int worker)
{
    assert(worker >= 0 && worker < e->worker_count);
    return __atomic_load_n(&e->workers[worker].frames_encoded, __ATOMIC_RELAXED);
}
