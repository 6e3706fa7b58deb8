/* vs_torch.cpp: the libtorch shim behind vs_torch.h; the only C++ in vidsift.
 *
 * Owns: one TorchScript module on one device, and per slot an input buffer, the
 * outputs of the slot's last run and, on CUDA, the slot's stream and event.
 * Never: lets a C++ exception out. Every entry point runs its body inside
 * guarded(), which turns any exception into a status and a one-line message
 * that starts with the model path.
 *
 * CPU: submit runs the forward pass on the calling thread. The input tensor is
 * a view of the slot buffer (no copy); the output tensors (float32,
 * contiguous) stay alive in the slot until the slot is submitted again.
 *
 * CUDA (compiled only with VS_WITH_CUDA, so that the CPU build needs nothing
 * from NVIDIA): input buffers are page-locked. submit queues everything on the
 * slot's own stream: an asynchronous host-to-device copy, the forward pass, an
 * asynchronous device-to-host copy into page-locked per-slot output buffers,
 * then records the slot's event, and returns. wait blocks on that event. With
 * two slots in flight the copies of one overlap the compute of the other. The
 * output buffers only grow (warmup sizes them for max_batch), so steady state
 * allocates no host memory per batch.
 *
 * Process-wide effects (libtorch and glibc have no per-model setting):
 * cpu_threads calls at::set_num_threads(), which changes the intra-op thread
 * count of every model in the process; opening a model on CPU tunes glibc
 * malloc (see keep_freed_memory_in_heap). */
#include "vs_torch.h"

extern "C" {
#include "vs_error.h"
}

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#ifdef VS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace
{

struct Slot {
    at::Tensor input;            /* [max_batch, C, H, W] float32; page-locked on CUDA */
    float *input_data = nullptr; /* input's data, so that vs_torch_input is a pure lookup */
    at::Tensor outputs[VS_TORCH_MAX_OUTPUTS]; /* last run: float32, contiguous, host */
    int output_count = 0;
    int frames_in_flight = 0; /* frames of the submitted run; 0 = idle */
#ifdef VS_WITH_CUDA
    /* Page-locked, 1-D; outputs[i] is a view of its first numel floats. */
    at::Tensor host_buffers[VS_TORCH_MAX_OUTPUTS];
    std::optional<c10::cuda::CUDAStream> stream;
    std::unique_ptr<at::cuda::CUDAEvent> done; /* recorded after the last copy of a run */
#endif
};

} // namespace

struct vs_torch {
    std::string model_path;
    std::string device_name;
    at::Device device{at::kCPU};
    bool half = false;
    int max_batch = 0, channels = 0, height = 0, width = 0;
    int cpu_threads = 0; /* 0 = libtorch's default */
    torch::jit::Module module;
    std::vector<Slot> slots;
    /* Output shapes of one frame (dim 0 dropped) seen by warmup; used to size
     * every slot's output buffers up front. Empty without warmup. */
    std::vector<std::vector<int64_t>> frame_shapes;
};

namespace
{

/* ---- errors ---------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) int fail(vs_error *err, const char *path, int status,
                                               const char *fmt, ...)
{
    if (err) {
        char message[768]; /* leaves room in err->msg for the path in front */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        snprintf(err->msg, sizeof err->msg, "%s: %s", path ? path : "(no model)", message);
        for (char *c = err->msg; *c; c++) /* one line, whatever went into it */
            if (*c == '\n' || *c == '\r' || *c == '\t')
                *c = ' ';
    }
    return status;
}

bool starts_with(const char *text, size_t length, const char *prefix)
{
    size_t n = strlen(prefix);
    return length >= n && memcmp(text, prefix, n) == 0;
}

