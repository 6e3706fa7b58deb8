/* gpumon.h: GPU utilisation and memory through NVML, loaded with dlopen so
 * that a CPU build has no NVIDIA dependency. Absent NVML is not an error:
 * vs_gpumon_open says so in its message and the report prints "no GPU". */
#ifndef VS_GPUMON_H
#define VS_GPUMON_H

#include <stdint.h>

#include "vs_error.h"

typedef struct vs_gpumon vs_gpumon;

typedef struct vs_gpu_sample {
    int utilization_percent; /* busy fraction of the last sampling period */
    int64_t memory_used_bytes, memory_total_bytes;
} vs_gpu_sample;

int vs_gpumon_open(vs_gpumon **out, int device_index, vs_error *err);
int vs_gpumon_sample(vs_gpumon *monitor, vs_gpu_sample *sample);
const char *vs_gpumon_name(vs_gpumon *monitor);
void vs_gpumon_close(vs_gpumon *monitor);

#endif
