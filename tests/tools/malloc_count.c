/* malloc_count.c: an LD_PRELOAD library that counts heap allocations
 * (malloc, calloc, realloc, posix_memalign, aligned_alloc) per pipeline
 * thread, by the thread's name ("vs-decode", "vs-batch", ...), and writes
 * "name count" lines to $VS_MALLOC_COUNT_FILE at exit. Used by
 * tests/integration/alloc_steady.sh to show which stages allocate per frame. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

#define KINDS 8
static const char *const kinds[KINDS] = {"vs-decode", "vs-batch",   "vs-infer", "vs-post",
                                         "vs-sink",   "vs-monitor", "other",    NULL};
static atomic_long counts[KINDS];
static __thread int thread_kind = -1;

static void count(void)
{
    if (thread_kind < 0 || thread_kind == 6) {
        char name[16] = {0};
        prctl(PR_GET_NAME, name);
        thread_kind = 6;
        for (int k = 0; k < 6; k++)
            if (!strncmp(name, kinds[k], strlen(kinds[k])))
                thread_kind = k;
    }
    atomic_fetch_add_explicit(&counts[thread_kind], 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}
void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}
void *aligned_alloc(size_t alignment, size_t size)
{
    count();
    return __libc_memalign(alignment, size);
}
void *memalign(size_t alignment, size_t size)
{
    count();
    return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size)
{
    count();
    void *p = __libc_memalign(alignment, size);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("VS_MALLOC_COUNT_FILE");
    if (!path)
        return;
    FILE *out = fopen(path, "w");
    if (!out)
        return;
    for (int k = 0; kinds[k]; k++)
        fprintf(out, "%s %ld\n", kinds[k], atomic_load(&counts[k]));
    fclose(out);
}
