/* vs_torch.h: the C API over libtorch. The only door to C++ in vidsift.
 *
 * A vs_torch owns one TorchScript model on one device and a fixed set of
 * input buffers ("slots"), each big enough for max_batch frames. The C
 * pipeline preprocesses frames straight into a slot's input buffer, then
 * submits the slot; outputs come back in host memory owned by the same slot.
 *
 * Memory: on CUDA the input buffers are page-locked so the host-to-device
 * copy is asynchronous; outputs are copied into per-slot host buffers.
 * Nothing is allocated per batch on the host side after the first batch.
 *
 * Concurrency: one vs_torch may be used from several threads only as
 * follows: vs_torch_input() may be called from any thread at any time (it is
 * a pure lookup); submit/wait for a given slot must not race with each other
 * and a slot's buffers must not be touched between submit and wait. In the
 * pipeline a single inference thread calls submit/wait, which keeps at most
 * two slots in flight (double buffering).
 *
 * Errors: as everywhere in vidsift (vs_error.h), every call returns VS_OK (0)
 * or a negative status and writes a one-line message naming the model file
 * into *err (err may be NULL); no C++ exception crosses the API. */
#ifndef VS_TORCH_H
#define VS_TORCH_H

#include <stddef.h>
#include <stdint.h>

#include "vs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_TORCH_MAX_OUTPUTS 4

typedef struct vs_torch vs_torch;

typedef struct vs_torch_options {
    const char *model_path;      /* TorchScript file */
    const char *device;          /* "auto" (CUDA if present, else CPU), "cpu", "cuda", "cuda:N" */
    int half;                    /* run in FP16 (CUDA only; refused on CPU) */
    int max_batch;               /* frames per slot, >= 1 */
    int slots;                   /* input/output buffer sets, >= 1 (2+ for double buffering) */
    int channels, height, width; /* input of one frame, NCHW float32 */
    int cpu_threads;             /* intra-op threads on CPU; 0 = libtorch default */
    int warmup;                  /* run one batch of zeros at open (validates shapes) */
    int optimize;                /* freeze + optimize_for_inference at open (see vs_torch.cpp) */
    int sub_batch;               /* CPU: frames per forward pass, the slot's batch run in
                                  * turn; 0 = the whole batch at once (see vs_torch.cpp) */
} vs_torch_options;

typedef struct vs_torch_output {
    const float *data; /* host memory, float32, valid until the slot is submitted again */
    int ndim;
    int64_t shape[4]; /* shape[0] is the batch size of the run */
} vs_torch_output;

typedef struct vs_torch_memory {
    int64_t cuda_allocated;      /* bytes in use by libtorch's CUDA allocator, 0 on CPU */
    int64_t cuda_peak_allocated; /* peak since open */
    int64_t cuda_reserved;
} vs_torch_memory;

int vs_torch_open(vs_torch **out, const vs_torch_options *options, vs_error *err);
void vs_torch_close(vs_torch *torch);

/* Input buffer of a slot: max_batch * channels * height * width floats, NCHW. */
float *vs_torch_input(vs_torch *torch, int slot);

/* Starts inference on the first `frames` frames of a slot's input. On CUDA this
 * returns once the work is queued; on CPU it runs to completion. */
int vs_torch_submit(vs_torch *torch, int slot, int frames, vs_error *err);

/* Waits for a submitted slot and fills outputs (at most VS_TORCH_MAX_OUTPUTS). */
int vs_torch_wait(vs_torch *torch, int slot, vs_torch_output *outputs, int *output_count,
                  vs_error *err);

/* Output shapes seen by the warmup batch, with shape[0] = max_batch, so a
 * caller can check them against what it expects before the first frame.
 * Returns the output count (0 when opened without warmup). */
int vs_torch_output_shapes(const vs_torch *torch, vs_torch_output *outputs, int max_outputs);

