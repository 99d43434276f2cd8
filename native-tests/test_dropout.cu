// dropout2d_mask against a C++ reference of the counter-based uniform (and splitmix64's published
// first output), dropout2d_apply against a C++ reference of the per-channel product.
#include "harness.h"
#include "../kernels/dropout.cu"

using namespace harness;

static uint64_t reference_splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// With counters, the kernel adds counters[1] (the steps done, on the device) to the step it is given.
static void mask_case(Checker& check, int B, int C, uint64_t seed, uint64_t step, float p, int device_steps = -1)
{
    float scale = (float)(1.0 / (1.0 - (double)p));
    std::vector<double> ref((size_t)B * C);
    int kept = 0;
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++) {
            uint64_t h = reference_splitmix64(reference_splitmix64(reference_splitmix64(seed) ^ step) ^
                                              (((uint64_t)n << 32) | (uint64_t)c));
            double u = (double)(h >> 40) / 16777216.0;
            bool keep = u >= p;
            kept += keep;
            ref[(size_t)n * C + c] = keep ? scale : 0.0;
        }
    DeviceBuffer<float> d_mask(std::vector<float>((size_t)B * C, NAN));
    DeviceBuffer<int> d_counters(std::vector<int>{5, device_steps});
    uint64_t given = device_steps < 0 ? step : step - (uint64_t)device_steps;
    LAUNCH(dropout2d_mask, dim3(blocks_for((long)B * C, 256)), dim3(256), d_mask.ptr, B, C,
           (unsigned long long)seed, device_steps < 0 ? nullptr : d_counters.ptr, (unsigned long long)given, p, scale);
    std::string name = "dropout2d_mask B=" + std::to_string(B) + " C=" + std::to_string(C) + " step=" +
                       std::to_string(step) + " p=" + std::to_string(p) + " (" + std::to_string(kept) + " kept)" +
                       (device_steps < 0 ? "" : " (" + std::to_string(device_steps) + " steps from the device)");
    check.compare(name, d_mask.download(), ref, 0, 0);
}

static void apply_case(Checker& check, int B, int C, int H, int W, bool timed)
{
    Random rnd(B * 1000 + C * 10 + H + W);
    int planes = B * C, hw = H * W;
    size_t n = (size_t)planes * hw;
    std::vector<float> x = rnd.floats(n, -1, 1), mask(planes);
    for (int i = 0; i < planes; i++) mask[i] = rnd.next() % 4 == 0 ? 0.0f : 1.3333334f;
    std::vector<double> ref(n);
    for (size_t i = 0; i < n; i++) ref[i] = (double)(x[i] * mask[i / hw]);  // one float product, bitwise
    DeviceBuffer<float> d_x(x), d_mask(mask), d_y(std::vector<float>(n, NAN));
    dim3 grid(blocks_for((long)n, 256)), block(256);
    std::string name = "dropout2d_apply B=" + std::to_string(B) + " C=" + std::to_string(C) + " " +
                       std::to_string(H) + "x" + std::to_string(W);
    LAUNCH(dropout2d_apply, grid, block, d_x.ptr, d_mask.ptr, d_y.ptr, planes, hw);
    check.compare(name, d_y.download(), ref, 0, 0);
    LAUNCH(dropout2d_apply, grid, block, d_x.ptr, d_mask.ptr, d_x.ptr, planes, hw);
    check.compare(name + " in place", d_x.download(), ref, 0, 0);
    if (timed) TIME(name, (double)n * 8, "GB/s", dropout2d_apply, grid, block, d_y.ptr, d_mask.ptr, d_y.ptr, planes, hw);
}

int main()
{
    Checker check;
    bool known = reference_splitmix64(0) == 0xE220A8397B1DCDAFull;  // splitmix64's first output from state 0
    check.report("reference splitmix64(0) is the published value", known);
    printf("\n");
    mask_case(check, 1, 1, 1, 1, 0.25f);
    mask_case(check, 7, 20, 1, 1, 0.25f);
    mask_case(check, 7, 20, 1, 2, 0.25f);
    mask_case(check, 64, 20, 2026, 123456789012ull, 0.5f);
    mask_case(check, 13, 33, 0xFFFFFFFFFFFFFFFFull, 0, 0.1f);
    mask_case(check, 3, 5, 5, 5, 0.0f);
    mask_case(check, 7, 20, 1, 938, 0.25f, 900);  // step 938: 38 given, 900 done on the device
    apply_case(check, 1, 1, 1, 1, false);
    apply_case(check, 7, 20, 10, 10, false);
    apply_case(check, 64, 20, 10, 10, false);
    apply_case(check, 3, 5, 7, 9, false);
    if (kOnGpu) apply_case(check, 1024, 20, 10, 10, true);
    return check.finish("dropout");
}
