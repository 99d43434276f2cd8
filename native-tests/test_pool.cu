// maxpool2x2_forward / maxpool2x2_backward against C++ references, with ties, the fused ReLU and odd sizes.
#include "harness.h"
#include "../kernels/pool.cu"

using namespace harness;

static void run_case(Checker& check, int B, int C, int H, int W, bool timed)
{
    Random rnd(B * 100 + C * 10 + H + W);
    size_t n_in = (size_t)B * C * H * W;
    int OH = H / 2, OW = W / 2;
    size_t n_out = (size_t)B * C * OH * OW;
    // Few distinct values, so windows have ties and the first-of-equals rule is exercised.
    std::vector<float> x(n_in);
    for (auto& v : x) v = (float)((int)(rnd.next() % 7) - 3) * 0.5f;
    std::vector<float> dy = rnd.floats(n_out, -1, 1);

    std::vector<double> y_ref(n_out);
    std::vector<int> arg_ref(n_out);
    for (int p = 0; p < B * C; p++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int best = -1;
                for (int dy_ = 0; dy_ < 2; dy_++)
                    for (int dx_ = 0; dx_ < 2; dx_++) {
                        int idx = (p * H + 2 * oy + dy_) * W + 2 * ox + dx_;
                        if (best < 0 || x[idx] > x[best]) best = idx;
                    }
                size_t o = ((size_t)p * OH + oy) * OW + ox;
                y_ref[o] = x[best];
                arg_ref[o] = best;
            }

    DeviceBuffer<float> d_x(x), d_y(n_out), d_dy(dy), d_dx(n_in);
    DeviceBuffer<int> d_arg(n_out);
    dim3 grid(blocks_for((long)n_out, 256)), block(256), grid_in(blocks_for((long)n_in, 256));
    std::string name = "maxpool B=" + std::to_string(B) + " C=" + std::to_string(C) + " " + std::to_string(H) + "x" +
                       std::to_string(W);
    LAUNCH(maxpool2x2_forward, grid, block, d_x.ptr, d_y.ptr, d_arg.ptr, B, C, H, W);
    check.compare(name + " forward y", d_y.download(), y_ref, 0, 0);
    check.compare_exact(name + " forward argmax", d_arg.download(), arg_ref);

    for (int relu = 0; relu <= 1; relu++) {
        std::vector<double> dx_ref(n_in, 0.0);
        for (size_t o = 0; o < n_out; o++) dx_ref[arg_ref[o]] = (relu && !(y_ref[o] > 0)) ? 0.0 : dy[o];
        d_dx.upload(std::vector<float>(n_in, NAN));  // every element must be written
        LAUNCH(maxpool2x2_backward, grid_in, block, d_dy.ptr, d_y.ptr, d_arg.ptr, d_dx.ptr, B, C, H, W, relu);
        check.compare(name + " backward relu_before=" + std::to_string(relu), d_dx.download(), dx_ref, 0, 0);
    }
    if (timed) {
        TIME(name + " forward", (double)n_in * 4 + n_out * 8, "GB/s", maxpool2x2_forward, grid, block, d_x.ptr,
             d_y.ptr, d_arg.ptr, B, C, H, W);
        TIME(name + " backward", (double)n_in * 4 + n_out * 12, "GB/s", maxpool2x2_backward, grid_in, block, d_dy.ptr,
             d_y.ptr, d_arg.ptr, d_dx.ptr, B, C, H, W, 1);
    }
}

int main()
{
    Checker check;
    run_case(check, 1, 1, 2, 2, false);
    run_case(check, 1, 6, 28, 28, false);
    run_case(check, 7, 16, 10, 10, false);
    run_case(check, 64, 6, 28, 28, false);
    run_case(check, 3, 5, 6, 34, false);
    // odd H or W: the last row or column belongs to no window (PyTorch's floor) and gets zero gradient
    run_case(check, 1, 1, 3, 3, false);
    run_case(check, 7, 3, 5, 8, false);
    run_case(check, 3, 2, 6, 7, false);
    run_case(check, 2, 8, 11, 11, false);
    if (kOnGpu) {
        run_case(check, 1024, 6, 28, 28, true);
        run_case(check, 1024, 16, 10, 10, true);
    }
    return check.finish("pool");
}