/* ---- preprocessing on the model's device -------------------------------------
 *
 * Turns one 8-bit YUV 4:2:0 picture into one frame of a slot's input with
 * torch operations on the model's device: upload (or, for a hardware-decoded
 * picture, read in place), colour conversion, resize, letterbox or stretch,
 * normalisation. On CUDA the result stays on the device, in the slot's
 * device input, and vs_torch_submit uses it there: no host round trip. On CPU
 * it writes the slot's host input, which is what the tests compare with the
 * C path (core/preprocess.c).
 *
 * YUV planes, not RGB: they are what the decoder gives (no conversion on the
 * CPU at all, half the bytes of RGB24 to upload), and what NVDEC leaves on
 * the GPU. Other layouts (4:4:4, 10-bit, RGB sources) stay on the C path.
 * Packed RGB24 is taken too: for stretch models the C path converts host
 * pictures to RGB with swscale at the source size first (its chroma
 * upsampling there is its own), and the device does the costly part, the
 * resize and normalisation, with the same values. */
enum { VS_TORCH_YUV420P = 1, VS_TORCH_NV12 = 2, VS_TORCH_RGB24 = 3 };

typedef struct vs_torch_picture {
    int layout;        /* VS_TORCH_YUV420P (Y, U, V planes), VS_TORCH_NV12 (Y, UV interleaved)
                          or VS_TORCH_RGB24 (one packed plane; no conversion) */
    int on_device;     /* planes are CUDA memory of the model's device (NVDEC), else host */
    int width, height; /* of the luma plane, as coded */
    const uint8_t *planes[3];
    int strides[3]; /* bytes per row of each plane */
    /* YUV to RGB in 0..255 (swscale's matrix and range for the picture):
     * y = (Y - y_offset) * y_gain, u = U - 128, v = V - 128,
     * R = y + v_to_r v, G = y - u_to_g u - v_to_g v, B = y + u_to_b u. */
    float y_offset, y_gain, v_to_r, u_to_g, v_to_g, u_to_b;
} vs_torch_picture;

typedef struct vs_torch_placement {
    int rotation;             /* clockwise quarter turn a player applies: 0, 90, 180, 270 */
    int stretch_legacy;       /* 1: the upright picture onto the whole input with TF's legacy
                                 bilinear (no half-pixel shift); 0: letterbox as below */
    int resized_w, resized_h; /* letterbox: the upright picture resized to this... */
    int pad_x, pad_y;         /* ...at this offset of the input */
    float pad_value;          /* 0..1 value of the rest before normalising; < 0: left as is */
    int bgr;                  /* tensor channel 0 is blue */
    float gain[3], bias[3];   /* per tensor channel: value = (0..1 value) * gain + bias */
} vs_torch_placement;

/* input: one frame position of a slot's input buffer, vs_torch_input(slot) +
 * k * channels * height * width (the pointer names slot and position; on CUDA
 * nothing is written there). Several threads may fill different positions of
 * the same slot at once; not while the slot is submitted. A position filled on
 * the host instead (by the C path) is uploaded by submit as before. */
int vs_torch_preprocess(vs_torch *torch, float *input, const vs_torch_picture *picture,
                        const vs_torch_placement *placement, vs_error *err);

/* Copies one frame of a slot's input (input as above) into out (channels *
 * height * width floats, host memory) as the next submit hands it to the
 * model: from the device when vs_torch_preprocess left it there. Waits for
 * the work queued on the slot. For tests: what the GPU path computed. */
int vs_torch_read_input(vs_torch *torch, const float *input, float *out, vs_error *err);

const char *vs_torch_device_name(const vs_torch *torch); /* e.g. "cpu" or "cuda:0 (NVIDIA H100)" */
int vs_torch_is_cuda(const vs_torch *torch);
void vs_torch_memory_stats(vs_torch *torch, vs_torch_memory *memory);
const char *vs_torch_version(void); /* libtorch version string */
int vs_torch_cuda_available(void);

#ifdef __cplusplus
}
#endif
#endif
