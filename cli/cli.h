/* cli.h: entry points of the subcommands; cli/main.c only dispatches. */
#ifndef VS_CLI_H
#define VS_CLI_H

int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_worker(int argc, char **argv);

#include <stddef.h>

/* The results database a DB argument means: DB itself, or DB/results.db when
 * DB is a directory (a `vidsift run` output directory). */
void cli_database_path(const char *given, char *out, size_t size);

/* Directory holding the installed models: $VIDSIFT_MODELS, else the build's
 * models/ next to the executable, else the install prefix's share/vidsift/models. */
void cli_models_dir(char *out, size_t size);

/* The manifest a --model NAME means: NAME itself when it looks like a path
 * (has a '/' or ends in .json), else NAME.manifest.json in dir (NULL: the
 * models directory), or NAME.json there for hand-made installs. */
void cli_manifest_path(const char *name, const char *dir, char *out, size_t size);

/* The model `run` and `bench` use without --model: $VIDSIFT_DEFAULT_MODEL
 * when set (a NAME or a path, as --model takes), else "yolov5s". */
const char *cli_default_model(void);

/* A model file (.pt, .torchscript) given where a manifest is expected:
 * `FILE.pt` means the manifest beside it, FILE.manifest.json. Returns 1
 * after printing, as `command: ...`, that the manifest is missing and the
 * command that writes one; 0 when name is not a model file or its manifest
 * exists (manifest: what cli_manifest_path made of name). */
int cli_model_without_manifest(const char *command, const char *name, const char *manifest);

/* Restarts the program with OMP_WAIT_POLICY=PASSIVE unless it is set, so
 * libtorch's idle CPU threads sleep instead of spinning (see cli/omp.c).
 * Returns only when it did not restart. */
void cli_prefer_sleeping_threads(char **argv);

#endif
