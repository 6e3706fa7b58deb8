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
 * contiguous) stay alive in the slot until the slot is submitted again. With
 * sub_batch set, a batch runs as forward passes of that many frames, whose
 * outputs are copied into per-slot buffers sized at warmup (submit_cpu_in_parts).
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
#include <mutex>
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
    /* 1-D, only grown; outputs[i] is a view of its first numel floats. CUDA:
     * page-locked, the device-to-host copies land here; CPU: used only when
     * a batch runs in sub-batches, whose outputs are copied here in turn. */
    at::Tensor host_buffers[VS_TORCH_MAX_OUTPUTS];
#ifdef VS_WITH_CUDA
    std::optional<c10::cuda::CUDAStream> stream;
    std::unique_ptr<at::cuda::CUDAEvent> done; /* recorded after the last copy of a run */
    /* vs_torch_preprocess's results: [max_batch, C, H, W] float32 on the
     * device (made at the slot's first such frame), and per position whether it holds
     * the frame (1) or the host input does (0). Set by the preprocessing
     * threads, read and cleared by submit: the batch queue orders them. */
    at::Tensor device_input;
    std::unique_ptr<char[]> on_device;
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
    int sub_batch = 0;   /* CPU: frames per forward pass; 0 = the whole batch */
    torch::jit::Module module;
    std::vector<Slot> slots;
    /* Output shapes of one frame (dim 0 dropped) seen by warmup; used to size
     * every slot's output buffers up front. Empty without warmup. */
    std::vector<std::vector<int64_t>> frame_shapes;
    std::mutex device_input_lock; /* creates a slot's device_input (vs_torch_preprocess) */
};

