/* models.c: `vidsift models list|info|verify` - what is installed, what a
 * manifest says, and whether a model really produces what its manifest
 * promises.
 *
 * Owns its options and help text. Reads manifests through core/manifest.c and
 * runs models only through the shim; it never decodes JSON rules of its own
 * except to show the purely informational fields (source, outputs) that the
 * vs_manifest struct does not carry.
 *
 * Exit status: 0 all is well, 2 on a usage error or any broken model, with
 * one line on stderr that names the file at fault. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "detect.h"
#include "manifest.h"
#include "vs_torch.h"

#define MANIFEST_SUFFIX ".manifest.json"

static const char usage[] =
    "usage: vidsift models COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  list             the installed models: name, decoder, input, classes, size, status\n"
    "  info NAME        everything a model's manifest says, and its labels\n"
    "  verify NAME      load the model, run it, check its outputs against the manifest\n"
    "\n"
    "NAME is a model in the models directory (NAME.manifest.json there) or the path\n"
    "of a manifest. The models directory is $VIDSIFT_MODELS, else the one installed\n"
    "with vidsift; --dir DIR overrides both.\n"
    "\n"
    "`vidsift models COMMAND --help` for a command's options.\n"
    "exit status: 0 ok, 2 usage error or a broken model\n";

static const char list_usage[] =
    "usage: vidsift models list [--dir DIR]\n"
    "\n"
    "Lists every NAME.manifest.json in the models directory with its decoder,\n"
    "input size, classes, model file size and status (ok, or broken and why).\n"
    "Only the manifest, labels and presence of the model file are checked; use\n"
    "`vidsift models verify NAME` to run a model.\n"
    "\n"
    "  --dir DIR     models directory (default: $VIDSIFT_MODELS or the installed one)\n"
    "  -h, --help    this text\n"
    "\n"
    "exit status: 0 all listed models ok, 2 none found or some broken\n";

static const char info_usage[] =
    "usage: vidsift models info [--dir DIR] [--labels] NAME\n"
    "\n"
    "Prints every field of a model's manifest, resolved paths, the model file's\n"
    "size and the number of labels.\n"
    "\n"
    "  --labels      also print every label with its class id\n"
    "  --dir DIR     models directory (default: $VIDSIFT_MODELS or the installed one)\n"
    "  -h, --help    this text\n"
    "\n"
    "exit status: 0 ok, 2 the manifest or its files are broken\n";

static const char verify_usage[] =
    "usage: vidsift models verify [--dir DIR] [--device DEV] NAME\n"
    "\n"
    "Loads the manifest and labels, opens the model with the shim (with warmup),\n"
    "runs a batch of 2 grey frames and checks that\n"
    "  - the outputs have the shapes the manifest's decoder needs:\n"
    "      centernet  [N,C,H/stride,W/stride] heatmap and [N,4,H/stride,W/stride] boxes\n"
    "      yolov5     [N,A,5+C]\n"
    "      yolov8     [N,4+C,A]\n"
    "  - the batch dimension follows the input (the pipeline batches frames),\n"
    "  - the outputs are finite and the decoder accepts them.\n"
    "\n"
    "  --device DEV  auto, cpu, cuda or cuda:N (auto)\n"
    "  --dir DIR     models directory (default: $VIDSIFT_MODELS or the installed one)\n"
    "  -h, --help    this text\n"
    "\n"
    "exit status: 0 the model is usable, 2 it is not (one line says why)\n";

enum { OPT_DIR = 256, OPT_DEVICE, OPT_LABELS };

/* Options shared by the subcommands; each accepts the subset its usage lists. */
typedef struct models_options {
    const char *dir;
    const char *device;
    int show_labels;
} models_options;

/* Parses argv (argv[0] is the subcommand) into o; returns the index of the
 * first operand, or -1 after printing help (exit 0) / -2 on a usage error. */
