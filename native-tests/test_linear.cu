// bias_forward and bias_backward (with determinism) against C++ references.
#include "harness.h"
#include "../kernels/linear.cu"

using namespace harness;

static void bias_forward_case(Checker& check, int B, int N, int relu, bool timed)
{
    Random rnd(B * 1000 + N + relu);
    std::vector<float> y = rnd.floats((size_t)B * N, -1, 1), b = rnd.floats(N, -1, 1);
    std::vector<double> ref((size_t)B * N);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < N; j++) {
            double v = (double)y[(size_t)i * N + j] + b[j];
            ref[(size_t)i * N + j] = relu && v < 0 ? 0 : v;
        }
    DeviceBuffer<float> d_y(y), d_b(b);
    dim3 grid(blocks_for((long)B * N, 256)), block(256);
    LAUNCH(bias_forward, grid, block, d_y.ptr, d_b.ptr, B, N, relu);
    std::string name = "bias_forward B=" + std::to_string(B) + " N=" + std::to_string(N) + " relu=" + std::to_string(relu);
    check.compare(name, d_y.download(), ref, 1e-6, 1e-6);
    if (timed) TIME(name, (double)B * N * 8, "GB/s", bias_forward, grid, block, d_y.ptr, d_b.ptr, B, N, relu);
}

static void bias_backward_case(Checker& check, int B, int N, bool timed)
{
    Random rnd(B * 1000 + N);
    std::vector<float> dy = rnd.floats((size_t)B * N, -1, 1);
    std::vector<double> ref(N, 0.0);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < N; j++) ref[j] += dy[(size_t)i * N + j];
    DeviceBuffer<float> d_dy(dy), d_db(N);
    dim3 grid(N), block(256);
    LAUNCH(bias_backward, grid, block, d_dy.ptr, d_db.ptr, B, N);
    std::vector<float> first = d_db.download();
    std::string name = "bias_backward B=" + std::to_string(B) + " N=" + std::to_string(N);
    check.compare(name, first, ref, 1e-5, 1e-5);
    LAUNCH(bias_backward, grid, block, d_dy.ptr, d_db.ptr, B, N);
    check.same_bits(name + " twice", first, d_db.download());
    if (timed) TIME(name, (double)B * N * 4, "GB/s", bias_backward, grid, block, d_dy.ptr, d_db.ptr, B, N);
}

int main()
{
    Checker check;
    for (int relu = 0; relu <= 1; relu++) {
        bias_forward_case(check, 1, 10, relu, false);
        bias_forward_case(check, 7, 84, relu, false);
        bias_forward_case(check, 64, 120, relu, false);
        bias_forward_case(check, 3, 300, relu, false);
    }
    bias_backward_case(check, 1, 10, false);
    bias_backward_case(check, 7, 84, false);
    bias_backward_case(check, 64, 120, false);
    bias_backward_case(check, 1000, 10, false);
    if (kOnGpu) {
        bias_forward_case(check, 1024, 120, 1, true);
        bias_backward_case(check, 1024, 120, true);
    }
    return check.finish("linear");
}
