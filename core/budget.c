/* budget.c: a counting semaphore of bytes; see budget.h. */
#include "budget.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

int vs_budget_init(vs_budget *budget, int64_t limit, vs_error *err)
{
    *budget = (vs_budget){.limit = limit};
    if (limit <= 0)
        return vs_fail(err, VS_EINVAL, "memory budget of %lld bytes", (long long)limit);
    pthread_mutex_init(&budget->lock, NULL);
    pthread_cond_init(&budget->returned, NULL);
    return VS_OK;
}

void vs_budget_destroy(vs_budget *budget)
{
    if (budget->limit <= 0)
        return;
    assert(budget->used == 0); /* every frame slot came back, with its bytes */
    pthread_mutex_destroy(&budget->lock);
    pthread_cond_destroy(&budget->returned);
    budget->limit = 0;
}

int vs_budget_fits(const vs_budget *budget, int64_t bytes)
{
    return bytes <= budget->limit;
}

static void take_locked(vs_budget *budget, int64_t bytes)
{
    budget->used += bytes;
    if (budget->used > budget->used_max)
        budget->used_max = budget->used;
}

void vs_budget_take(vs_budget *budget, int64_t bytes, void (*before_wait)(void *context),
                    void *context)
{
    /* A take larger than the limit would wait forever: callers refuse it. */
    assert(bytes >= 0 && bytes <= budget->limit);
    pthread_mutex_lock(&budget->lock);
    if (budget->used + bytes > budget->limit) {
        budget->waits++;
        /* Counted as waiting before before_wait runs, so that whoever holds
         * frames sees it either in vs_budget_waiting or in what before_wait
         * sends: there is no moment when both miss it. */
        __atomic_add_fetch(&budget->waiting, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&budget->lock);
        if (before_wait)
            before_wait(context);
        pthread_mutex_lock(&budget->lock);
        while (budget->used + bytes > budget->limit)
            pthread_cond_wait(&budget->returned, &budget->lock);
        __atomic_sub_fetch(&budget->waiting, 1, __ATOMIC_SEQ_CST);
    }
    take_locked(budget, bytes);
    pthread_mutex_unlock(&budget->lock);
}

int vs_budget_waiting(const vs_budget *budget)
{
    return __atomic_load_n(&budget->waiting, __ATOMIC_SEQ_CST);
}

void vs_budget_give(vs_budget *budget, int64_t bytes)
{
    if (bytes <= 0)
        return;
    pthread_mutex_lock(&budget->lock);
    assert(bytes <= budget->used);
    budget->used -= bytes;
    pthread_cond_broadcast(&budget->returned); /* waiters want different amounts */
    pthread_mutex_unlock(&budget->lock);
}

int64_t vs_budget_default(void)
{
    int64_t limit = (int64_t)2 << 30;
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0 && (int64_t)pages * page_size / 4 < limit)
        limit = (int64_t)pages * page_size / 4;
    return limit;
}

int64_t vs_budget_parse(const char *text)
{
    char *end;
    double value = strtod(text, &end);
    if (end == text || !(value > 0))
        return 0;
    double scale = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': scale = 1024.0; break;
    case 'M': scale = 1024.0 * 1024; break;
    case 'G': scale = 1024.0 * 1024 * 1024; break;
    case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
    case 0: break;
    default: return 0;
    }
    if (*end) {
        end++;
        if (toupper((unsigned char)*end) == 'I') /* "GiB" */
            end++;
        if (toupper((unsigned char)*end) == 'B')
            end++;
    }
    if (*end || value * scale >= 9.0e18)
        return 0;
    return (int64_t)llround(value * scale);
}
