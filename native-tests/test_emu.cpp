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

    std::vector<float> div_out(kThreads, 0.0f);
    rc = emu::launch(dim3(1), dim3(kThreads), [&] { divergent_kernel(div_out.data()); });
    std::string message = rc ? emu::last_error() : "";
    check.report("divergent barrier is reported", rc != 0 && message.find("barrier divergence") != std::string::npos);
    printf(" %s\n", rc ? message.c_str() : "not reported");

    float sum = 0;
    rc = emu::launch(dim3(1), dim3(kThreads), [&] { shuffle_free_sum(in.data(), &sum); });
    double expected = kThreads * (kThreads - 1) / 2.0;
    check.report("tree sum after an error", rc == 0 && sum == expected);
    printf(" %g (expected %g)\n", sum, expected);

    rc = emu::launch(dim3(1), dim3(2048), [] {});
    check.report("oversized block is rejected", rc != 0);
    printf(" %s\n", rc ? emu::last_error() : "accepted");
    return check.finish("emu");
}
