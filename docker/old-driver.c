/* An NVIDIA driver too old for the image, without a GPU: preloaded over the no-op driver of
 * native-tests/null-cuda, it reports CUDA 12.2 (driver r535) and refuses PTX as a real r535 driver refuses
 * the image's PTX from nvcc 12.4. With OLD_DRIVER_CUINIT=CODE, cuInit fails with that CUDA error code
 * instead (803: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, a driver updated without a reboot). docker/test.sh runs the image's jar on it, to show what a
 * user of such a host reads. */
#include <stdlib.h>

enum { CUDA_VERSION_OF_R535 = 12020, CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222 };

int cuInit(unsigned flags) {
    const char *code = getenv("OLD_DRIVER_CUINIT");
    return code ? atoi(code) : 0;
}
int cuDriverGetVersion(int *version) { *version = CUDA_VERSION_OF_R535; return 0; }
int cuModuleLoadData(void **module, const void *image) { return CUDA_ERROR_UNSUPPORTED_PTX_VERSION; }
int cuModuleLoadDataEx(void **module, const void *image, unsigned n, void *options, void *values) {
    return CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
}
