/* cli.h: entry points of the subcommands; cli/main.c only dispatches. */
#ifndef VS_CLI_H
#define VS_CLI_H

int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Directory holding the installed models: $VIDSIFT_MODELS, else the build's
 * models/ next to the executable, else the install prefix's share/vidsift/models. */
const char *cli_models_dir(void);

#endif