static int parse_options(int argc, char **argv, const char *help, int accepts_device,
                         int accepts_labels, models_options *o)
{
    static const struct option table[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"labels", no_argument, NULL, OPT_LABELS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 1;
    int option;
    while ((option = getopt_long(argc, argv, "h", table, NULL)) != -1) {
        switch (option) {
        case OPT_DIR: o->dir = optarg; break;
        case OPT_DEVICE:
            if (!accepts_device)
                goto bad;
            o->device = optarg;
            break;
        case OPT_LABELS:
            if (!accepts_labels)
                goto bad;
            o->show_labels = 1;
            break;
        case 'h': fputs(help, stdout); return -1;
        default: goto bad;
        }
    }
    return optind;
bad:
    fprintf(stderr, "vidsift models %s: option not accepted here\n%s", argv[0], help);
    return -2;
}

static const char *models_dir(const models_options *o)
{
    return o->dir ? o->dir : cli_models_dir();
}

/* NAME: a path when it looks like one, else NAME.manifest.json in the models
 * directory (NAME.json is accepted too, for hand-made installs). */
static void manifest_path_for(const char *name, const char *dir, char *out, size_t size)
{
    if (strchr(name, '/') || strstr(name, ".json")) {
        snprintf(out, size, "%s", name);
        return;
    }
    snprintf(out, size, "%s/%s%s", dir, name, MANIFEST_SUFFIX);
    if (access(out, F_OK) != 0) {
        char plain[PATH_MAX];
        snprintf(plain, sizeof plain, "%s/%s.json", dir, name);
        if (access(plain, F_OK) == 0)
            snprintf(out, size, "%s", plain);
    }
}

static void format_size(long long bytes, char *out, size_t size)
{
    if (bytes < 0)
        snprintf(out, size, "-");
    else if (bytes < 1024 * 1024)
        snprintf(out, size, "%.1f KB", bytes / 1024.0);
    else
        snprintf(out, size, "%.1f MB", bytes / (1024.0 * 1024.0));
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Loads a manifest or prints the one-line reason; the caller exits 2. */
static vs_manifest *load_or_complain(const char *command, const char *path)
{
    vs_manifest *manifest = malloc(sizeof *manifest);
    if (!manifest) {
        fprintf(stderr, "vidsift models %s: out of memory\n", command);
        return NULL;
    }
    vs_error err = {{0}};
    if (vs_manifest_load(manifest, path, &err) != VS_OK) {
        fprintf(stderr, "vidsift models %s: %s\n", command, err.msg);
        free(manifest);
        return NULL;
    }
    return manifest;
}

/* ---- list ------------------------------------------------------------ */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int models_list(int argc, char **argv)
{
    models_options o = {0};
    int first = parse_options(argc, argv, list_usage, 0, 0, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "vidsift models list: unexpected argument '%s'\n", argv[first]);
        return 2;
    }
    const char *dir = models_dir(&o);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "vidsift models list: %s: cannot read the models directory: %s\n", dir,
                strerror(errno));
        return 2;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    size_t suffix = strlen(MANIFEST_SUFFIX);
    while ((entry = readdir(d))) {
        size_t len = strlen(entry->d_name);
        if (len <= suffix || strcmp(entry->d_name + len - suffix, MANIFEST_SUFFIX))
            continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[count] = strdup(entry->d_name);
        if (names[count])
            count++;
    }
    closedir(d);
    if (count == 0) {
        fprintf(stderr, "vidsift models list: %s: no models (*%s) found\n", dir, MANIFEST_SUFFIX);
        free(names);
        return 2;
    }
    qsort(names, count, sizeof *names, compare_names);

    vs_manifest *manifest = malloc(sizeof *manifest);
    if (!manifest) {
        fprintf(stderr, "vidsift models list: out of memory\n");
        return 2;
    }
    int broken = 0;
    printf("%-24s %-10s %-10s %7s %10s  %s\n", "NAME", "DECODER", "INPUT", "CLASSES", "SIZE",
           "STATUS");
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX], name[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(name, sizeof name, "%.*s", (int)(strlen(names[i]) - suffix), names[i]);
        vs_error err = {{0}};
        if (vs_manifest_load(manifest, path, &err) == VS_OK) {
            char input[32], size[32];
            snprintf(input, sizeof input, "%dx%d", manifest->input_width,
                     manifest->input_height);
            format_size(file_size(manifest->model_path), size, sizeof size);
            printf("%-24s %-10s %-10s %7d %10s  ok\n", name, vs_decoder_name(manifest->decoder),
                   input, manifest->classes, size);
        } else {
            broken++;
            printf("%-24s %-10s %-10s %7s %10s  broken: %s\n", name, "-", "-", "-", "-", err.msg);
        }
        free(names[i]);
    }
    free(names);
    free(manifest);
    if (broken)
        fprintf(stderr, "vidsift models list: %d of %zu models broken\n", broken, count);
    return broken ? 2 : 0;
}

/* ---- info ------------------------------------------------------------ */

/* The informational fields that vs_manifest does not keep. The manifest has
 * already been validated, so a failure here only means "nothing to show". */
