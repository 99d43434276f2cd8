// softmax_cross_entropy against a double-precision C++ reference, with determinism.
#include "harness.h"
#include "../kernels/softmax_xent.cu"

using namespace harness;

static void run_case(Checker& check, int B, int K, bool with_grad, bool timed)
{
    Random rnd(B * 100 + K);
    // Quantised logits: ties for the argmax rule; one large row checks the max-subtracted form.
    std::vector<float> logits((size_t)B * K);
    for (auto& v : logits) v = (float)((int)(rnd.next() % 41) - 20) * 0.25f;
    for (int j = 0; j < K; j++) logits[j] += 80.0f;
    std::vector<int> labels(B);
    for (auto& l : labels) l = (int)(rnd.next() % K);
    const std::vector<float> stats0 = {1.5f, 2.0f};  // the kernel accumulates into stats

    double loss_sum = 0, correct = 0;
    std::vector<double> grad_ref((size_t)B * K);
    for (int i = 0; i < B; i++) {
        const float* z = &logits[(size_t)i * K];
        int best = 0;
        for (int j = 1; j < K; j++)
            if (z[j] > z[best]) best = j;
        double sum = 0;
        for (int j = 0; j < K; j++) sum += std::exp((double)z[j] - z[best]);
        loss_sum += std::log(sum) - ((double)z[labels[i]] - z[best]);
        correct += best == labels[i];
        for (int j = 0; j < K; j++)
            grad_ref[(size_t)i * K + j] = (std::exp((double)z[j] - z[best]) / sum - (j == labels[i])) / B;
    }
    std::vector<double> stats_ref = {stats0[0] + loss_sum, stats0[1] + correct};

    DeviceBuffer<float> d_logits(logits), d_grad((size_t)B * K), d_stats(stats0);
    DeviceBuffer<int> d_labels(labels);
    float* grad = with_grad ? d_grad.ptr : nullptr;
    std::string name = "softmax_xent B=" + std::to_string(B) + " K=" + std::to_string(K) + (with_grad ? "" : " no grad");
    LAUNCH(softmax_cross_entropy, dim3(1), dim3(256), d_logits.ptr, d_labels.ptr, grad, d_stats.ptr, B, K);
    std::vector<float> stats = d_stats.download();
    check.compare(name + " stats", stats, stats_ref, 1e-4, 1e-5);
    if (with_grad) check.compare(name + " dlogits", d_grad.download(), grad_ref, 1e-7, 1e-5);
    d_stats.upload(stats0);
    LAUNCH(softmax_cross_entropy, dim3(1), dim3(256), d_logits.ptr, d_labels.ptr, grad, d_stats.ptr, B, K);
    check.same_bits(name + " stats twice", stats, d_stats.download());
    if (timed)
        TIME(name, (double)B * K * 8, "GB/s", softmax_cross_entropy, dim3(1), dim3(256), d_logits.ptr, d_labels.ptr,
             grad, d_stats.ptr, B, K);
}

int main()
{
    Checker check;
    run_case(check, 1, 10, true, false);
    run_case(check, 7, 10, true, false);
    run_case(check, 64, 10, true, false);
    run_case(check, 64, 10, false, false);
    run_case(check, 300, 3, true, false);
    run_case(check, 5, 1000, true, false);
    if (kOnGpu) {
        run_case(check, 64, 10, true, true);
        run_case(check, 1024, 10, true, true);
    }
    return check.finish("softmax_xent");
}
