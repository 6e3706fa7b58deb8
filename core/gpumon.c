/* gpumon.c: NVML through dlopen; see gpumon.h. Declares the handful of NVML
 * entry points it uses itself, so building needs no NVIDIA header. */
#include "gpumon.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct nvml_utilization {
    unsigned int gpu, memory;
} nvml_utilization;
typedef struct nvml_memory {
    unsigned long long total, free, used;
} nvml_memory;
typedef void *nvml_device;

struct vs_gpumon {
    void *library;
    nvml_device device;
    int (*shutdown)(void);
    int (*utilization)(nvml_device, nvml_utilization *);
    int (*memory)(nvml_device, nvml_memory *);
    char name[96];
};

int vs_gpumon_open(vs_gpumon **out, int device_index, vs_error *err)
{
    *out = NULL;
    void *library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library)
        return vs_fail(err, VS_EINVAL, "NVML not available (libnvidia-ml.so.1 not found)");
    vs_gpumon *monitor = calloc(1, sizeof *monitor);
    if (!monitor) {
        dlclose(library);
        return vs_fail(err, VS_ENOMEM, "out of memory");
    }
    monitor->library = library;
    int (*init)(void) = (int (*)(void))dlsym(library, "nvmlInit_v2");
    int (*by_index)(unsigned, nvml_device *) =
        (int (*)(unsigned, nvml_device *))dlsym(library, "nvmlDeviceGetHandleByIndex_v2");
    int (*get_name)(nvml_device, char *, unsigned) =
        (int (*)(nvml_device, char *, unsigned))dlsym(library, "nvmlDeviceGetName");
    monitor->shutdown = (int (*)(void))dlsym(library, "nvmlShutdown");
    monitor->utilization =
        (int (*)(nvml_device, nvml_utilization *))dlsym(library, "nvmlDeviceGetUtilizationRates");
    monitor->memory =
        (int (*)(nvml_device, nvml_memory *))dlsym(library, "nvmlDeviceGetMemoryInfo");
    if (!init || !by_index || !monitor->shutdown || !monitor->utilization || !monitor->memory ||
        init() != 0) {
        dlclose(library);
        free(monitor);
        return vs_fail(err, VS_EINVAL, "NVML present but not usable");
    }
    if (by_index((unsigned)device_index, &monitor->device) != 0) {
        monitor->shutdown();
        dlclose(library);
        free(monitor);
        return vs_fail(err, VS_EINVAL, "NVML: no GPU %d", device_index);
    }
    if (!get_name || get_name(monitor->device, monitor->name, sizeof monitor->name) != 0)
        strcpy(monitor->name, "GPU");
    *out = monitor;
    return VS_OK;
}

int vs_gpumon_sample(vs_gpumon *monitor, vs_gpu_sample *sample)
{
    memset(sample, 0, sizeof *sample);
    nvml_utilization utilization;
    nvml_memory memory;
    if (monitor->utilization(monitor->device, &utilization) != 0 ||
        monitor->memory(monitor->device, &memory) != 0)
        return VS_EIO;
    sample->utilization_percent = (int)utilization.gpu;
    sample->memory_used_bytes = (int64_t)memory.used;
    sample->memory_total_bytes = (int64_t)memory.total;
    return VS_OK;
}

const char *vs_gpumon_name(vs_gpumon *monitor)
{
    return monitor->name;
}

void vs_gpumon_close(vs_gpumon *monitor)
{
    if (!monitor)
        return;
    monitor->shutdown();
    dlclose(monitor->library);
    free(monitor);
}
