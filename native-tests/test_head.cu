// linear_head_step + head_reduce against a double-precision C++ reference of the unfused head: Linear
// layers (ReLU or not), softmax cross-entropy, backward to every weight, bias and the input, with batches
// that do not divide into the groups, a ReLU on the logits, and no input gradient.
#include "harness.h"
#include "../kernels/head.cu"

using namespace harness;

struct Case {
    int B, group, in0, x0_relu, with_dx0;
    std::vector<int> out, relu;
};

static void run_case(Checker& check, const Case& c, bool timed)
{
    const int L = (int)c.out.size(), B = c.B;
    Random rnd(B * 31 + c.in0 + L);
    std::vector<int> in(L), w_off(L), b_off(L);
    int size = 0;
    for (int l = 0; l < L; l++) {
        in[l] = l == 0 ? c.in0 : c.out[l - 1];
        w_off[l] = 7 + size;  // the head's parameters start past others in the flat buffer
        size += c.out[l] * in[l];
        b_off[l] = 7 + size;
        size += c.out[l];
    }
    const int part_begin = 7, part_size = size;
    std::vector<float> params = rnd.floats(7 + size, -0.2f, 0.2f);
    std::vector<float> x0 = rnd.floats((size_t)B * c.in0, -1, 1);
    if (c.x0_relu)
        for (auto& v : x0) v = v < 0 ? 0 : v;
    std::vector<int> labels(B);
    for (auto& v : labels) v = (int)(rnd.next() % c.out[L - 1]);

    // reference, in double
    std::vector<std::vector<double>> y(L), g(L);
    std::vector<double> dx0((size_t)B * c.in0), grads(size);
    auto input = [&](int l, int s, int i) { return l == 0 ? (double)x0[(size_t)s * c.in0 + i] : y[l - 1][(size_t)s * in[l] + i]; };
    for (int l = 0; l < L; l++) {
        y[l].assign((size_t)B * c.out[l], 0);
        for (int s = 0; s < B; s++)
            for (int o = 0; o < c.out[l]; o++) {
                double z = params[b_off[l] + o];
                for (int i = 0; i < in[l]; i++) z += input(l, s, i) * params[w_off[l] + o * in[l] + i];
                y[l][(size_t)s * c.out[l] + o] = c.relu[l] && z < 0 ? 0 : z;
            }
    }
    const int K = c.out[L - 1];
    double loss = 0, correct = 0;
    g[L - 1].assign((size_t)B * K, 0);
    for (int s = 0; s < B; s++) {
        const double* z = &y[L - 1][(size_t)s * K];
        int best = 0;
        for (int j = 1; j < K; j++)
            if (z[j] > z[best]) best = j;
        double sum = 0;
        for (int j = 0; j < K; j++) sum += std::exp(z[j] - z[best]);
        loss += std::log(sum) - (z[labels[s]] - z[best]);
        correct += best == labels[s];
        for (int j = 0; j < K; j++) {
            double d = (std::exp(z[j] - z[best]) / sum - (j == labels[s])) / B;
            g[L - 1][(size_t)s * K + j] = c.relu[L - 1] && !(z[j] > 0) ? 0 : d;
        }
    }
    for (int l = L - 1; l >= 0; l--) {
        for (int o = 0; o < c.out[l]; o++) {
            double db = 0;
            for (int s = 0; s < B; s++) db += g[l][(size_t)s * c.out[l] + o];
            grads[b_off[l] - part_begin + o] = db;
            for (int i = 0; i < in[l]; i++) {
                double dw = 0;
                for (int s = 0; s < B; s++) dw += g[l][(size_t)s * c.out[l] + o] * input(l, s, i);
                grads[w_off[l] - part_begin + o * in[l] + i] = dw;
            }
        }
        std::vector<double>& dx = l == 0 ? dx0 : g[l - 1];
        if (l > 0) dx.assign((size_t)B * in[l], 0);
        int mask = l == 0 ? c.x0_relu : c.relu[l - 1];
        for (int s = 0; s < B; s++)
            for (int i = 0; i < in[l]; i++) {
                double acc = 0;
                for (int o = 0; o < c.out[l]; o++) acc += g[l][(size_t)s * c.out[l] + o] * params[w_off[l] + o * in[l] + i];
                dx[(size_t)s * in[l] + i] = mask && !(input(l, s, i) > 0) ? 0 : acc;
            }
    }

    const int groups = (B + c.group - 1) / c.group;
    DeviceBuffer<float> d_params(params), d_x0(x0), d_dx0((size_t)B * c.in0), d_partials((size_t)groups * part_size);
    DeviceBuffer<float> d_grads(size), d_rows((size_t)2 * B), d_stats(std::vector<float>{0.5f, 3.0f});
    DeviceBuffer<int> d_labels(labels);
    std::vector<DeviceBuffer<float>*> d_y, d_g;
    for (int l = 0; l < 3; l++) {
        int n = l < L ? B * c.out[l] : 1;
        d_y.push_back(new DeviceBuffer<float>((size_t)n));
        d_g.push_back(new DeviceBuffer<float>((size_t)n));
    }
    auto arg = [&](const std::vector<int>& v, int l) { return l < L ? v[l] : 0; };
    float* dx0_ptr = c.with_dx0 ? d_dx0.ptr : nullptr;
    auto launch = [&] {
        LAUNCH(linear_head_step, dim3(groups), dim3(256), d_x0.ptr, c.in0, c.x0_relu, dx0_ptr, d_params.ptr,
               d_partials.ptr, part_begin, part_size, L,
               arg(w_off, 0), arg(b_off, 0), arg(c.out, 0), arg(c.relu, 0), d_y[0]->ptr, d_g[0]->ptr,
               arg(w_off, 1), arg(b_off, 1), arg(c.out, 1), arg(c.relu, 1), d_y[1]->ptr, d_g[1]->ptr,
               arg(w_off, 2), arg(b_off, 2), arg(c.out, 2), arg(c.relu, 2), d_y[2]->ptr, d_g[2]->ptr,
               d_labels.ptr, B, c.group, d_rows.ptr);
        LAUNCH(head_reduce, dim3(blocks_for(part_size, 256)), dim3(256), d_partials.ptr, groups, part_size,
               d_grads.ptr, d_rows.ptr, B, d_stats.ptr);
    };
    launch();
    std::string name = "head B=" + std::to_string(B) + " group=" + std::to_string(c.group) + " " + std::to_string(c.in0);
    for (int l = 0; l < L; l++) name += (c.relu[l] ? "-relu" : "-") + std::to_string(c.out[l]);
    for (int l = 0; l < L; l++) {
        check.compare(name + " y" + std::to_string(l + 1), d_y[l]->download(), y[l], 1e-5, 1e-4);
        check.compare(name + " g" + std::to_string(l + 1), d_g[l]->download(), g[l], 1e-7, 1e-4);
    }
    std::vector<float> grads_out = d_grads.download();
    check.compare(name + " weight and bias gradients", grads_out, grads, 1e-6, 1e-4);
    if (c.with_dx0) check.compare(name + " dx0", d_dx0.download(), dx0, 1e-7, 1e-4);
    check.compare(name + " stats", d_stats.download(), std::vector<double>{0.5 + loss, 3.0 + correct}, 1e-4, 1e-5);
    d_stats.upload(std::vector<float>{0.5f, 3.0f});
    launch();
    check.same_bits(name + " gradients twice", grads_out, d_grads.download());
    if (timed) {
        double macs = 0;
        for (int l = 0; l < L; l++) macs += 3.0 * B * in[l] * c.out[l];
        TIME(name, macs * 2, "GFLOP/s", linear_head_step, dim3(groups), dim3(256), d_x0.ptr, c.in0, c.x0_relu, dx0_ptr,
             d_params.ptr, d_partials.ptr, part_begin, part_size, L,
             arg(w_off, 0), arg(b_off, 0), arg(c.out, 0), arg(c.relu, 0), d_y[0]->ptr, d_g[0]->ptr,
             arg(w_off, 1), arg(b_off, 1), arg(c.out, 1), arg(c.relu, 1), d_y[1]->ptr, d_g[1]->ptr,
             arg(w_off, 2), arg(b_off, 2), arg(c.out, 2), arg(c.relu, 2), d_y[2]->ptr, d_g[2]->ptr,
             d_labels.ptr, B, c.group, d_rows.ptr);
    }
    for (int l = 0; l < 3; l++) {
        delete d_y[l];
        delete d_g[l];
    }
}

int main()
{
    Checker check;
    run_case(check, {7, 4, 20, 1, 1, {12, 9, 10}, {1, 1, 0}}, false);   // a short last group
    run_case(check, {5, 2, 30, 0, 1, {16, 10}, {1, 1}}, false);         // ReLU on the logits (tutorial 001)
    run_case(check, {9, 4, 25, 0, 0, {10}, {0}}, false);                // one layer, no input gradient
    run_case(check, {6, 6, 18, 0, 1, {11, 7, 10}, {0, 0, 0}}, false);   // no ReLU between (cnn3's head)
    run_case(check, {64, 4, 400, 0, 1, {120, 84, 10}, {1, 1, 0}}, kOnGpu);  // LeNet-5 at batch 64
    return check.finish("head");
}
