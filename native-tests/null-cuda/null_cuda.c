/* A no-op CUDA driver (libcuda.so.1) and cuBLAS (libcublas.so.12) for JCuda 12.x: every entry point
 * returns success at once, handles are distinct non-null values, device memory is fake addresses.
 * Loading the GPU path of a Java program on it measures that path's HOST cost alone (JNI, argument
 * marshalling, Java work per step), without a GPU. It counts what was called and prints the totals at
 * exit (GEMMs included: libcublas.so.12 reports its calls to libcuda.so.1, which it links).
 *
 * With NULL_CUDA_TRACE=FILE it also appends to FILE one line per blocking call (a synchronisation or a
 * copy to the host: the points where a training loop waits for the device; an asynchronous copy to the
 * host is traced too, and the wait for it follows as a sync line), so a script can take the
 * counters and the host time between two such points, e.g. between two log lines of a training run:
 *   sync|d2h <monotonic ns> <launches> <graph launches> <gemms> <syncs> <d2h copies> <h2d copies> <memsets> <thread cpu ns>
 * (the last: CPU time of the calling thread, which on a loaded machine is steadier than the wall time)
 * and at exit one line per kernel:  kernel <name> <launches>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <time.h>

typedef unsigned long long CUdeviceptr;

#ifdef NULL_CUDA_DRIVER
static unsigned long long next_addr = 0x100000000ULL, next_handle = 0x1000;
static unsigned long long n_launch, n_graph_launch, n_memset, n_h2d, n_d2h, n_sync, n_capture, n_gemm, n_bad_params;
static void *handle(void) { next_handle += 0x10; return (void *)next_handle; }

/* A function handle is its entry here, so a launch counts per kernel at no cost. */
#define MAX_FUNCTIONS 256
struct function { char name[120]; unsigned long long launches; int first_is_pointer; };
static struct function functions[MAX_FUNCTIONS];
static int n_functions;
static struct function overflow = {"(more functions than null-cuda tracks)", 0};

static FILE *trace_file(void) {
    static int opened; static FILE *f;
    if (!opened) { const char *p = getenv("NULL_CUDA_TRACE"); opened = 1; f = p && *p ? fopen(p, "a") : NULL; }
    return f;
}
static void trace(const char *event) {
    FILE *f = trace_file(); struct timespec ts, cpu;
    if (!f) return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    fprintf(f, "%s %lld %llu %llu %llu %llu %llu %llu %llu %lld\n", event, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
            n_launch, n_graph_launch, n_gemm, n_sync, n_d2h, n_h2d, n_memset,
            (long long)cpu.tv_sec * 1000000000LL + cpu.tv_nsec);
}
/* Called by the null libcublas.so.12 for every GEMM. */
void null_cuda_count_gemm(void) { n_gemm++; }

int cuInit(unsigned f) { return 0; }
int cuDeviceGetCount(int *c) { *c = 1; return 0; }
int cuDeviceGet(int *d, int o) { *d = 0; return 0; }
int cuDevicePrimaryCtxRetain(void **c, int d) { *c = handle(); return 0; }
int cuCtxCreate_v2(void **c, unsigned f, int d) { *c = handle(); return 0; }
int cuDeviceGetName(char *n, int l, int d) { strncpy(n, "null-cuda (no GPU: host cost only)", l); return 0; }
int cuDeviceGetAttribute(int *v, int a, int d) {
    /* 75/76: compute capability major/minor; 1..10: block/grid limits; 16: SM count; else a large limit */
    switch (a) { case 75: *v = 9; break; case 76: *v = 0; break; case 16: *v = 132; break;
                 case 1: *v = 1024; break; case 2: case 3: *v = 1024; break; case 4: *v = 64; break;
                 case 5: *v = 2147483647; break; case 6: case 7: *v = 65535; break;
                 case 8: *v = 49152; break; case 10: *v = 32; break; default: *v = 65536; }
    return 0; }
int cuDeviceTotalMem_v2(size_t *b, int d) { *b = 80ULL << 30; return 0; }
int cuMemGetInfo_v2(size_t *f, size_t *t) { *f = 79ULL << 30; *t = 80ULL << 30; return 0; }
int cuDriverGetVersion(int *v) { *v = 12060; return 0; }
int cuModuleLoadData(void **m, const void *p) { *m = handle(); return 0; }
int cuModuleLoadDataEx(void **m, const void *p, unsigned n, void *o, void *v) { *m = handle(); return 0; }
int cuModuleLoadFatBinary(void **m, const void *p) { *m = handle(); return 0; }
int cuModuleGetFunction(void **f, void *m, const char *n) {
    if (n_functions == MAX_FUNCTIONS) { *f = &overflow; return 0; }
    struct function *fn = &functions[n_functions++];
    strncpy(fn->name, n, sizeof fn->name - 1);
    fn->first_is_pointer = strcmp(n, "sgemm") != 0; /* gpu-lenet's kernels take a device pointer first, but sgemm */
    *f = fn; return 0; }
