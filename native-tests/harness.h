// What every kernel test needs, in both builds: device buffers, launching, comparing against the
// C++ reference with abs + rel*|ref| tolerances, and (GPU build only) timing with CUDA events.
// Built by nvcc the kernels run on the GPU; built by g++ they run on the fiber emulation in emu/.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#else
#include "emu/cuda_emu.h"
#endif

namespace harness {

// Large, timing-only cases run on the GPU build; the emulation checks logic on the small ones.
#ifdef __CUDACC__
constexpr bool kOnGpu = true;
#else
constexpr bool kOnGpu = false;
#endif

inline unsigned blocks_for(long n, unsigned threads) { return (unsigned)((n + threads - 1) / threads); }

#ifdef __CUDACC__
inline void check_cuda(const char* what, cudaError_t e)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
        exit(2);
    }
}
#endif

// Fixed-seed pseudo-random numbers (xorshift), so every run tests the same inputs.
struct Random {
    uint64_t s;
    explicit Random(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return (uint32_t)(s >> 16);
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next() % 1000001) / 1000000.0f; }
    std::vector<float> floats(size_t n, float lo, float hi)
    {
        std::vector<float> v(n);
        for (float& f : v) f = uniform(lo, hi);
        return v;
    }
};

template <typename T>
struct DeviceBuffer {
    T* ptr = nullptr;
    size_t n;
    explicit DeviceBuffer(size_t count) : n(count)
    {
#ifdef __CUDACC__
        check_cuda("cudaMalloc", cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T)));
#else
        ptr = static_cast<T*>(malloc(std::max<size_t>(n, 1) * sizeof(T)));
#endif
    }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer()
    {
#ifdef __CUDACC__
        cudaFree(ptr);
#else
        free(ptr);
#endif
    }
    void upload(const std::vector<T>& host)
    {
#ifdef __CUDACC__
        check_cuda("upload", cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
#else
        memcpy(ptr, host.data(), n * sizeof(T));
#endif
    }
    std::vector<T> download() const
    {
        std::vector<T> host(n);
#ifdef __CUDACC__
        check_cuda("download", cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
#else
        memcpy(host.data(), ptr, n * sizeof(T));
#endif
        return host;
    }
};

inline void check_launch(const char* kernel, int failed, const char* message)
{
    if (failed) {
        fprintf(stderr, "launch of %s failed: %s\n", kernel, message);
        exit(2);
    }
}

#ifndef __CUDACC__
inline void run_emulated(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& body)
{
    int failed = emu::launch(grid, block, body);
    check_launch(kernel, failed, emu::last_error());
}
#endif

// Times launch() with CUDA events: median over repeats, printed as amount/second in `unit`.
template <typename Launch>
void time_kernel(const std::string& label, double amount, const char* unit, Launch launch)
{
#ifdef __CUDACC__
    const int repeats = 21;
    launch();
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    std::vector<float> ms(repeats);
    for (int i = 0; i < repeats; i++) {
        cudaEventRecord(start);
        launch();
        cudaEventRecord(stop);
        check_cuda(label.c_str(), cudaEventSynchronize(stop));
        cudaEventElapsedTime(&ms[i], start, stop);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(ms.begin(), ms.end());
    double median_s = ms[repeats / 2] * 1e-3;
    printf("  [time] %-48s %9.2f us  %9.2f %s\n", label.c_str(), median_s * 1e6, amount / median_s / 1e9, unit);
#else
    (void)label, (void)amount, (void)unit, (void)launch;
#endif
}

// Collects comparison results; finish() gives the process exit code.
struct Checker {
    int failures = 0;

    void compare(const std::string& name, const std::vector<float>& got, const std::vector<double>& ref,
                 double abs_tol, double rel_tol)
    {
        double worst = 0, worst_excess = -1;
        size_t at = 0;
        bool ok = got.size() == ref.size();
        for (size_t i = 0; ok && i < got.size(); i++) {
            double err = std::fabs((double)got[i] - ref[i]);
            double excess = err - (abs_tol + rel_tol * std::fabs(ref[i]));
            if (!(err == err)) excess = INFINITY;  // NaN
            if (excess > worst_excess) worst_excess = excess, worst = err, at = i;
        }
        ok = ok && worst_excess <= 0;
        report(name, ok);
        if (got.size() != ref.size())
            printf(" size %zu, expected %zu\n", got.size(), ref.size());
        else if (!got.empty())
            printf(" worst err %.3g at %zu (got %.9g, ref %.9g)\n", worst, at, got[at], ref[at]);
        else
            printf(" empty\n");
    }

    void compare_exact(const std::string& name, const std::vector<int>& got, const std::vector<int>& ref)
    {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < std::min(got.size(), ref.size()); i++)
            if (got[i] != ref[i] && bad++ == 0) first = i;
        bool ok = bad == 0 && got.size() == ref.size();
        report(name, ok);
        if (ok) printf(" all %zu equal\n", got.size());
        else if (bad) printf(" %zu differ, first at %zu (got %d, ref %d)\n", bad, first, got[first], ref[first]);
        else printf(" size %zu, expected %zu\n", got.size(), ref.size());
    }

    // Same bits: for the deterministic reductions, run twice and compare.
    void same_bits(const std::string& name, const std::vector<float>& a, const std::vector<float>& b)
    {
        bool ok = a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
        report(name, ok);
        printf(" %s\n", ok ? "bit-identical" : "runs differ");
    }

    void report(const std::string& name, bool ok)
    {
        if (!ok) failures++;
        printf("  [%s] %-52s", ok ? " ok " : "FAIL", name.c_str());
    }

    int finish(const char* suite)
    {
        printf("%s: %s (%d failing case%s)\n", suite, failures ? "FAILED" : "passed", failures,
               failures == 1 ? "" : "s");
        return failures ? 1 : 0;
    }
};

inline std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace harness

#ifdef __CUDACC__
#define LAUNCH(kernel, grid, block, ...)                                                            \
    do {                                                                                            \
        kernel<<<(grid), (block)>>>(__VA_ARGS__);                                                   \
        cudaError_t launch_error_ = cudaGetLastError();                                             \
        if (launch_error_ == cudaSuccess) launch_error_ = cudaDeviceSynchronize();                  \
        harness::check_launch(#kernel, launch_error_ != cudaSuccess, cudaGetErrorString(launch_error_)); \
    } while (0)
#define TIME(label, amount, unit, kernel, grid, block, ...) \
    harness::time_kernel((label), (amount), (unit), [&] { kernel<<<(grid), (block)>>>(__VA_ARGS__); })
#else
#define LAUNCH(kernel, grid, block, ...) \
    harness::run_emulated(#kernel, (grid), (block), [&] { kernel(__VA_ARGS__); })
#define TIME(label, amount, unit, kernel, grid, block, ...) \
    harness::time_kernel((label), (amount), (unit), [&] { kernel(__VA_ARGS__); })
#endif
