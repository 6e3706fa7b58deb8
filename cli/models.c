/* models.c: `vidsift models` (not yet implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_models(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsift models: not implemented yet\n");
    return 2;
}