static void print_informational(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *text = malloc((1 << 20) + 1);
    size_t n = text ? fread(text, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!text)
        return;
    text[n] = 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return;
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    if (cJSON_IsArray(outputs)) {
        printf("%-16s", "outputs");
        const cJSON *item;
        int first = 1;
        cJSON_ArrayForEach(item, outputs) {
            if (cJSON_IsString(item)) {
                printf("%s%s", first ? "" : ", ", item->valuestring);
                first = 0;
            }
        }
        printf("\n");
    }
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(root, "source");
    if (cJSON_IsString(source))
        printf("%-16s%s\n", "source", source->valuestring);
    cJSON_Delete(root);
}

static int models_info(int argc, char **argv)
{
    models_options o = {0};
    int first = parse_options(argc, argv, info_usage, 0, 1, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first != argc - 1) {
        fprintf(stderr, "vidsift models info: give exactly one model NAME or manifest path\n");
        return 2;
    }
    char path[PATH_MAX];
    manifest_path_for(argv[first], models_dir(&o), path, sizeof path);
    vs_manifest *m = load_or_complain("info", path);
    if (!m)
        return 2;
    char size[32];
    format_size(file_size(m->model_path), size, sizeof size);
    printf("%-16s%s\n", "name", m->name);
    printf("%-16s%s\n", "manifest", path);
    printf("%-16s%s (%s)\n", "file", m->model_path, size);
    printf("%-16s%s\n", "decoder", vs_decoder_name(m->decoder));
    if (m->decoder == VS_DECODER_CENTERNET)
        printf("%-16s%d (outputs %dx%d)\n", "stride", m->stride, m->input_width / m->stride,
               m->input_height / m->stride);
    print_informational(path);
    printf("%-16s%dx%d, nchw, %s\n", "input", m->input_width, m->input_height,
           m->bgr ? "bgr" : "rgb");
    printf("%-16s%s\n", "resize", m->resize == VS_RESIZE_LETTERBOX ? "letterbox" : "stretch");
    printf("%-16s(pixel * %g - mean) / std, pixel 0..255\n", "normalisation", m->scale);
    printf("%-16s%g %g %g\n", "mean", m->mean[0], m->mean[1], m->mean[2]);
    printf("%-16s%g %g %g\n", "std", m->std[0], m->std[1], m->std[2]);
    printf("%-16s%d\n", "classes", m->classes);
    printf("%-16s%s (%d labels: %s%s%s%s%s)\n", "labels", m->labels_path, m->classes,
           m->labels[0], m->classes > 1 ? ", " : "", m->classes > 1 ? m->labels[1] : "",
           m->classes > 2 ? ", " : "", m->classes > 2 ? "..." : "");
    printf("%-16s%g\n", "conf", m->conf);
    printf("%-16s%g\n", "iou", m->iou);
    printf("%-16s%d\n", "max_detections", m->max_detections);
    printf("%-16s%s\n", "nms", m->class_agnostic_nms ? "class-agnostic" : "per class");
    if (o.show_labels)
        for (int c = 0; c < m->classes; c++)
            printf("%4d  %s\n", c, m->labels[c]);
    free(m);
    return 0;
}

/* ---- verify ---------------------------------------------------------- */

