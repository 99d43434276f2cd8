// sgd_momentum against a C++ reference of PyTorch's momentum SGD (the parameter step bitwise: one rounding).
#include "harness.h"
#include "../kernels/sgd.cu"

using namespace harness;

// With a schedule, the kernel reads lr from schedule[counters[0]][0] and first_step = counters[1] == 0;
// the scalars it is given then are wrong on purpose, so using them fails the test. It then advances the
// counters once, however many blocks it runs.
static void run_case(Checker& check, int n, float wd, int first, bool timed, bool scheduled = false)
{
    Random rnd(n + first * 7);
    std::vector<float> p = rnd.floats(n, -1, 1), g = rnd.floats(n, -1, 1), buf = rnd.floats(n, -1, 1);
    const float lr = 0.05f, momentum = 0.9f;
    std::vector<double> p_ref(n), buf_ref(n);
    for (int i = 0; i < n; i++) {
        double d = (double)g[i] + (double)wd * p[i];
        buf_ref[i] = first ? d : momentum * (double)buf[i] + d;
        p_ref[i] = p[i] - lr * buf_ref[i];
    }
    DeviceBuffer<float> d_p(p), d_g(g), d_buf(buf), d_schedule(std::vector<float>{9.0f, 9.0f, 9.0f, 9.0f, lr, 7.0f});
    DeviceBuffer<int> d_counters(std::vector<int>{2, first ? 0 : 40, 0});
    const float* schedule = scheduled ? d_schedule.ptr : nullptr;
    int* counters = scheduled ? d_counters.ptr : nullptr;
    dim3 grid(blocks_for(n, 256)), block(256);
    LAUNCH(sgd_momentum, grid, block, d_p.ptr, d_g.ptr, d_buf.ptr, n, schedule, counters, scheduled ? 3.0f : lr,
           momentum, wd, scheduled ? 1 - first : first);
    std::string name = "sgd n=" + std::to_string(n) + " wd=" + std::to_string(wd) + " first=" + std::to_string(first) +
                       (scheduled ? " (lr and first step from the device)" : "");
    check.compare(name + " p", d_p.download(), p_ref, 1e-6, 1e-6);
    std::vector<float> buf_out = d_buf.download();
    check.compare(name + " buf", buf_out, buf_ref, 1e-6, 1e-6);
    if (scheduled)  // the last of the launch's blocks ends the step
        check.compare_exact(name + " counters advanced once", d_counters.download(),
                            std::vector<int>{3, first ? 1 : 41, 0});
    // The parameter step is rounded once, as in PyTorch: bitwise fma(-lr, buf, p) of the new buf.
    std::vector<double> p_fma(n);
    for (int i = 0; i < n; i++) p_fma[i] = std::fma(-lr, buf_out[i], p[i]);
    check.compare(name + " p is fma(-lr, buf, p)", d_p.download(), p_fma, 0, 0);
    if (timed)
        TIME(name, (double)n * 20, "GB/s", sgd_momentum, grid, block, d_p.ptr, d_g.ptr, d_buf.ptr, n, schedule,
             counters, lr, momentum, wd, first);
}

int main()
{
    Checker check;
    for (int first = 0; first <= 1; first++) {
        run_case(check, 1, 0.0f, first, false);
        run_case(check, 257, 5e-4f, first, false);
        run_case(check, 61706, 0.0f, first, false);  // LeNet-5's parameter count
        run_case(check, 257, 5e-4f, first, false, true);
    }
    run_case(check, 61706, 1e-4f, 0, true);
    if (kOnGpu) run_case(check, 1 << 24, 1e-4f, 0, true);
    return check.finish("sgd");
}
