/* budget.h: the run's memory budget for pictures, a counting semaphore of
 * bytes.
 *
 * The frame pool bounds how many pictures are in flight; the budget bounds
 * how many bytes they take, whatever their size: an 8192x8192 picture is
 * 96 MiB, and a pool sized for 1080p would hold gigabytes of them. A decoder
 * takes bytes before it sends a picture (and, per video, an estimate of
 * what its decoder, preprocessing and annotator hold at that size); the
 * bytes come back when the sink releases the frame slot that carries them.
 * Taking blocks while the budget is spent (backpressure, like the pool); it
 * never fails and never over-commits, so a single take must fit the limit:
 * callers refuse larger requests themselves (vs_budget_fits). */
#ifndef VS_BUDGET_H
#define VS_BUDGET_H

#include <pthread.h>
#include <stdint.h>

#include "vs_error.h"

typedef struct vs_budget {
    pthread_mutex_t lock;
    pthread_cond_t returned; /* signalled when bytes come back */
    int64_t limit;           /* bytes; > 0 */
    int64_t used, used_max;
    int64_t waits; /* takes that found too little left and had to wait */
    int waiting;   /* takers waiting now (read without the lock by vs_budget_waiting) */
} vs_budget;

int vs_budget_init(vs_budget *budget, int64_t limit, vs_error *err);
void vs_budget_destroy(vs_budget *budget);
/* 1 when bytes could ever be taken (bytes <= limit). */
int vs_budget_fits(const vs_budget *budget, int64_t bytes);
/* Takes bytes, waiting until that many are left; bytes must fit the limit.
 * Before it waits, it counts itself in vs_budget_waiting and calls
 * before_wait(context) (without the lock): the decoder asks the batch stage
 * there to send the frames it holds, which hold the bytes it waits for. */
void vs_budget_take(vs_budget *budget, int64_t bytes, void (*before_wait)(void *context),
                    void *context);
/* Takers waiting now: nonzero means frames held back anywhere keep one
 * waiting, so the batch stage sends what it has instead of filling up. */
int vs_budget_waiting(const vs_budget *budget);
void vs_budget_give(vs_budget *budget, int64_t bytes);

/* The default limit: 2 GiB, or a quarter of the machine's memory if that is
 * less (see README, "Memory"). */
int64_t vs_budget_default(void);
/* Parses "512M", "2G", "1.5G", "300000000" (K, M, G, T are powers of 1024);
 * 0 when text is not a size. */
int64_t vs_budget_parse(const char *text);

#endif