/* What a launch can check without knowing the kernel's signature: that kernelParams came through, and that
 * the first argument of a kernel that takes a pointer first is an address this driver handed out. */
static void check_params(struct function *fn, void **params) {
    if (!params || !params[0]) { n_bad_params++; return; }
    if (fn && fn->first_is_pointer) {
        CUdeviceptr p = *(CUdeviceptr *)params[0];
        if (p < 0x100000000ULL || p >= next_addr) n_bad_params++;
    }
}
int cuMemAlloc_v2(CUdeviceptr *p, size_t b) { *p = next_addr; next_addr += (b + 255) & ~255ULL; return 0; }
int cuMemAllocHost_v2(void **p, size_t b) { *p = calloc(1, b ? b : 1); return 0; }
int cuMemHostAlloc(void **p, size_t b, unsigned f) { *p = calloc(1, b ? b : 1); return 0; }
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemsetD8_v2(CUdeviceptr p, unsigned char v, size_t n) { n_memset++; return 0; }
int cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, void *s) { n_memset++; return 0; }
int cuMemsetD32_v2(CUdeviceptr p, unsigned v, size_t n) { n_memset++; return 0; }
int cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, void *s) { n_memset++; return 0; }
int cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) { n_h2d++; return 0; }
int cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, void *st) { n_h2d++; return 0; }
int cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) { n_d2h++; memset(d, 0, n); trace("d2h"); return 0; }
int cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, void *st) { n_d2h++; memset(d, 0, n); trace("d2h"); return 0; }
int cuCtxSynchronize(void) { n_sync++; trace("sync"); return 0; }
int cuStreamSynchronize(void *s) { n_sync++; trace("sync"); return 0; }
int cuEventSynchronize(void *e) { n_sync++; trace("sync"); return 0; }
int cuStreamCreate(void **s, unsigned f) { *s = handle(); return 0; }
int cuStreamCreateWithPriority(void **s, unsigned f, int p) { *s = handle(); return 0; }
int cuEventCreate(void **e, unsigned f) { *e = handle(); return 0; }
int cuEventElapsedTime(float *ms, void *a, void *b) { *ms = 0.0f; return 0; }
int cuStreamBeginCapture_v2(void *s, int mode) { n_capture++; return 0; }
int cuStreamEndCapture(void *s, void **g) { *g = handle(); return 0; }
int cuStreamIsCapturing(void *s, int *st) { *st = 0; return 0; }
int cuGraphCreate(void **g, unsigned f) { *g = handle(); return 0; }
int cuGraphInstantiateWithFlags(void **e, void *g, unsigned long long f) { *e = handle(); return 0; }
int cuGraphAddKernelNode_v2(void **n, void *g, void *d, size_t nd, void *p) { *n = handle(); return 0; }
int cuGraphAddMemsetNode(void **n, void *g, void *d, size_t nd, void *p, void *c) { *n = handle(); return 0; }
int cuGraphAddMemcpyNode(void **n, void *g, void *d, size_t nd, void *p, void *c) { *n = handle(); return 0; }
int cuGraphLaunch(void *e, void *s) { n_graph_launch++; return 0; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned sh, void *st, void **params, void **extra) {
    n_launch++; if (f) ((struct function *)f)->launches++; check_params(f, params); return 0; }
int cuLaunchCooperativeKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                              unsigned bz, unsigned sh, void *st, void **params) {
    n_launch++; if (f) ((struct function *)f)->launches++; check_params(f, params); return 0; }
