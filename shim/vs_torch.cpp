// Placeholder: the real shim is being written.
#include "vs_torch.h"
#include <cstdio>
extern "C" {
int vs_torch_open(vs_torch **out, const vs_torch_options *, char *err, size_t errlen)
{ *out = nullptr; snprintf(err, errlen, "shim not implemented"); return -4; }
void vs_torch_close(vs_torch *) {}
float *vs_torch_input(vs_torch *, int) { return nullptr; }
int vs_torch_submit(vs_torch *, int, int, char *, size_t) { return -4; }
int vs_torch_wait(vs_torch *, int, vs_torch_output *, int *, char *, size_t) { return -4; }
const char *vs_torch_device_name(const vs_torch *) { return "none"; }
int vs_torch_is_cuda(const vs_torch *) { return 0; }
void vs_torch_memory_stats(vs_torch *, vs_torch_memory *m) { *m = vs_torch_memory{}; }
const char *vs_torch_version(void) { return "?"; }
int vs_torch_cuda_available(void) { return 0; }
}
