/* test_stages.c: the template for a new stage. A stage is a loop that
 * receives from one queue, works, and sends to the next until its input
 * ends; it is added to the pipeline as one row of the stage table
 * (core/graph.h), which checks the wiring before any thread starts, starts
 * and joins the threads, and closes a stage's output when its loop returns.
 *
 * Here a source, a pass-through stage (the shape of every stage in core/)
 * and a sink run through that table; then the checks that refuse a badly
 * wired table, and an abort that ends every stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "graph.h"

#define ITEMS 1000

typedef struct source_stage {
    vs_queue *out;
    int values[ITEMS];
} source_stage;

/* A pass-through stage: receive -> work -> send. It does not close its
 * output: the table does, when this returns. */
typedef struct pass_stage {
    vs_queue *in, *out;
    int64_t frames; /* what the stage counts, for its statistics */
} pass_stage;

typedef struct sink_stage {
    vs_queue *in;
    int seen[ITEMS];
    int count;
} sink_stage;

static void *source_thread(void *state)
{
    source_stage *s = state;
    for (int i = 0; i < ITEMS; i++)
        if (vs_queue_push(s->out, &s->values[i]) != VS_OK)
            break; /* aborted */
    return NULL;
}

static void *pass_thread(void *state)
{
    pass_stage *s = state;
    void *item;
    while (vs_queue_pop(s->in, &item) == VS_OK) {
        *(int *)item *= 2; /* the work */
        s->frames++;
        if (vs_queue_push(s->out, item) != VS_OK)
            break;
    }
    return NULL;
}

static void *sink_thread(void *state)
{
    sink_stage *s = state;
    void *item;
    while (vs_queue_pop(s->in, &item) == VS_OK)
        s->seen[s->count++] = *(int *)item;
    return NULL;
}

/* A sink that only counts (more items than sink_stage.seen holds). */
static void *count_thread(void *state)
{
    sink_stage *s = state;
    void *item;
    while (vs_queue_pop(s->in, &item) == VS_OK)
        s->count++;
    return NULL;
}

static void items_flow_through_a_stage_added_by_one_row(void **state)
{
    (void)state;
    vs_error err = {{0}};
    /* Small queues: the stages block on each other (backpressure) all the time. */
    vs_queue made, passed;
    assert_int_equal(vs_queue_init(&made, 2, &err), VS_OK);
    assert_int_equal(vs_queue_init(&passed, 3, &err), VS_OK);
    static source_stage source;
    static sink_stage sink;
    static pass_stage pass;
    for (int i = 0; i < ITEMS; i++)
        source.values[i] = i;
    source.out = &made;
    pass = (pass_stage){.in = &made, .out = &passed};
    sink = (sink_stage){.in = &passed};
    vs_stage_row rows[] = {
        {.name = "t-source", .loop = source_thread, .states = &source, .copies = 1, .out = &made},
        /* The stage under test: one row. */
        {.name = "t-pass",
         .loop = pass_thread,
         .states = &pass,
         .copies = 1,
         .in = &made,
         .out = &passed},
        {.name = "t-sink", .loop = sink_thread, .states = &sink, .copies = 1, .in = &passed},
    };
    assert_int_equal(vs_graph_start(rows, 3, &err), VS_OK);
    vs_graph_join(rows, 3);
    /* Every item, in order, worked on once; the end of input reached the sink
     * although no stage closed its own output. */
    assert_int_equal(sink.count, ITEMS);
    assert_int_equal(pass.frames, ITEMS);
    for (int i = 0; i < ITEMS; i++)
        assert_int_equal(sink.seen[i], 2 * i);
    vs_queue_destroy(&made);
    vs_queue_destroy(&passed);
}

static void several_threads_of_one_row_close_its_output_once_all_return(void **state)
{
    (void)state;
    vs_error err = {{0}};
    vs_queue made, passed;
    assert_int_equal(vs_queue_init(&made, 4, &err), VS_OK);
    assert_int_equal(vs_queue_init(&passed, 4, &err), VS_OK);
    static source_stage sources[3];
    static sink_stage sink;
    for (int k = 0; k < 3; k++) {
        sources[k].out = &made;
        for (int i = 0; i < ITEMS; i++)
            sources[k].values[i] = 1;
    }
    pass_stage pass = {.in = &made, .out = &passed};
    sink = (sink_stage){.in = &passed};
    /* Three sources (as --jobs decoders) write one queue: the row, not each thread, ends it. */
    vs_stage_row rows[] = {
        {.name = "t-source",
         .loop = source_thread,
         .states = sources,
         .state_size = sizeof sources[0],
         .copies = 3,
         .out = &made},
        {.name = "t-pass",
         .loop = pass_thread,
         .states = &pass,
         .copies = 1,
         .in = &made,
         .out = &passed},
        {.name = "t-count", .loop = count_thread, .states = &sink, .copies = 1, .in = &passed},
    };
    assert_int_equal(vs_graph_start(rows, 3, &err), VS_OK);
    vs_graph_join(rows, 3);
    assert_int_equal(pass.frames, 3 * ITEMS);
    assert_int_equal(sink.count, 3 * ITEMS);
    vs_queue_destroy(&made);
    vs_queue_destroy(&passed);
}