int cuGetErrorName(int e, const char **s) { *s = "CUDA_ERROR_NULL_DRIVER"; return 0; }
int cuGetErrorString(int e, const char **s) { *s = "null-cuda"; return 0; }
__attribute__((destructor)) static void report(void) {
    FILE *f = trace_file();
    fprintf(stderr, "null-cuda: kernel launches %llu, graph launches %llu, captures %llu, memsets %llu, "
            "host-to-device copies %llu, device-to-host copies %llu, synchronisations %llu, cuBLAS GEMMs %llu%s\n",
            n_launch, n_graph_launch, n_capture, n_memset, n_h2d, n_d2h, n_sync, n_gemm,
            n_bad_params ? "" : "; kernel arguments: every launch passed a parameter table");
    if (n_bad_params)
        fprintf(stderr, "null-cuda: %llu launches passed no parameter table or a first argument that is not a device "
                "address this driver allocated\n", n_bad_params);
    if (f) {
        for (int i = 0; i < n_functions; i++) fprintf(f, "kernel %s %llu\n", functions[i].name, functions[i].launches);
        if (overflow.launches) fprintf(f, "kernel (untracked) %llu\n", overflow.launches);
        fclose(f);
    }
}
#endif

#ifdef NULL_CUDA_CUBLAS
static unsigned long long next_handle = 0x900000;
static void *handle(void) { next_handle += 0x10; return (void *)next_handle; }
void null_cuda_count_gemm(void); /* in libcuda.so.1, which this library links */
int cublasCreate_v2(void **h) { *h = handle(); return 0; }
int cublasGetVersion_v2(void *h, int *v) { *v = 120601; return 0; }
int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *a, const float *A, int lda,
                   const float *B, int ldb, const float *b, float *C, int ldc) { null_cuda_count_gemm(); return 0; }
int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *a, const float *A,
                              int lda, long long sa, const float *B, int ldb, long long sb, const float *b,
                              float *C, int ldc, long long sc, int count) { null_cuda_count_gemm(); return 0; }
#endif

#ifdef NULL_CUDA_CUDNN
/* cuDNN 9 as JCudnn's natives call it: version 9.5.0, fake handles and descriptors, no algorithm ranking (the
 * caller then takes its deterministic default) and 0-byte workspaces; the computing calls are counted. */
static unsigned long long next_handle = 0xd00000, n_cudnn;
static int handle(void **h) { next_handle += 0x10; *h = (void *)next_handle; return 0; }
size_t cudnnGetVersion(void) { return 90500; }
const char *cudnnGetErrorString(int status) { return "null-cuda: no-op cuDNN"; }
int cudnnCreate(void **h) { return handle(h); }
int cudnnCreateTensorDescriptor(void **d) { return handle(d); }
int cudnnCreateFilterDescriptor(void **d) { return handle(d); }
int cudnnCreateConvolutionDescriptor(void **d) { return handle(d); }
int cudnnCreatePoolingDescriptor(void **d) { return handle(d); }
int cudnnCreateActivationDescriptor(void **d) { return handle(d); }
int cudnnGetConvolutionForwardAlgorithm_v7(void *h, void *a, void *b, void *c, void *d, int n, int *got, void *p) {
    *got = 0; return 0; }
int cudnnGetConvolutionBackwardDataAlgorithm_v7(void *h, void *a, void *b, void *c, void *d, int n, int *got, void *p) {
    *got = 0; return 0; }
int cudnnGetConvolutionBackwardFilterAlgorithm_v7(void *h, void *a, void *b, void *c, void *d, int n, int *got, void *p) {
    *got = 0; return 0; }
int cudnnGetConvolutionForwardWorkspaceSize(void *h, void *a, void *b, void *c, void *d, int algo, size_t *s) {
    *s = 0; return 0; }
int cudnnGetConvolutionBackwardDataWorkspaceSize(void *h, void *a, void *b, void *c, void *d, int algo, size_t *s) {
    *s = 0; return 0; }
int cudnnGetConvolutionBackwardFilterWorkspaceSize(void *h, void *a, void *b, void *c, void *d, int algo, size_t *s) {
    *s = 0; return 0; }
int cudnnConvolutionForward(void) { n_cudnn++; return 0; }
int cudnnConvolutionBackwardData(void) { n_cudnn++; return 0; }
int cudnnConvolutionBackwardFilter(void) { n_cudnn++; return 0; }
int cudnnConvolutionBackwardBias(void) { n_cudnn++; return 0; }
int cudnnAddTensor(void) { n_cudnn++; return 0; }
int cudnnPoolingForward(void) { n_cudnn++; return 0; }
int cudnnPoolingBackward(void) { n_cudnn++; return 0; }
int cudnnActivationForward(void) { n_cudnn++; return 0; }
int cudnnActivationBackward(void) { n_cudnn++; return 0; }
__attribute__((destructor)) static void report_cudnn(void) {
    if (n_cudnn) fprintf(stderr, "null-cuda: cuDNN calls %llu\n", n_cudnn); }
#endif
