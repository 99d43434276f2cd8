// relu_forward / relu_backward against C++ references, out of place and in place.
#include "harness.h"
#include "../kernels/relu.cu"

using namespace harness;

static void run_case(Checker& check, int n, bool timed)
{
    Random rnd(n + 11);
    std::vector<float> x = rnd.floats(n, -1, 1), dy = rnd.floats(n, -1, 1);
    if (n > 3) x[1] = 0.0f;  // the boundary: no gradient at exactly 0
    std::vector<double> y_ref(n), dx_ref(n);
    for (int i = 0; i < n; i++) {
        y_ref[i] = x[i] > 0 ? x[i] : 0.0;
        dx_ref[i] = y_ref[i] > 0 ? dy[i] : 0.0;
    }
    std::string name = "relu n=" + std::to_string(n);
    dim3 grid(blocks_for(n, 256)), block(256);

    DeviceBuffer<float> d_x(x), d_y(std::vector<float>(n, NAN)), d_dy(dy), d_dx(std::vector<float>(n, NAN));
    LAUNCH(relu_forward, grid, block, d_x.ptr, d_y.ptr, n);
    check.compare(name + " forward", d_y.download(), y_ref, 0, 0);
    LAUNCH(relu_backward, grid, block, d_dy.ptr, d_y.ptr, d_dx.ptr, n);
    check.compare(name + " backward", d_dx.download(), dx_ref, 0, 0);

    LAUNCH(relu_forward, grid, block, d_x.ptr, d_x.ptr, n);
    check.compare(name + " forward in place", d_x.download(), y_ref, 0, 0);
    LAUNCH(relu_backward, grid, block, d_dy.ptr, d_x.ptr, d_dy.ptr, n);
    check.compare(name + " backward in place", d_dy.download(), dx_ref, 0, 0);
    if (timed) {
        TIME(name + " forward", (double)n * 8, "GB/s", relu_forward, grid, block, d_x.ptr, d_y.ptr, n);
        TIME(name + " backward", (double)n * 12, "GB/s", relu_backward, grid, block, d_dy.ptr, d_y.ptr, d_dx.ptr, n);
    }
}

int main()
{
    Checker check;
    run_case(check, 1, false);
    run_case(check, 7, false);
    run_case(check, 771, false);
    run_case(check, 64 * 120, false);
    run_case(check, 8 * 32 * 26 * 26, false);  // cnn3's first conv output at batch 8
    if (kOnGpu) run_case(check, 1 << 24, true);
    return check.finish("relu");
}
