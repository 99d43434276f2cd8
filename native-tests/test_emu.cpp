// Tests of the emulation itself: a missing barrier must give a wrong result, a barrier that only
// some threads reach must be reported, and the emulator must work normally afterwards.
#include "harness.h"

using namespace harness;

constexpr int kThreads = 64;

// Reverses one block's slice through shared memory; `barrier` selects the correct version.
static void reverse_kernel(const float* in, float* out, int barrier)
{
    __shared__ float s[kThreads];
    int t = threadIdx.x, base = blockIdx.x * kThreads;
    s[t] = in[base + t];
    if (barrier) __syncthreads();
    out[base + t] = s[kThreads - 1 - t];
}

// Each thread reads the value its lower neighbour wrote: only a reversed run order exposes the
// missing barrier here.
static void shift_kernel(const float* in, float* out)
{
    __shared__ float s[kThreads];
    int t = threadIdx.x, base = blockIdx.x * kThreads;
    s[t] = in[base + t];
    out[base + t] = t > 0 ? s[t - 1] : 0.0f;
}

// Thread 0 writes its slot; every thread reads its own: all but one read shared memory never written.
static void unwritten_shared(float* out)
{
    __shared__ float s[kThreads];
    int t = threadIdx.x;
    if (t == 0) s[0] = 1.0f;
    __syncthreads();
    out[blockIdx.x * kThreads + t] = s[t];
}

static void divergent_kernel(float* out)
{
    if (threadIdx.x < kThreads / 2) __syncthreads();
    out[threadIdx.x] = 1.0f;
}

static void shuffle_free_sum(const float* in, float* out)
{
    __shared__ float s[kThreads];
    int t = threadIdx.x;
    s[t] = in[t];
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (t < half) s[t] += s[t + half];
        __syncthreads();
    }
    if (t == 0) *out = s[0];
}

// Per-warp sums two ways: a shuffle-down tree (lane 0 holds the sum) and an xor butterfly (every
// lane holds it).
static void warp_sums(const float* in, float* down, float* butterfly)
{
    int t = threadIdx.x;
    float a = in[t], b = in[t];
    for (int offset = 16; offset > 0; offset >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, offset);
        b += __shfl_xor_sync(0xffffffffu, b, offset);
    }
    if (t % 32 == 0) down[t / 32] = a;
    butterfly[t] = b;
}

static void divergent_shuffle(float* out)
{
    float v = (float)threadIdx.x;
    if (threadIdx.x % 32 < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    out[threadIdx.x] = v;
}

int main()
{
    Checker check;
    const int blocks = 3;
    std::vector<float> in(blocks * kThreads), ref(in.size());
    for (size_t i = 0; i < in.size(); i++) in[i] = (float)i;
    for (int b = 0; b < blocks; b++)
        for (int t = 0; t < kThreads; t++) ref[b * kThreads + t] = in[b * kThreads + kThreads - 1 - t];
    std::vector<float> out(in.size());
    auto run_reverse = [&](int barrier) {
        return emu::launch(dim3(blocks), dim3(kThreads), [&] { reverse_kernel(in.data(), out.data(), barrier); });
    };

    int rc = run_reverse(1);
    check.report("reverse with barrier", rc == 0 && out == ref);
    printf(" %s\n", out == ref ? "correct" : "wrong");

    rc = run_reverse(0);
    check.report("reverse without barrier gives a wrong result", rc == 0 && out != ref);
    printf(" %s\n", out != ref ? "race visible" : "race NOT visible");

    std::vector<float> shift_ref(in.size());
    for (int b = 0; b < blocks; b++)
        for (int t = 1; t < kThreads; t++) shift_ref[b * kThreads + t] = in[b * kThreads + t - 1];
    std::fill(out.begin(), out.end(), 0.0f);
    rc = emu::launch(dim3(blocks), dim3(kThreads), [&] { shift_kernel(in.data(), out.data()); });
    check.report("shift without barrier gives a wrong result", rc == 0 && out != shift_ref);
    printf(" %s\n", out != shift_ref ? "race visible" : "race NOT visible");

    std::vector<float> div_out(kThreads, 0.0f);
    rc = emu::launch(dim3(1), dim3(kThreads), [&] { divergent_kernel(div_out.data()); });
    std::string message = rc ? emu::last_error() : "";
    check.report("divergent barrier is reported", rc != 0 && message.find("barrier divergence") != std::string::npos);
    printf(" %s\n", rc ? message.c_str() : "not reported");

    std::vector<float> down(kThreads / 32), butterfly(kThreads), warp_ref(kThreads / 32, 0.0f);
    for (int t = 0; t < kThreads; t++) warp_ref[t / 32] += in[t];
    rc = emu::launch(dim3(1), dim3(kThreads), [&] { warp_sums(in.data(), down.data(), butterfly.data()); });
    bool sums_ok = rc == 0 && down == warp_ref;
    for (int t = 0; t < kThreads; t++) sums_ok = sums_ok && butterfly[t] == warp_ref[t / 32];
    check.report("warp shuffles (down and xor)", sums_ok);
    printf(" %g %g (expected %g %g)\n", down[0], down[1], warp_ref[0], warp_ref[1]);

    rc = emu::launch(dim3(1), dim3(kThreads), [&] { divergent_shuffle(div_out.data()); });
    message = rc ? emu::last_error() : "";
    check.report("shuffle by half a warp is reported", rc != 0 && message.find("warp divergence") != std::string::npos);
    printf(" %s\n", rc ? message.c_str() : "not reported");

    float sum = 0;
    rc = emu::launch(dim3(1), dim3(kThreads), [&] { shuffle_free_sum(in.data(), &sum); });
    double expected = kThreads * (kThreads - 1) / 2.0;
    check.report("tree sum after an error", rc == 0 && sum == expected);
    printf(" %g (expected %g)\n", sum, expected);

    rc = emu::launch(dim3(1), dim3(2048), [] {});
    check.report("oversized block is rejected", rc != 0);
    printf(" %s\n", rc ? emu::last_error() : "accepted");

    // GPU limits the kernels could cross with a large batch: grid y and z, and block z.
    const dim3 too_large[] = {dim3(1, 65536, 1), dim3(1, 1, 65536)};
    for (const dim3& grid : too_large) {
        rc = emu::launch(grid, dim3(1), [] {});
        check.report("grid over 65535 in y or z is rejected", rc != 0);
        printf(" %s\n", rc ? emu::last_error() : "accepted");
    }
    rc = emu::launch(dim3(1), dim3(1, 1, 65), [] {});
    check.report("block z over 64 is rejected", rc != 0);
    printf(" %s\n", rc ? emu::last_error() : "accepted");

    // The previous block left its values in shared memory; a GPU makes no such promise.
    std::fill(out.begin(), out.end(), 0.0f);
    rc = emu::launch(dim3(blocks), dim3(kThreads), [&] { unwritten_shared(out.data()); });
    bool poisoned = rc == 0;
    for (int b = 0; b < blocks; b++) {
        poisoned = poisoned && out[b * kThreads] == 1.0f;
        for (int t = 1; t < kThreads; t++) poisoned = poisoned && std::isnan(out[b * kThreads + t]);
    }
    check.report("unwritten shared memory reads as NaN in every block", poisoned);
    printf(" %s\n", poisoned ? "poisoned" : "reads stale or zero values");
    return check.finish("emu");
}
