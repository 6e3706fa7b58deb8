/* queue.c: placeholder while the Redis work queue is written. */
#include <stdio.h>

#include "cli.h"

int cmd_queue(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsift queue: not built yet\n");
    return 2;
}