static void a_badly_wired_table_starts_nothing(void **state)
{
    (void)state;
    vs_error err = {{0}};
    vs_queue a, b, c;
    assert_int_equal(vs_queue_init(&a, 2, &err), VS_OK);
    assert_int_equal(vs_queue_init(&b, 2, &err), VS_OK);
    assert_int_equal(vs_queue_init(&c, 2, &err), VS_OK);
    source_stage source = {.out = &a};
    pass_stage pass = {.in = &a, .out = &b};
    sink_stage sink = {.in = &b};
    vs_stage_row good[] = {
        {.name = "t-source", .loop = source_thread, .states = &source, .copies = 1, .out = &a},
        {.name = "t-pass", .loop = pass_thread, .states = &pass, .copies = 1, .in = &a, .out = &b},
        {.name = "t-sink", .loop = sink_thread, .states = &sink, .copies = 1, .in = &b},
    };
    assert_int_equal(vs_graph_check(good, 3, &err), VS_OK);

    /* An output nobody reads (the sink row left out). */
    assert_int_equal(vs_graph_check(good, 2, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "t-pass writes a queue that no stage reads"));
    /* An input nobody writes. */
    vs_stage_row orphan[3];
    memcpy(orphan, good, sizeof good);
    orphan[2].in = &c;
    assert_int_equal(vs_graph_check(orphan, 3, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "no stage"));
    /* Two readers of one queue. */
    vs_stage_row twice[4];
    memcpy(twice, good, sizeof good);
    twice[3] = good[2];
    twice[3].name = "t-sink2";
    assert_int_equal(vs_graph_check(twice, 4, &err), VS_EINVAL);
    /* Too many threads for one state, and a name top -H would cut. */
    vs_stage_row wide[3];
    memcpy(wide, good, sizeof good);
    wide[0].copies = 2; /* state_size 0: both threads would share one state */
    assert_int_equal(vs_graph_check(wide, 3, &err), VS_EINVAL);
    memcpy(wide, good, sizeof good);
    wide[1].name = "a-name-longer-than-15";
    assert_int_equal(vs_graph_check(wide, 3, &err), VS_EINVAL);
    /* vs_graph_start refuses too, before any thread: the rows stay unstarted. */
    assert_int_equal(vs_graph_start(orphan, 3, &err), VS_EINVAL);
    for (int r = 0; r < 3; r++)
        assert_int_equal(orphan[r].started, 0);
    vs_queue_destroy(&a);
    vs_queue_destroy(&b);
    vs_queue_destroy(&c);
}

static void *blocked_sink_thread(void *state)
{
    (void)state;
    return NULL; /* reads nothing: everything upstream blocks until the abort */
}

static void an_abort_ends_every_stage(void **state)
{
    (void)state;
    vs_error err = {{0}};
    vs_queue made, passed;
    assert_int_equal(vs_queue_init(&made, 1, &err), VS_OK);
    assert_int_equal(vs_queue_init(&passed, 1, &err), VS_OK);
    static source_stage source;
    source.out = &made;
    pass_stage pass = {.in = &made, .out = &passed};
    int unused;
    vs_stage_row rows[] = {
        {.name = "t-source", .loop = source_thread, .states = &source, .copies = 1, .out = &made},
        {.name = "t-pass",
         .loop = pass_thread,
         .states = &pass,
         .copies = 1,
         .in = &made,
         .out = &passed},
        {.name = "t-stuck",
         .loop = blocked_sink_thread,
         .states = &unused,
         .copies = 1,
         .in = &passed},
    };
    assert_int_equal(vs_graph_start(rows, 3, &err), VS_OK);
    /* The source and the pass-through block on full queues; an abort (an error,
     * a signal) wakes them and the join returns. */
    vs_queue_abort(&made);
    vs_queue_abort(&passed);
    vs_graph_join(rows, 3);
    assert_true(pass.frames <= 2);
    vs_queue_destroy(&made);
    vs_queue_destroy(&passed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(items_flow_through_a_stage_added_by_one_row),
        cmocka_unit_test(several_threads_of_one_row_close_its_output_once_all_return),
        cmocka_unit_test(a_badly_wired_table_starts_nothing),
        cmocka_unit_test(an_abort_ends_every_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
