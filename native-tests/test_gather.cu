// gather_normalize against a C++ reference.
#include "harness.h"
#include "../kernels/gather.cu"

using namespace harness;

// With counters, the kernel reads the step within the epoch from the device: first = start + counters[0] * stride.
static void run_case(Checker& check, int N, int HW, int B, int start, bool timed, int step = -1, int stride = 0)
{
    Random rnd(N * 131 + HW + B);
    std::vector<unsigned char> images((size_t)N * HW), labels(N);
    for (auto& v : images) v = (unsigned char)(rnd.next() & 255);
    for (auto& v : labels) v = (unsigned char)(rnd.next() % 10);
    std::vector<int> order(N);
    for (int i = 0; i < N; i++) order[i] = i;
    for (int i = N - 1; i > 0; i--) std::swap(order[i], order[rnd.next() % (i + 1)]);
    const float mean = 0.5f, std_dev = 0.5f;

    int first = step < 0 ? start : start + step * stride;
    std::vector<double> x_ref((size_t)B * HW);
    std::vector<int> y_ref(B);
    for (int i = 0; i < B; i++) {
        int src = order[first + i];
        for (int p = 0; p < HW; p++) x_ref[(size_t)i * HW + p] = (images[(size_t)src * HW + p] / 255.0 - mean) / std_dev;
        y_ref[i] = labels[src];
    }

    DeviceBuffer<unsigned char> d_images(images), d_labels(labels);
    DeviceBuffer<int> d_order(order), d_y(B), d_counters(std::vector<int>{step, 12345});
    const int* counters = step < 0 ? nullptr : d_counters.ptr;
    DeviceBuffer<float> d_x((size_t)B * HW);
    dim3 grid(blocks_for((long)B * HW, 256)), block(256);
    LAUNCH(gather_normalize, grid, block, d_images.ptr, d_labels.ptr, d_order.ptr, counters, start, stride, B, HW,
           mean, std_dev, d_x.ptr, d_y.ptr);
    std::string name = "gather N=" + std::to_string(N) + " HW=" + std::to_string(HW) + " B=" + std::to_string(B) +
                       " start=" + std::to_string(start) +
                       (step < 0 ? "" : " step=" + std::to_string(step) + " stride=" + std::to_string(stride));
    check.compare(name + " x", d_x.download(), x_ref, 1e-6, 1e-6);
    check.compare_exact(name + " y", d_y.download(), y_ref);
    if (timed)
        TIME(name, (double)B * HW * 5, "GB/s", gather_normalize, grid, block, d_images.ptr, d_labels.ptr, d_order.ptr,
             counters, start, stride, B, HW, mean, std_dev, d_x.ptr, d_y.ptr);
}

int main()
{
    Checker check;
    run_case(check, 10, 784, 1, 3, false);
    run_case(check, 100, 784, 7, 50, false);
    run_case(check, 200, 784, 64, 100, false);
    run_case(check, 90, 37, 64, 26, false);
    run_case(check, 200, 784, 64, 0, false, 2, 64);   // the third full batch of an epoch
    run_case(check, 200, 784, 8, 0, false, 3, 64);    // its short last batch: 192 + 8 = 200
    run_case(check, 200, 784, 5, 7, false, 1, 10);    // start and counters together
    if (kOnGpu) run_case(check, 60000, 784, 1024, 1000, true);
    return check.finish("gather");
}