/* "RuntimeError: ...", "torch.jit.Error: ...": a Python-style exception line. */
bool is_exception_line(const char *line, size_t length)
{
    size_t name = 0;
    while (name < length && (isalnum((unsigned char)line[name]) || line[name] == '_' ||
                             line[name] == '.' || line[name] == ':'))
        name++;
    /* The name may swallow the colon of ": " itself; step back over it. */
    if (name > 0 && line[name - 1] == ':')
        name--;
    if (name + 1 >= length || line[name] != ':' || line[name + 1] != ' ')
        return false;
    return (name >= 5 && memcmp(line + name - 5, "Error", 5) == 0) ||
           (name >= 9 && memcmp(line + name - 9, "Exception", 9) == 0);
}

/* libtorch messages span many lines: c10 appends "Exception raised from ..." and
 * a backtrace, and the TorchScript interpreter prints a traceback of the
 * scripted code with the actual error ("RuntimeError: ...") last. Picks one
 * line: the last exception line when there is a traceback, else the first line
 * that says something. Writes no memory: returns a span of text. */
void condense(const char *text, const char **start, int *length)
{
    const char *first = nullptr, *last_exception = nullptr;
    size_t first_length = 0, last_exception_length = 0;
    bool traceback = false;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *b = line, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        size_t n = (size_t)(e - b);
        if (starts_with(b, n, "Traceback of TorchScript") || starts_with(b, n, "Traceback ("))
            traceback = true;
        bool noise =
            n == 0 || starts_with(b, n, "Exception raised from") || starts_with(b, n, "frame #");
        if (!noise && !first) {
            first = b;
            first_length = n;
        }
        if (!noise && is_exception_line(b, n)) {
            last_exception = b;
            last_exception_length = n;
        }
        line = *end ? end + 1 : end;
    }
    if (traceback && last_exception) {
        *start = last_exception;
        *length = (int)std::min<size_t>(last_exception_length, 4096);
    } else if (first) {
        *start = first;
        *length = (int)std::min<size_t>(first_length, 4096);
    } else {
        *start = "unknown libtorch error";
        *length = (int)strlen(*start);
    }
}

int fail_with(vs_error *err, const char *path, int status, const char *what,
              const char *context = "")
{
    const char *start;
    int length;
    condense(what ? what : "", &start, &length);
    return fail(err, path, status, "%s%.*s", context, length, start);
}

