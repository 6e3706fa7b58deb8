/* omp.c: libtorch's CPU operators run on OpenMP threads (libgomp), which by
 * default spin between operators while they wait for work. Alone that costs
 * nothing; in the pipeline the spinning threads take the cores that decode,
 * preprocess and encode need. On the project's 2-core machine, `vidsift run
 * --no-annotate` on the 720p forensics clip took 21-23 s with spinning and
 * 13-15 s with sleeping waits, and half the CPU time (bench/RESULTS.md).
 *
 * libgomp reads OMP_WAIT_POLICY once, when it is loaded with libtorch, before
 * main runs: the only way to set it for ourselves is to start the program
 * again with it in the environment. A value the user set is left alone. */
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

void cli_prefer_sleeping_threads(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: go on with spinning threads; slower, not wrong. */
}