namespace
{

/* ---- errors ---------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) int fail(vs_error *err, const char *path, int status,
                                               const char *fmt, ...)
{
    if (err) {
        char message[768]; /* the path goes in front: both fit err->msg */
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

/* A host view of `numel` floats from the slot's buffer i (page-locked on
 * CUDA), grown if too small. Only called while the slot is idle, so no copy
 * into the old buffer is pending when it is replaced. */
at::Tensor host_output(const vs_torch *torch, Slot &slot, size_t i, int64_t numel)
{
    at::Tensor &buffer = slot.host_buffers[i];
    if (!buffer.defined() || buffer.numel() < numel)
        buffer =
            at::empty({std::max<int64_t>(numel, 1)},
                      at::TensorOptions().dtype(at::kFloat).pinned_memory(torch->device.is_cuda()));
    return buffer.narrow(0, 0, numel);
}

/* The batch as forward passes of torch->sub_batch frames, one after the
 * other, each pass's outputs copied into the slot's buffers at its frames.
 * Why: on the CPU the heap a forward pass leaves behind grows with its frames
 * (yolov5s at 512: ~85 MB a frame, of which ~25 MB are tensors alive at
 * once; the rest is glibc's heap fragmented by their sizes, all of it kept by
 * keep_freed_memory_in_heap), while the pipeline still hands frames on a
 * batch at a time. The price is speed on a lightly loaded CPU, where whole
 * passes ran faster (bench/RESULTS.md): an option, not a default. Each
 * frame's outputs are those of a batch of sub_batch frames. */
int submit_cpu_in_parts(vs_torch *torch, Slot &slot, int frames, vs_error *err)
{
    const char *path = torch->model_path.c_str();
    std::vector<at::Tensor> outputs;
    std::vector<std::vector<int64_t>> frame_shapes;
    size_t output_count = 0;
    for (int first = 0; first < frames; first += torch->sub_batch) {
        int part = std::min(torch->sub_batch, frames - first);
        int status = forward(torch, slot.input.narrow(0, first, part), part, outputs, err);
        if (status != VS_OK)
            return status;
        if (first == 0) {
            output_count = outputs.size();
            for (size_t i = 0; i < output_count; i++) {
                at::IntArrayRef sizes = outputs[i].sizes();
                frame_shapes.emplace_back(sizes.begin() + 1, sizes.end());
                std::vector<int64_t> shape = frame_shapes[i];
                shape.insert(shape.begin(), frames);
                int64_t numel = frames;
                for (int64_t size : frame_shapes[i])
                    numel *= size;
                slot.outputs[i] = host_output(torch, slot, i, numel).view(shape);
            }
        }
        if (outputs.size() != output_count)
            return fail(err, path, VS_EMODEL,
                        "model returns %zu outputs for frames %d-%d of a batch, %zu for the "
                        "first frames",
                        outputs.size(), first, first + part - 1, output_count);
        for (size_t i = 0; i < output_count; i++) {
            at::IntArrayRef sizes = outputs[i].sizes();
            if (!std::equal(sizes.begin() + 1, sizes.end(), frame_shapes[i].begin(),
                            frame_shapes[i].end()))
                return fail(err, path, VS_EMODEL,
                            "output %zu has shape %s for frames %d-%d of a batch, another "
                            "shape per frame than for the first frames",
                            i, shape_text(sizes).c_str(), first, first + part - 1);
            /* A copy, so a model that hands back (a view of) its input is safe. */
            slot.outputs[i].narrow(0, first, part).copy_(outputs[i]);
        }
    }
    for (size_t i = output_count; i < VS_TORCH_MAX_OUTPUTS; i++)
        slot.outputs[i] = at::Tensor();
    slot.output_count = (int)output_count;
    slot.frames_in_flight = frames;
    return VS_OK;
}

int submit_cpu(vs_torch *torch, Slot &slot, int frames, vs_error *err)
{
    apply_cpu_threads(torch);
    c10::InferenceMode inference;
    if (torch->sub_batch > 0 && torch->sub_batch < frames)
        return submit_cpu_in_parts(torch, slot, frames, err);
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
    at::Tensor batch;
    bool preprocessed_on_device = false;
    for (int k = 0; slot.on_device && k < frames; k++)
        preprocessed_on_device = preprocessed_on_device || slot.on_device[k];
    if (preprocessed_on_device) {
        /* Frames the C path filled on the host (a layout the device path does
         * not take) join those already there. */
        for (int k = 0; k < frames; k++)
            if (!slot.on_device[k])
                slot.device_input[k].copy_(slot.input[k], /*non_blocking=*/true);
        batch = slot.device_input.narrow(0, 0, frames);
    } else {
        batch = slot.input.narrow(0, 0, frames)
                    .to(torch->device, at::kFloat,
                        /*non_blocking=*/true);
    }
    if (slot.on_device)
        memset(slot.on_device.get(), 0, (size_t)torch->max_batch);
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
        at::Tensor host = host_output(torch, slot, i, output.numel()).view(output.sizes());
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
    /* Every slot's output buffers at their full size now, so that no run
     * allocates them later. */
    bool in_parts = torch->sub_batch > 0 && torch->sub_batch < torch->max_batch;
    if (torch->device.is_cuda() || in_parts) {
        for (Slot &slot : torch->slots)
            for (int i = 0; i < output_count; i++) {
                int64_t numel = torch->max_batch;
                for (int64_t size : torch->frame_shapes[i])
                    numel *= size;
                host_output(torch, slot, (size_t)i, numel);
            }
    }
    return VS_OK;
}

int open_model(vs_torch **out, const vs_torch_options *options, vs_error *err)
{
    const char *path = options->model_path;
    if (options->max_batch < 1 || options->slots < 1 || options->channels < 1 ||
        options->height < 1 || options->width < 1 || options->cpu_threads < 0 ||
        options->sub_batch < 0)
        return fail(err, path, VS_EINVAL,
                    "bad options: max_batch %d, slots %d, input %dx%dx%d, cpu_threads %d, "
                    "sub_batch %d (each must be >= 1; cpu_threads and sub_batch >= 0)",
                    options->max_batch, options->slots, options->channels, options->height,
                    options->width, options->cpu_threads, options->sub_batch);
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
    torch->sub_batch = device.is_cuda() ? 0 : options->sub_batch; /* a GPU wants whole batches */
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
        if (options->optimize) {
            /* freeze turns weights and attributes into constants, which lets
             * optimize_for_inference fold and fuse them and, on the CPU, run
             * convolutions through oneDNN with weights packed once. Same
             * outputs within ~1e-3 (float reassociation); yolov5s at 512 on 2
             * loaded cores: 1.2-1.4x in inference alone, ~1.0x end to end,
             * ~30 MB less peak memory: not yet a default (bench/RESULTS.md). The
             * result cannot be saved and reloaded: it is redone at each open. */
            torch::jit::Module frozen = torch::jit::freeze(torch->module);
            torch->module = torch::jit::optimize_for_inference(frozen);
        }
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
            slot.on_device = std::make_unique<char[]>((size_t)options->max_batch);
            memset(slot.on_device.get(), 0, (size_t)options->max_batch);
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

/* ---- preprocessing on the device ------------------------------------------- */

/* The slot and frame position whose input starts at `input`; false if none. */
bool locate(const vs_torch *torch, const float *input, size_t *slot_index, int64_t *position)
{
    int64_t frame_floats = (int64_t)torch->channels * torch->height * torch->width;
    for (size_t i = 0; i < torch->slots.size(); i++) {
        const float *base = torch->slots[i].input_data;
        if (input < base || input >= base + frame_floats * torch->max_batch)
            continue;
        int64_t offset = input - base;
        if (offset % frame_floats != 0)
            return false;
        *slot_index = i;
        *position = offset / frame_floats;
        return true;
    }
    return false;
}

/* rows x cols samples of `channels` interleaved bytes, stride bytes a row, as
 * a [channels, rows, cols] float tensor on the model's device. */
at::Tensor plane(const vs_torch *torch, const vs_torch_picture *picture, int index, int rows,
                 int cols, int channels)
{
    at::Device where = picture->on_device ? torch->device : at::Device(at::kCPU);
    at::Tensor bytes = at::from_blob(const_cast<uint8_t *>(picture->planes[index]),
                                     {rows, cols, channels}, {picture->strides[index], channels, 1},
                                     at::TensorOptions().dtype(at::kByte).device(where));
    return bytes.to(torch->device).permute({2, 0, 1}).to(at::kFloat);
}

/* U and V as [2, (height+1)/2, (width+1)/2] floats on the device. */
at::Tensor chroma_planes(const vs_torch *torch, const vs_torch_picture *p)
{
    int chroma_w = (p->width + 1) / 2, chroma_h = (p->height + 1) / 2;
    if (p->layout == VS_TORCH_NV12)
        return plane(torch, p, 1, chroma_h, chroma_w, 2);
    return at::cat(
        {plane(torch, p, 1, chroma_h, chroma_w, 1), plane(torch, p, 2, chroma_h, chroma_w, 1)});
}

/* swscale's bilinear widens its triangle with the shrink factor, as
 * antialiased bilinear does; both sample at pixel centres. */
at::Tensor resize(const at::Tensor &planes, int64_t rows, int64_t cols)
{
    if (planes.size(1) == rows && planes.size(2) == cols)
        return planes;
    return at::_upsample_bilinear2d_aa(planes.unsqueeze(0), {rows, cols}, /*align_corners=*/false)
        .squeeze(0);
}

/* [3, rows, cols] RGB in 0..255 from luma [1, rows, cols] and chroma [2, rows, cols]. */
at::Tensor to_rgb(const vs_torch_picture *picture, const at::Tensor &luma, const at::Tensor &chroma)
{
    at::Tensor y = (luma[0] - picture->y_offset) * picture->y_gain;
    at::Tensor u = chroma[0] - 128.0f, v = chroma[1] - 128.0f;
    at::Tensor red = y + v * picture->v_to_r;
    at::Tensor green = y - u * picture->u_to_g - v * picture->v_to_g;
    at::Tensor blue = y + u * picture->u_to_b;
    return at::stack({red, green, blue}).clamp(0.0f, 255.0f);
}

/* TF's legacy sampling taps, computed as core/preprocess.c computes them (the
 * same float arithmetic), so both paths read the same source pixels. */
void legacy_taps(int in, int out, at::Device device, at::Tensor *lo, at::Tensor *hi,
                 at::Tensor *lerp)
{
    at::Tensor low = at::empty({out}, at::kLong), high = at::empty({out}, at::kLong);
    at::Tensor fraction = at::empty({out}, at::kFloat);
    int64_t *l = low.data_ptr<int64_t>(), *h = high.data_ptr<int64_t>();
    float *f = fraction.data_ptr<float>();
    float scale = (float)in / (float)out;
    for (int i = 0; i < out; i++) {
        float source = (float)i * scale;
        int floor_source = (int)source;
        l[i] = floor_source;
        h[i] = floor_source + 1 < in ? floor_source + 1 : in - 1;
        f[i] = source - (float)floor_source;
    }
    *lo = low.to(device);
    *hi = high.to(device);
    *lerp = fraction.to(device);
}

/* [3, in_h, in_w] in 0..1 from upright RGB [3, h, w] in 0..255, as TF's legacy bilinear. */
at::Tensor stretch_legacy(const at::Tensor &rgb, int in_h, int in_w)
{
    at::Tensor x0, x1, x_lerp, y0, y1, y_lerp;
    legacy_taps((int)rgb.size(2), in_w, rgb.device(), &x0, &x1, &x_lerp);
    legacy_taps((int)rgb.size(1), in_h, rgb.device(), &y0, &y1, &y_lerp);
    at::Tensor top = rgb.index_select(1, y0), bottom = rgb.index_select(1, y1);
    at::Tensor top_left = top.index_select(2, x0), top_right = top.index_select(2, x1);
    at::Tensor bottom_left = bottom.index_select(2, x0), bottom_right = bottom.index_select(2, x1);
    at::Tensor upper = top_left + (top_right - top_left) * x_lerp;
    at::Tensor lower = bottom_left + (bottom_right - bottom_left) * x_lerp;
    return (upper + (lower - upper) * y_lerp.unsqueeze(1)) / 255.0f;
}

int check_preprocess(const vs_torch *torch, const vs_torch_picture *p, const vs_torch_placement *at,
                     vs_error *err)
{
    const char *path = torch->model_path.c_str();
    if (torch->channels != 3)
        return fail(err, path, VS_EINVAL,
                    "preprocessing on the device needs 3 channels, "
                    "the model takes %d",
                    torch->channels);
    if (p->layout != VS_TORCH_YUV420P && p->layout != VS_TORCH_NV12 && p->layout != VS_TORCH_RGB24)
        return fail(err, path, VS_EINVAL, "picture layout %d is neither YUV 4:2:0 nor RGB24",
                    p->layout);
    int chroma_w = (p->width + 1) / 2;
    int chroma_stride = p->layout == VS_TORCH_NV12 ? 2 * chroma_w : chroma_w;
    bool rgb = p->layout == VS_TORCH_RGB24;
    if (p->width < 1 || p->height < 1 || !p->planes[0] ||
        p->strides[0] < (rgb ? 3 * p->width : p->width) ||
        (!rgb && (!p->planes[1] || p->strides[1] < chroma_stride)) ||
        (p->layout == VS_TORCH_YUV420P && (!p->planes[2] || p->strides[2] < chroma_stride)))
        return fail(err, path, VS_EINVAL, "bad %dx%d picture (planes or strides)", p->width,
                    p->height);
    if (p->on_device && !torch->device.is_cuda())
        return fail(err, path, VS_EINVAL, "a picture in GPU memory, but the model runs on %s",
                    torch->device_name.c_str());
    if (at->rotation != 0 && at->rotation != 90 && at->rotation != 180 && at->rotation != 270)
        return fail(err, path, VS_EINVAL, "rotation %d is not a quarter turn", at->rotation);
    if (!at->stretch_legacy &&
        (at->resized_w < 1 || at->resized_h < 1 || at->pad_x < 0 || at->pad_y < 0 ||
         at->pad_x + at->resized_w > torch->width || at->pad_y + at->resized_h > torch->height))
        return fail(err, path, VS_EINVAL, "%dx%d at (%d, %d) does not fit the %dx%d input",
                    at->resized_w, at->resized_h, at->pad_x, at->pad_y, torch->width,
                    torch->height);
    return VS_OK;
}

/* The frame itself; out is [3, H, W] of the slot's input, host or device. */
void preprocess_into(const vs_torch *torch, const vs_torch_picture *p, const vs_torch_placement *at,
                     at::Tensor out)
{
    bool quarter = at->rotation == 90 || at->rotation == 270;
    int64_t rows = quarter ? at->resized_w : at->resized_h;
    int64_t cols = quarter ? at->resized_h : at->resized_w;
    at::Tensor rgb01;
    if (p->layout == VS_TORCH_RGB24) {
        at::Tensor rgb = plane(torch, p, 0, p->height, p->width, 3);
        if (at->stretch_legacy && at->rotation)
            rgb = rgb.rot90(-at->rotation / 90, {1, 2});
        rgb01 = at->stretch_legacy ? stretch_legacy(rgb, torch->height, torch->width)
                                   : resize(rgb, rows, cols) / 255.0f;
    } else if (at->stretch_legacy) {
        /* RGB at the source size in whole levels, turned upright, then TF's
         * taps, as the C path; but the chroma is upsampled centre-sited
         * here, which swscale's RGB24 conversion does vertically in its own
         * way (test_preprocess_torch measures the difference). */
        at::Tensor luma = plane(torch, p, 0, p->height, p->width, 1);
        at::Tensor rgb = to_rgb(p, luma, resize(chroma_planes(torch, p), p->height, p->width));
        rgb = rgb.round();
        if (at->rotation)
            rgb = rgb.rot90(-at->rotation / 90, {1, 2});
        rgb01 = stretch_legacy(rgb, torch->height, torch->width);
    } else {
        /* As swscale: luma and chroma resized each from its own size, then
         * converted; turned upright after, at the (small) resized size. */
        at::Tensor luma = plane(torch, p, 0, p->height, p->width, 1);
        at::Tensor chroma = chroma_planes(torch, p);
        rgb01 = to_rgb(p, resize(luma, rows, cols), resize(chroma, rows, cols)) / 255.0f;
        if (at->rotation)
            rgb01 = rgb01.rot90(-at->rotation / 90, {1, 2});
        if (at->pad_value >= 0)
            for (int c = 0; c < 3; c++)
                out[c].fill_(at->pad_value * at->gain[c] + at->bias[c]);
        out = out.narrow(1, at->pad_y, at->resized_h).narrow(2, at->pad_x, at->resized_w);
    }
    for (int c = 0; c < 3; c++) {
        int source = at->bgr ? 2 - c : c;
        out[c].copy_(rgb01[source] * at->gain[c] + at->bias[c]);
    }
}

int preprocess(vs_torch *torch, float *input, const vs_torch_picture *picture,
               const vs_torch_placement *placement, vs_error *err)
{
    const char *path = torch->model_path.c_str();
    size_t slot_index;
    int64_t position;
    if (!locate(torch, input, &slot_index, &position))
        return fail(err, path, VS_EINVAL,
                    "vs_torch_preprocess: the input is no frame of a slot's input buffer");
    int status = check_preprocess(torch, picture, placement, err);
    if (status != VS_OK)
        return status;
    Slot &slot = torch->slots[slot_index];
    if (slot.frames_in_flight)
        return fail(err, path, VS_EINVAL, "slot %zu is submitted; wait for it first", slot_index);
    c10::InferenceMode inference;
#ifdef VS_WITH_CUDA
    if (torch->device.is_cuda()) {
        c10::cuda::CUDAGuard on_device(torch->device);
        c10::cuda::CUDAStreamGuard on_slot_stream(*slot.stream);
        c10::cuda::CUDAStream decoder_stream =
            c10::cuda::getDefaultCUDAStream(torch->device.index());
        if (picture->on_device) {
            /* NVDEC copies a picture out on the default stream: read it after that. */
            at::cuda::CUDAEvent decoded;
            decoded.record(decoder_stream);
            decoded.block(*slot.stream);
        }
        {
            /* Made at the slot's first frame preprocessed on the device, so
             * that a run preprocessing on the host keeps no copy of every slot
             * on the GPU; several workers may get here for one slot at once. */
            std::lock_guard<std::mutex> hold(torch->device_input_lock);
            if (!slot.device_input.defined())
                slot.device_input =
                    at::empty({torch->max_batch, torch->channels, torch->height, torch->width},
                              at::TensorOptions().dtype(at::kFloat).device(torch->device));
        }
        preprocess_into(torch, picture, placement, slot.device_input[position]);
        slot.on_device[position] = 1;
        if (picture->on_device) {
            /* The decoder reuses the picture's memory once it is released:
             * its next writes, on the default stream, wait for these reads. */
            at::cuda::CUDAEvent read;
            read.record(*slot.stream);
            read.block(decoder_stream);
        }
        return VS_OK;
    }
#endif
    preprocess_into(torch, picture, placement, slot.input[position]);
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

int vs_torch_preprocess(vs_torch *torch, float *input, const vs_torch_picture *picture,
                        const vs_torch_placement *placement, vs_error *err)
{
    if (!torch)
        return fail(err, nullptr, VS_EINVAL, "vs_torch_preprocess: no model");
    const char *path = torch->model_path.c_str();
    if (!input || !picture || !placement)
        return fail(err, path, VS_EINVAL,
                    "vs_torch_preprocess: no input, picture or "
                    "placement");
    return guarded(path, err, [&] { return preprocess(torch, input, picture, placement, err); });
}

int vs_torch_read_input(vs_torch *torch, const float *input, float *out, vs_error *err)
{
    if (!torch)
        return fail(err, nullptr, VS_EINVAL, "vs_torch_read_input: no model");
    const char *path = torch->model_path.c_str();
    size_t slot_index;
    int64_t position;
    if (!input || !out || !locate(torch, input, &slot_index, &position))
        return fail(err, path, VS_EINVAL,
                    "vs_torch_read_input: the input is no frame of a slot's input buffer");
    return guarded(path, err, [&] {
        Slot &slot = torch->slots[slot_index];
        at::Tensor host = at::from_blob(out, {torch->channels, torch->height, torch->width},
                                        at::TensorOptions().dtype(at::kFloat));
#ifdef VS_WITH_CUDA
        if (slot.on_device && slot.on_device[position]) {
            c10::cuda::CUDAStreamGuard on_slot_stream(*slot.stream);
            host.copy_(slot.device_input[position]); /* synchronous: waits for the stream */
            return VS_OK;
        }
#endif
        host.copy_(slot.input[position]);
        return VS_OK;
    });
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