/* Runs an entry point's body; no exception gets past it. */
template <typename Body> int guarded(const char *path, vs_error *err, Body &&body) noexcept
{
    try {
        return body();
    } catch (const c10::OutOfMemoryError &e) {
        return fail_with(err, path, VS_ENOMEM, e.what_without_backtrace());
    } catch (const c10::Error &e) {
        return fail_with(err, path, VS_EMODEL, e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        return fail(err, path, VS_ENOMEM, "out of memory");
    } catch (const std::exception &e) {
        return fail_with(err, path, VS_EMODEL, e.what());
    } catch (...) {
        return fail(err, path, VS_EMODEL, "unknown C++ exception");
    }
}

/* ---- options ---------------------------------------------------------------- */

bool cuda_usable()
{
#ifdef VS_WITH_CUDA
    return torch::cuda::is_available();
#else
    return false;
#endif
}

int parse_device(const char *text, const char *path, at::Device *device, vs_error *err)
{
    if (!text || !*text || strcmp(text, "auto") == 0) {
        *device = cuda_usable() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
        return VS_OK;
    }
    if (strcmp(text, "cpu") == 0) {
        *device = at::Device(at::kCPU);
        return VS_OK;
    }
    long index = 0;
    if (strcmp(text, "cuda") == 0) {
        index = 0;
    } else if (strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9' &&
               strlen(text + 5) <= 3 && strspn(text + 5, "0123456789") == strlen(text + 5)) {
        index = strtol(text + 5, nullptr, 10);
    } else {
        return fail(err, path, VS_EINVAL,
                    "unknown device \"%s\" (expected auto, cpu, cuda or cuda:N)", text);
    }
#ifdef VS_WITH_CUDA
    if (!torch::cuda::is_available())
        return fail(err, path, VS_EINVAL,
                    "device %s: CUDA is not available (no GPU or driver found by libtorch %s)",
                    text, TORCH_VERSION);
    long count = (long)torch::cuda::device_count();
    if (index >= count)
        return fail(err, path, VS_EINVAL, "device %s: only %ld CUDA device%s (0..%ld)", text, count,
                    count == 1 ? "" : "s", count - 1);
    *device = at::Device(at::kCUDA, (c10::DeviceIndex)index);
    return VS_OK;
#else
    (void)index;
    return fail(err, path, VS_EINVAL,
                "device %s: this vidsift was built without CUDA (configure with -DVS_CUDA=ON)",
                text);
#endif
}

/* Big CPU tensors (a batch of frames, each layer's activations: tens of MB) lie
 * above glibc's mmap threshold, so each one is mmap'ed when allocated and
 * munmap'ed when freed, and every forward pass page-faults fresh zeroed memory:
 * batch 8 measured twice as slow per frame as with this (shared/MODEL-FACTS.md).
 * Serving big blocks from the heap and trimming it only above 1 GiB of free top
 * lets each batch reuse the pages of the previous one. glibc has one setting for
 * the whole process; the rest of vidsift allocates little and does not mind.
 * One arena: the pipeline runs inference on its own thread, and a thread's
 * own arena shrinks its heap with MADV_DONTNEED after every big free, which
 * costs the same page faults again (measured: 13.5 s of system time for 120
 * frames, 8.1 frames/s; with one arena 0.9 s and 15.4 frames/s). */
void keep_freed_memory_in_heap()
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

std::string shape_text(at::IntArrayRef sizes)
{
    std::string text = "[";
    for (size_t i = 0; i < sizes.size(); i++)
        text += (i ? ", " : "") + std::to_string(sizes[i]);
    return text + "]";
}

/* ---- running ---------------------------------------------------------------- */

/* Runs the module on batch and checks what it returns: 1..VS_TORCH_MAX_OUTPUTS
 * tensors of 1..4 dims whose dim 0 is the batch size. */
int forward(vs_torch *torch, const at::Tensor &batch, int frames, std::vector<at::Tensor> &outputs,
            vs_error *err)
{
    const char *path = torch->model_path.c_str();
    c10::IValue result = torch->module.forward({batch});
    outputs.clear();
    auto take = [&](const c10::IValue &value) -> int {
        if (!value.isTensor())
            return fail(err, path, VS_EMODEL,
                        "model returns a %s inside its outputs; expected Tensors",
                        value.tagKind().c_str());
        outputs.push_back(value.toTensor());
        return VS_OK;
    };
    int status = VS_OK;
    if (result.isTensor()) {
        status = take(result);
    } else if (result.isTuple()) {
        for (const c10::IValue &element : result.toTuple()->elements())
            if ((status = take(element)) != VS_OK)
                break;
    } else if (result.isList()) {
        c10::List<c10::IValue> list = result.toList();
        for (size_t i = 0; i < list.size() && status == VS_OK; i++)
            status = take(list.get(i));
    } else {
        return fail(err, path, VS_EMODEL,
                    "model returns a %s; expected a Tensor or a tuple or list of Tensors",
                    result.tagKind().c_str());
    }
    if (status != VS_OK)
        return status;
    if (outputs.empty() || outputs.size() > VS_TORCH_MAX_OUTPUTS)
        return fail(err, path, VS_EMODEL, "model returns %zu outputs; expected 1 to %d",
                    outputs.size(), VS_TORCH_MAX_OUTPUTS);
    for (size_t i = 0; i < outputs.size(); i++) {
        const at::Tensor &output = outputs[i];
        if (output.dim() < 1 || output.dim() > 4)
            return fail(err, path, VS_EMODEL,
                        "output %zu has shape %s; expected 1 to 4 dims, dim 0 the batch", i,
                        shape_text(output.sizes()).c_str());
        if (output.size(0) != frames)
            return fail(err, path, VS_EMODEL,
                        "output %zu has shape %s for a batch of %d frames; dim 0 must be the batch",
                        i, shape_text(output.sizes()).c_str(), frames);
    }
    return VS_OK;
}

/* With OpenMP the thread count is a per-thread setting, which libtorch copies
 * from the global one into a thread on its first parallel operation only. A
 * thread that did parallel work before vs_torch_open (or that runs two models
 * with different cpu_threads) would keep its old count: apply ours on the
 * thread that runs the model, once per thread and setting. */
void apply_cpu_threads(const vs_torch *torch)
{
    thread_local int applied = 0;
    if (torch->cpu_threads > 0 && applied != torch->cpu_threads) {
        if (at::get_num_threads() != torch->cpu_threads)
            at::set_num_threads(torch->cpu_threads);
        applied = torch->cpu_threads;
    }
}

int submit_cpu(vs_torch *torch, Slot &slot, int frames, vs_error *err)
{
    apply_cpu_threads(torch);
    c10::InferenceMode inference;
    std::vector<at::Tensor> outputs;
    int status = forward(torch, slot.input.narrow(0, 0, frames), frames, outputs, err);
    if (status != VS_OK)
        return status;
    for (size_t i = 0; i < outputs.size(); i++) {
        at::Tensor output = outputs[i].to(at::kFloat).contiguous();
        /* A model may hand back (a view of) its input: the caller refills the
         * input before its next submit, which would change these outputs. */
        if (output.is_alias_of(slot.input))
            output = output.clone();
        slot.outputs[i] = output;
    }
    for (size_t i = outputs.size(); i < VS_TORCH_MAX_OUTPUTS; i++)
        slot.outputs[i] = at::Tensor();
    slot.output_count = (int)outputs.size();
    slot.frames_in_flight = frames;
    return VS_OK;
}

#ifdef VS_WITH_CUDA
/* A page-locked host view of `numel` floats from the slot's buffer i, grown if
 * too small. Only called while the slot is idle, so no copy into the old buffer
 * is pending when it is replaced. */
at::Tensor host_output(Slot &slot, size_t i, int64_t numel)
{
    at::Tensor &buffer = slot.host_buffers[i];
    if (!buffer.defined() || buffer.numel() < numel)
        buffer = at::empty({std::max<int64_t>(numel, 1)},
                           at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
    return buffer.narrow(0, 0, numel);
}

int submit_cuda_queued(vs_torch *torch, Slot &slot, int frames, vs_error *err)
{
    /* Everything below, allocations included, is ordered on the slot's stream:
     * device memory freed here (the input copy, the outputs) is reused by the
     * caching allocator only for later work on the same stream. */
    c10::cuda::CUDAStreamGuard on_slot_stream(*slot.stream);
    c10::InferenceMode inference;
    /* float32 across the bus from page-locked memory (asynchronous), then
     * converted on the device: a dtype change in the same copy would convert on
     * the host, synchronously. */
    at::Tensor batch = slot.input.narrow(0, 0, frames)
                           .to(torch->device, at::kFloat,
                               /*non_blocking=*/true);
    if (torch->half)
        batch = batch.to(at::kHalf);
    std::vector<at::Tensor> outputs;
    int status = forward(torch, batch, frames, outputs, err);
    if (status != VS_OK)
        return status;
    for (size_t i = 0; i < outputs.size(); i++) {
        at::Tensor output = outputs[i].to(at::kFloat).contiguous();
        if (output.is_cpu()) { /* a model that moves its output to the host itself */
            slot.outputs[i] = output.is_alias_of(slot.input) ? output.clone() : output;
            continue;
        }
        at::Tensor host = host_output(slot, i, output.numel()).view(output.sizes());
        host.copy_(output, /*non_blocking=*/true);
        slot.outputs[i] = host;
    }
    for (size_t i = outputs.size(); i < VS_TORCH_MAX_OUTPUTS; i++)
        slot.outputs[i] = at::Tensor();
    slot.done->record(*slot.stream);
    slot.output_count = (int)outputs.size();
    slot.frames_in_flight = frames;
    return VS_OK;
}

/* A run that fails leaves the slot idle, and the caller may then refill its
 * input at once: first let the copy already queued from it finish. */
int submit_cuda(vs_torch *torch, Slot &slot, int frames, vs_error *err)
{
    auto drain = [&slot] {
        try {
            slot.stream->synchronize();
        } catch (...) {
            /* A broken device: the failure is reported already. */
        }
    };
    int status;
    try {
        status = submit_cuda_queued(torch, slot, frames, err);
    } catch (...) {
        drain();
        throw;
    }
    if (status != VS_OK)
        drain();
    return status;
}
#endif

/* One batch of max_batch zeros through slot 0: proves the model accepts the
 * input shape and returns what the shim can carry, and sizes the buffers. */
int warm_up(vs_torch *torch, vs_error *err)
{
    const char *path = torch->model_path.c_str();
    vs_error inner = {{0}};
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int output_count = 0;
    torch->slots[0].input.zero_();
    int status = vs_torch_submit(torch, 0, torch->max_batch, &inner);
    if (status == VS_OK)
        status = vs_torch_wait(torch, 0, outputs, &output_count, &inner);
    if (status != VS_OK) {
        /* inner already starts with "PATH: "; say it once. */
        const char *reason = inner.msg;
        size_t path_length = strlen(path);
        if (strncmp(inner.msg, path, path_length) == 0 &&
            strncmp(inner.msg + path_length, ": ", 2) == 0)
            reason += path_length + 2;
        return fail(err, path, status, "warmup with %d frames of zeros: %s", torch->max_batch,
                    reason);
    }
    torch->frame_shapes.clear();
    for (int i = 0; i < output_count; i++)
        torch->frame_shapes.emplace_back(outputs[i].shape + 1, outputs[i].shape + outputs[i].ndim);
#ifdef VS_WITH_CUDA
    if (torch->device.is_cuda()) {
        for (Slot &slot : torch->slots)
            for (int i = 0; i < output_count; i++) {
                int64_t numel = torch->max_batch;
                for (int64_t size : torch->frame_shapes[i])
                    numel *= size;
                host_output(slot, (size_t)i, numel);
            }
    }
#endif
    return VS_OK;
}

int open_model(vs_torch **out, const vs_torch_options *options, vs_error *err)
{
    const char *path = options->model_path;
    if (options->max_batch < 1 || options->slots < 1 || options->channels < 1 ||
        options->height < 1 || options->width < 1 || options->cpu_threads < 0)
        return fail(err, path, VS_EINVAL,
                    "bad options: max_batch %d, slots %d, input %dx%dx%d, cpu_threads %d "
                    "(each must be >= 1; cpu_threads >= 0)",
                    options->max_batch, options->slots, options->channels, options->height,
                    options->width, options->cpu_threads);
    int64_t slot_floats =
        (int64_t)options->max_batch * options->channels * options->height * options->width;
    if (slot_floats > ((int64_t)1 << 36))
        return fail(err, path, VS_EINVAL,
                    "input of %d frames of %dx%dx%d is too large for one slot", options->max_batch,
                    options->channels, options->height, options->width);

    at::Device device(at::kCPU);
    int status = parse_device(options->device, path, &device, err);
    if (status != VS_OK)
        return status;
    if (options->half && !device.is_cuda())
        return fail(err, path, VS_EINVAL,
                    "half precision (FP16) runs only on CUDA; the device is cpu");

    /* libtorch's own message for a missing file is long and talks about fopen. */
    struct stat file;
    if (stat(path, &file) != 0)
        return fail(err, path, VS_EMODEL, "cannot open model: %s", strerror(errno));
    if (!S_ISREG(file.st_mode))
        return fail(err, path, VS_EMODEL, "not a regular file");

    if (device.is_cpu())
        keep_freed_memory_in_heap();
    if (options->cpu_threads > 0)
        at::set_num_threads(options->cpu_threads); /* process-wide, see the top comment */

    std::unique_ptr<vs_torch> torch(new vs_torch);
    torch->model_path = path;
    torch->device = device;
    torch->half = options->half != 0;
    torch->max_batch = options->max_batch;
    torch->channels = options->channels;
    torch->height = options->height;
    torch->width = options->width;
    torch->cpu_threads = options->cpu_threads;
    torch->device_name = "cpu";
#ifdef VS_WITH_CUDA
    if (device.is_cuda()) {
        /* The allocator's statistics are per device, not per model. */
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
        torch->device_name = "cuda:" + std::to_string(device.index()) + " (" +
                             at::cuda::getDeviceProperties(device.index())->name + ")";
    }
#endif

    {
        c10::NoGradGuard no_grad;
        try {
            torch->module = torch::jit::load(path, device);
        } catch (const c10::OutOfMemoryError &) {
            throw; /* guarded() reports it as VS_ENOMEM */
        } catch (const c10::Error &e) {
            return fail_with(err, path, VS_EMODEL, e.what_without_backtrace(),
                             "not a loadable TorchScript file: ");
        }
        if (torch->half)
            torch->module.to(at::kHalf);
        torch->module.eval();
    }

    at::TensorOptions input_options = at::TensorOptions().dtype(at::kFloat);
    if (device.is_cuda())
        input_options = input_options.pinned_memory(true);
    torch->slots.resize((size_t)options->slots);
    for (Slot &slot : torch->slots) {
        slot.input =
            at::zeros({options->max_batch, options->channels, options->height, options->width},
                      input_options);
        slot.input_data = slot.input.data_ptr<float>();
#ifdef VS_WITH_CUDA
        if (device.is_cuda()) {
            slot.stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
            slot.done = std::make_unique<at::cuda::CUDAEvent>();
        }
#endif
    }
#ifdef VS_WITH_CUDA
    /* The slot streams do not wait for the legacy default stream on which the
     * weights were copied and converted: make sure those copies are done. */
    if (device.is_cuda())
        torch::cuda::synchronize(device.index());
#endif

    if (options->warmup && (status = warm_up(torch.get(), err)) != VS_OK)
        return status;
    *out = torch.release();
    return VS_OK;
}

} // namespace

extern "C" {

int vs_torch_open(vs_torch **out, const vs_torch_options *options, vs_error *err)
{
    const char *path = options && options->model_path ? options->model_path : "(no model)";
    if (out)
        *out = nullptr;
    if (!out || !options || !options->model_path || !*options->model_path)
        return fail(err, path, VS_EINVAL, "vs_torch_open: no model path given");
    return guarded(path, err, [&] { return open_model(out, options, err); });
}

void vs_torch_close(vs_torch *torch)
{
    if (!torch)
        return;
#ifdef VS_WITH_CUDA
    /* No copy may still be writing into a buffer about to be freed. */
    for (Slot &slot : torch->slots) {
        try {
            if (slot.frames_in_flight && slot.done)
                slot.done->synchronize();
        } catch (...) {
            /* A failed device: nothing left to wait for. */
        }
    }
#endif
    try {
        delete torch;
    } catch (...) {
    }
}

float *vs_torch_input(vs_torch *torch, int slot)
{
    if (!torch || slot < 0 || slot >= (int)torch->slots.size())
        return nullptr;
    return torch->slots[(size_t)slot].input_data;
}

int vs_torch_submit(vs_torch *torch, int slot_index, int frames, vs_error *err)
{
    if (!torch)
        return fail(err, nullptr, VS_EINVAL, "vs_torch_submit: no model");
    const char *path = torch->model_path.c_str();
    int slot_count = (int)torch->slots.size();
    if (slot_index < 0 || slot_index >= slot_count)
        return fail(err, path, VS_EINVAL, "slot %d does not exist (0..%d)", slot_index,
                    slot_count - 1);
    if (frames < 1 || frames > torch->max_batch)
        return fail(err, path, VS_EINVAL, "cannot submit %d frames (1..%d)", frames,
                    torch->max_batch);
    Slot &slot = torch->slots[(size_t)slot_index];
    if (slot.frames_in_flight)
        return fail(err, path, VS_EINVAL, "slot %d is already submitted; wait for it first",
                    slot_index);
    return guarded(path, err, [&] {
#ifdef VS_WITH_CUDA
        if (torch->device.is_cuda())
            return submit_cuda(torch, slot, frames, err);
#endif
        return submit_cpu(torch, slot, frames, err);
    });
}

int vs_torch_wait(vs_torch *torch, int slot_index, vs_torch_output *outputs, int *output_count,
                  vs_error *err)
{
    if (!torch)
        return fail(err, nullptr, VS_EINVAL, "vs_torch_wait: no model");
    const char *path = torch->model_path.c_str();
    if (!outputs || !output_count)
        return fail(err, path, VS_EINVAL, "vs_torch_wait: no place for the outputs");
    *output_count = 0;
    int slot_count = (int)torch->slots.size();
    if (slot_index < 0 || slot_index >= slot_count)
        return fail(err, path, VS_EINVAL, "slot %d does not exist (0..%d)", slot_index,
                    slot_count - 1);
    Slot &slot = torch->slots[(size_t)slot_index];
    if (!slot.frames_in_flight)
        return fail(err, path, VS_EINVAL, "slot %d was not submitted", slot_index);
    /* Idle from here on, even if the wait fails: a failed run is not retried. */
    slot.frames_in_flight = 0;
    return guarded(path, err, [&] {
#ifdef VS_WITH_CUDA
        if (slot.done)
            slot.done->synchronize();
#endif
        for (int i = 0; i < slot.output_count; i++) {
            const at::Tensor &tensor = slot.outputs[i];
            vs_torch_output &output = outputs[i];
            output = vs_torch_output{};
            output.data = tensor.data_ptr<float>();
            output.ndim = (int)tensor.dim();
            for (int d = 0; d < output.ndim; d++)
                output.shape[d] = tensor.size(d);
        }
        *output_count = slot.output_count;
        return VS_OK;
    });
}

int vs_torch_output_shapes(const vs_torch *torch, vs_torch_output *outputs, int max_outputs)
{
    int count = 0;
    for (const auto &frame_shape : torch->frame_shapes) {
        if (count == max_outputs || frame_shape.size() + 1 > 4)
            break;
        vs_torch_output &out = outputs[count++];
        out = vs_torch_output{};
        out.ndim = (int)frame_shape.size() + 1;
        out.shape[0] = torch->max_batch;
        for (size_t d = 0; d < frame_shape.size(); d++)
            out.shape[d + 1] = frame_shape[d];
    }
    return count;
}

const char *vs_torch_device_name(const vs_torch *torch)
{
    return torch ? torch->device_name.c_str() : "none";
}

int vs_torch_is_cuda(const vs_torch *torch)
{
    return torch && torch->device.is_cuda();
}

void vs_torch_memory_stats(vs_torch *torch, vs_torch_memory *memory)
{
    if (!memory)
        return;
    *memory = vs_torch_memory{};
#ifdef VS_WITH_CUDA
    if (!torch || !torch->device.is_cuda())
        return;
    try {
        /* Per device, shared by every model on it. Index 0 is StatType::AGGREGATE
         * (all pools); the enum moved between namespaces across libtorch
         * versions, its first value did not. */
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(torch->device.index());
        memory->cuda_allocated = stats.allocated_bytes[0].current;
        memory->cuda_peak_allocated = stats.allocated_bytes[0].peak;
        memory->cuda_reserved = stats.reserved_bytes[0].current;
    } catch (...) {
        *memory = vs_torch_memory{};
    }
#else
    (void)torch;
#endif
}

const char *vs_torch_version(void)
{
    return TORCH_VERSION;
}

int vs_torch_cuda_available(void)
{
    try {
        return cuda_usable() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
