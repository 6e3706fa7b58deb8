/* graph.c: checking, starting and joining the stage table (see graph.h). */
#include <assert.h>
#include <string.h>

#include "graph.h"

/* Rows of the table that read (reading) or write queue. */
static int rows_using(const vs_stage_row *rows, int count, const vs_queue *queue, int reading)
{
    int users = 0;
    for (int r = 0; r < count; r++)
        users += (reading ? rows[r].in : rows[r].out) == queue;
    return users;
}

int vs_graph_check(const vs_stage_row *rows, int count, vs_error *err)
{
    if (count < 1)
        return vs_fail(err, VS_EINVAL, "the pipeline has no stage");
    for (int r = 0; r < count; r++) {
        const vs_stage_row *row = &rows[r];
        const char *name = row->name ? row->name : "(unnamed)";
        if (!row->name || !row->loop || !row->states)
            return vs_fail(err, VS_EINVAL, "stage %s: no name, loop or state", name);
        if (strlen(row->name) > 15)
            return vs_fail(err, VS_EINVAL, "stage %s: a thread name has at most 15 bytes", name);
        if (row->copies < 1 || row->copies > VS_STAGE_COPIES_MAX ||
            (row->copies > 1 && row->state_size == 0))
            return vs_fail(err, VS_EINVAL, "stage %s: %d threads (1-%d, each its own state)", name,
                           row->copies, VS_STAGE_COPIES_MAX);
        if (!row->in && !row->out)
            return vs_fail(err, VS_EINVAL, "stage %s is connected to nothing", name);
        if (row->in && row->in == row->out)
            return vs_fail(err, VS_EINVAL, "stage %s reads the queue it writes", name);
        if (row->in && rows_using(rows, count, row->in, 0) != 1)
            return vs_fail(err, VS_EINVAL, "stage %s reads a queue that %s", name,
                           rows_using(rows, count, row->in, 0) ? "several stages write"
                                                               : "no stage writes");
        if (row->in && rows_using(rows, count, row->in, 1) != 1)
            return vs_fail(err, VS_EINVAL, "stage %s reads a queue another stage also reads", name);
        if (row->out && rows_using(rows, count, row->out, 1) != 1)
            return vs_fail(err, VS_EINVAL, "stage %s writes a queue that %s", name,
                           rows_using(rows, count, row->out, 1) ? "several stages read"
                                                                : "no stage reads");
    }
    return VS_OK;
}

/* Every thread starts here: the stage's loop, then, from the row's last
 * thread to return, the end of its output. */
static void *run_stage(void *argument)
{
    vs_stage_thread *thread = argument;
    vs_stage_row *row = thread->row;
    void *result = row->loop(thread->state);
    if (__atomic_sub_fetch(&row->running, 1, __ATOMIC_ACQ_REL) == 0 && row->out)
        vs_queue_close(row->out);
    return result;
}

static void abort_queues(vs_stage_row *rows, int count)
{
    for (int r = 0; r < count; r++) {
        if (rows[r].in)
            vs_queue_abort(rows[r].in);
        if (rows[r].out)
            vs_queue_abort(rows[r].out);
    }
}

int vs_graph_start(vs_stage_row *rows, int count, vs_error *err)
{
    int status = vs_graph_check(rows, count, err);
    if (status != VS_OK)
        return status;
    for (int r = 0; r < count; r++) {
        rows[r].started = 0;
        rows[r].running = rows[r].copies; /* before any thread can return */
    }
    for (int r = 0; r < count; r++) {
        vs_stage_row *row = &rows[r];
        for (int c = 0; c < row->copies; c++) {
            vs_stage_thread *thread = &row->threads[c];
            thread->row = row;
            thread->state = (char *)row->states + (size_t)c * row->state_size;
            int failure = pthread_create(&thread->thread, NULL, run_stage, thread);
            if (failure) {
                /* Threads already running see EINTR on their queues and return. */
                abort_queues(rows, count);
                vs_graph_join(rows, count);
                return vs_fail(err, VS_ENOMEM, "cannot start the %s thread: %s", row->name,
                               strerror(failure));
            }
            row->started++;
            pthread_setname_np(thread->thread, row->name);
        }
    }
    return VS_OK;
}

void vs_graph_join(vs_stage_row *rows, int count)
{
    for (int r = 0; r < count; r++) {
        for (int c = 0; c < rows[r].started; c++)
            pthread_join(rows[r].threads[c].thread, NULL);
        rows[r].started = 0;
    }
}
