/* run_options.c: the options `vidsift run` and `vidsift worker` share; see
 * run_options.h. Owns nothing: values point into argv. */
#include "run_options.h"

#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "manifest.h"

void cli_run_defaults(vs_run_options *o, const volatile sig_atomic_t *stop)
{
    *o = (vs_run_options){.device = "auto",
                          .batch = 0, /* the device's: core/plan.c */
                          .conf = -1,
                          .iou = -1,
                          .every = 1,
                          .jobs = 1,
                          .out_dir = "vidsift-out",
                          .annotate = 1,
                          .store = 1,
                          .track = 1,
                          .track_params = vs_track_params_default(),
                          .stop = stop};
    o->track_params.new_track = -1; /* --conf + 0.1, once the model's conf is known */
}

/* --classes needs at least one name, and no empty one between commas: an
 * empty list would otherwise keep nothing, silently. The names themselves
 * are checked against the model's labels once it is loaded. */
static int classes_given(const char *command, const char *text)
{
    for (const char *item = text;; item++) {
        size_t length = strcspn(item, ",");
        size_t blanks = strspn(item, " \t");
        if (blanks >= length) {
            fprintf(stderr,
                    "%s: --classes: '%s' has an empty class name: give labels or class "
                    "ids separated by commas\n",
                    command, VS_NAME(text));
            return 0;
        }
        item += length;
        if (!*item)
            return 1;
    }
}

static int real_option(const char *command, const char *name, const char *value, double min,
                       double max, float *out)
{
    double real;
    if (!cli_parse_real(command, name, value, min, max, &real))
        return 0;
    *out = (float)real;
    return 1;
}

int cli_run_option(const char *command, int id, const char *value, vs_run_options *o,
                   const char **model)
{
    switch (id) {
    case CLI_RUN_MODEL: *model = value; return 1;
    case CLI_RUN_DEVICE: o->device = value; return 1;
    case CLI_RUN_HALF: o->half = 1; return 1;
    case CLI_RUN_OPTIMIZE: o->optimize = 1; return 1;
    case CLI_RUN_BATCH: return cli_parse_int(command, "batch", value, 1, 64, &o->batch);
    case CLI_RUN_THREADS: return cli_parse_int(command, "threads", value, 0, 256, &o->threads);
    case CLI_RUN_PREPROCESS_THREADS:
        return cli_parse_int(command, "preprocess-threads", value, 0, 64, &o->preprocess_threads);
    case CLI_RUN_ENCODE_THREADS:
        return cli_parse_int(command, "encode-threads", value, 0, 64, &o->encode_threads);
    case CLI_RUN_IMGSZ: {
        vs_error err = {{0}};
        if (vs_parse_input_size(value, &o->input_width, &o->input_height, &err) == VS_OK)
            return 1;
        fprintf(stderr, "%s: %s\n", command, err.msg);
        return 0;
    }
    case CLI_RUN_CONF: return real_option(command, "conf", value, 0, 1, &o->conf);
    case CLI_RUN_IOU: return real_option(command, "iou", value, 0, 1, &o->iou);
    case CLI_RUN_CLASSES: o->classes = value; return classes_given(command, value);
    case CLI_RUN_TRACK:
        if (strcmp(value, "bytetrack") != 0 && strcmp(value, "none") != 0) {
            fprintf(stderr, "%s: --track must be bytetrack or none, not '%s'\n", command,
                    VS_NAME(value));
            return 0;
        }
        o->track = strcmp(value, "bytetrack") == 0;
        return 1;
    case CLI_RUN_TRACK_BUFFER:
        return cli_parse_real(command, "track-buffer", value, 0, 3600, &o->track_params.buffer_s);
    case CLI_RUN_TRACK_LOW:
        return real_option(command, "track-low", value, 0.001, 1, &o->track_params.low);
    case CLI_RUN_TRACK_NEW:
        return real_option(command, "track-new", value, 0, 1, &o->track_params.new_track);
    case CLI_RUN_TRACK_MATCH:
        return real_option(command, "track-match", value, 0.01, 0.99, &o->track_params.match);
    case CLI_RUN_ZONES: o->zones_path = value; return 1;
    case CLI_RUN_EVERY: return cli_parse_int(command, "every", value, 1, 1000000, &o->every);
    case CLI_RUN_SAMPLE_FPS:
        return cli_parse_real(command, "sample-fps", value, 0.001, 1000, &o->sample_fps);
    case CLI_RUN_SKIP_SIMILAR:
        return cli_parse_real(command, "skip-similar", value, 0, 1, &o->skip_similar);
    case CLI_RUN_JOBS: return cli_parse_int(command, "jobs", value, 1, 64, &o->jobs);
    case CLI_RUN_MEMORY_BUDGET:
        /* Under 64 MiB not even one 1080p video's working set fits. */
        if ((o->memory_budget = vs_budget_parse(value)) < ((int64_t)64 << 20)) {
            fprintf(stderr,
                    "%s: --memory-budget: '%s' is not a size of 64M or more (e.g. 512M, 4G)\n",
                    command, VS_NAME(value));
            return 0;
        }
        return 1;
    case CLI_RUN_OUT: o->out_dir = value; return 1;
    case CLI_RUN_DB: o->db_path = value; return 1;
    case CLI_RUN_NO_ANNOTATE: o->annotate = 0; return 1;
    case CLI_RUN_SNAPSHOTS: o->snapshots = 1; return 1;
    case CLI_RUN_FORCE: o->force = 1; return 1;
    case CLI_RUN_HWACCEL: {
        vs_error err = {{0}};
        if (vs_hwaccel_parse(value, &o->hwaccel, &err) == VS_OK)
            return 1;
        fprintf(stderr, "%s: %s\n", command, VS_NAME(err.msg));
        return 0;
    }
    case CLI_RUN_PREPROCESS:
        if (strcmp(value, "auto") && strcmp(value, "swscale") && strcmp(value, "torch")) {
            fprintf(stderr, "%s: --preprocess must be auto, swscale or torch, not '%s'\n",
                    command, VS_NAME(value));
            return 0;
        }
        o->preprocess = !strcmp(value, "torch")     ? VS_PREPROCESS_TORCH
                        : !strcmp(value, "swscale") ? VS_PREPROCESS_SWSCALE
                                                    : VS_PREPROCESS_AUTO;
        return 1;
    default: return -1;
    }
}
