// adam_update against a double-precision C++ reference of torch.optim.Adam's step, at the first step
// (m = v = 0) and later ones, with and without weight decay.
#include "harness.h"
#include "../kernels/adam.cu"

using namespace harness;

// With a schedule, the kernel reads the step size and sqrt(bias correction 2) from schedule[counters[0]];
// the scalars it is given then are wrong on purpose, so using them fails the test.
static void run_case(Checker& check, int n, int step, float wd, bool timed, bool scheduled = false)
{
    Random rnd(n * 3 + step);
    const double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::vector<float> p = rnd.floats(n, -1, 1), g = rnd.floats(n, -1, 1);
    std::vector<float> m(n, 0.0f), v(n, 0.0f);
    if (step > 1) {
        m = rnd.floats(n, -0.1f, 0.1f);
        v = rnd.floats(n, 0, 0.01f);
    }
    for (int i = 0; i < n; i += 5) g[i] *= 1e-9f;  // where eps matters
    double bc1 = 1 - std::pow(beta1, step), bc2 = 1 - std::pow(beta2, step);
    std::vector<double> p_ref(n), m_ref(n), v_ref(n);
    for (int i = 0; i < n; i++) {
        double gi = (double)g[i] + (double)wd * p[i];
        m_ref[i] = beta1 * m[i] + (1 - beta1) * gi;
        v_ref[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p_ref[i] = p[i] - (lr / bc1) * m_ref[i] / (std::sqrt(v_ref[i]) / std::sqrt(bc2) + eps);
    }
    DeviceBuffer<float> d_p(p), d_g(g), d_m(m), d_v(v);
    dim3 grid(blocks_for(n, 256)), block(256);
    float b1 = (float)beta1, omb1 = (float)(1 - beta1), b2 = (float)beta2, omb2 = (float)(1 - beta2);
    float sbc2 = (float)std::sqrt(bc2), e = (float)eps, step_size = (float)(-(lr / bc1));
    DeviceBuffer<float> d_schedule(std::vector<float>{0.5f, 0.5f, step_size, sbc2});
    DeviceBuffer<int> d_counters(std::vector<int>{1, step - 1, 0});
    const float* schedule = scheduled ? d_schedule.ptr : nullptr;
    int* counters = scheduled ? d_counters.ptr : nullptr;
    LAUNCH(adam_update, grid, block, d_p.ptr, d_g.ptr, d_m.ptr, d_v.ptr, n, schedule, counters, b1, omb1, b2, omb2,
           scheduled ? 0.25f : sbc2, e, scheduled ? 0.25f : step_size, wd);
    std::string name = "adam n=" + std::to_string(n) + " t=" + std::to_string(step) + " wd=" + std::to_string(wd) +
                       (scheduled ? " (scalars from the device)" : "");
    // m's two terms (up to 0.09 and 0.1) can cancel: its float32 error is a few ulp of the terms
    check.compare(name + " p", d_p.download(), p_ref, 2e-7, 1e-6);
    check.compare(name + " m", d_m.download(), m_ref, 3e-8, 1e-6);
    check.compare(name + " v", d_v.download(), v_ref, 1e-12, 1e-6);
    if (scheduled)  // the last of the launch's blocks ends the step
        check.compare_exact(name + " counters advanced once", d_counters.download(), std::vector<int>{2, step, 0});
    if (timed)
        TIME(name, (double)n * 28, "GB/s", adam_update, grid, block, d_p.ptr, d_g.ptr, d_m.ptr, d_v.ptr, n, schedule,
             counters, b1, omb1, b2, omb2, sbc2, e, step_size, wd);
}

int main()
{
    Checker check;
    for (int step : {1, 2, 30}) {
        run_case(check, 1, step, 0.0f, false);
        run_case(check, 257, step, 0.01f, false);
        run_case(check, 61706, step, 0.0f, false);  // LeNet-5's parameter count
        run_case(check, 257, step, 0.01f, false, true);
    }
    run_case(check, 569186, 7, 0.0f, true);  // cnn3's parameter count
    if (kOnGpu) run_case(check, 1 << 24, 7, 0.0f, true);
    return check.finish("adam");
}