#define VERIFY_FRAMES 2

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void shape_text(const vs_torch_output *output, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (int d = 0; d < output->ndim && d < 4 && used < size; d++) {
        int n = snprintf(out + used, size - used, "%s%lld", d ? "," : "[",
                         (long long)output->shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (used < size)
        snprintf(out + used, size - used, "]");
}

/* Runs a batch of grey frames and checks what comes back. Returns 0 or prints
 * one line and returns 2. */
static int verify_outputs(const vs_manifest *m, vs_torch *torch)
{
    char err[1024];
    int in_w = m->input_width, in_h = m->input_height;
    size_t plane = (size_t)in_w * in_h;
    float *input = vs_torch_input(torch, 0);
    /* A mid-grey frame, normalised as the preprocess would: zeros can hide a
     * broken normalisation, and some heads misbehave on all-zero input. */
    for (int frame = 0; frame < VERIFY_FRAMES; frame++)
        for (int c = 0; c < 3; c++) {
            float value = (128.0f * m->scale - m->mean[c]) / m->std[c];
            float *p = input + ((size_t)frame * 3 + c) * plane;
            for (size_t i = 0; i < plane; i++)
                p[i] = value;
        }
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = 0;
    if (vs_torch_submit(torch, 0, VERIFY_FRAMES, err, sizeof err) != VS_OK ||
        vs_torch_wait(torch, 0, outputs, &count, err, sizeof err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err);
        return 2;
    }

    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    int ranks[VS_TORCH_MAX_OUTPUTS];
    char described[512] = "";
    for (int i = 0; i < count; i++) {
        memcpy(shapes[i], outputs[i].shape, sizeof shapes[i]);
        ranks[i] = outputs[i].ndim;
        char shape[96];
        shape_text(&outputs[i], shape, sizeof shape);
        snprintf(described + strlen(described), sizeof described - strlen(described), "%s%s",
                 i ? ", " : "", shape);
    }
    vs_error verr = {{0}};
    if (vs_detect_check_outputs(m, (const int64_t(*)[4])shapes, ranks, count, &verr) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", verr.msg);
        return 2;
    }
    for (int i = 0; i < count; i++) {
        if (shapes[i][0] != VERIFY_FRAMES) {
            fprintf(stderr,
                    "vidsift models verify: %s: output %d has batch %lld for %d input frames; "
                    "the pipeline needs a dynamic batch dimension\n",
                    m->model_path, i, (long long)shapes[i][0], VERIFY_FRAMES);
            return 2;
        }
        size_t values = 1;
        for (int d = 0; d < ranks[i]; d++)
            values *= (size_t)shapes[i][d];
        for (size_t k = 0; k < values; k++)
            if (!isfinite(outputs[i].data[k])) {
                fprintf(stderr,
                        "vidsift models verify: %s: output %d holds %s values for a grey frame\n",
                        m->model_path, i, isnan(outputs[i].data[k]) ? "NaN" : "infinite");
                return 2;
            }
    }
    printf("outputs         %s: fit decoder %s\n", described, vs_decoder_name(m->decoder));

    void *scratch = malloc(vs_detect_scratch_size(m, shapes[0]));
    if (!scratch) {
        fprintf(stderr, "vidsift models verify: out of memory\n");
        return 2;
    }
    const float *data[VS_TORCH_MAX_OUTPUTS];
    for (int i = 0; i < count; i++)
        data[i] = outputs[i].data;
    vs_detection detections[VS_MAX_DETECTIONS];
    int found = vs_detect_frame(m, data, (const int64_t(*)[4])shapes, count, 0, NULL, scratch,
                                detections);
    free(scratch);
    if (found < 0) {
        fprintf(stderr, "vidsift models verify: %s: the %s decoder refused the outputs (%d)\n",
                m->model_path, vs_decoder_name(m->decoder), found);
        return 2;
    }
    printf("decode          grey frame: %d detection%s\n", found, found == 1 ? "" : "s");
    return 0;
}

static int models_verify(int argc, char **argv)
{
    models_options o = {.device = "auto"};
    int first = parse_options(argc, argv, verify_usage, 1, 0, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first != argc - 1) {
        fprintf(stderr, "vidsift models verify: give exactly one model NAME or manifest path\n");
        return 2;
    }
    char path[PATH_MAX];
    manifest_path_for(argv[first], models_dir(&o), path, sizeof path);
    vs_manifest *m = load_or_complain("verify", path);
    if (!m)
        return 2;
    printf("manifest        %s: ok (%s, %d labels)\n", path, m->name, m->classes);

    vs_torch_options options = {
        .model_path = m->model_path,
        .device = o.device,
        .max_batch = VERIFY_FRAMES,
        .slots = 1,
        .channels = 3,
        .height = m->input_height,
        .width = m->input_width,
        .warmup = 1,
    };
    char err[1024];
    vs_torch *torch = NULL;
    double started = now_s();
    if (vs_torch_open(&torch, &options, err, sizeof err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err);
        free(m);
        return 2;
    }
    printf("model           %s: loaded on %s in %.2f s\n", m->model_path,
           vs_torch_device_name(torch), now_s() - started);
    int status = verify_outputs(m, torch);
    vs_torch_close(torch);
    /* TODO(fidelity): compare against the TF.js reference outputs once
     * tests/fidelity documents where they are installed. */
    if (status == 0)
        printf("ok              %s is usable\n", m->name);
    free(m);
    return status;
}

/* ---- dispatch -------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"list", models_list},
    {"info", models_info},
    {"verify", models_verify},
};

int cmd_models(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(name, subcommands[i].name))
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vidsift models: unknown command '%s'\n%s", name, usage);
    return 2;
}
