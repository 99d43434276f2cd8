// A network's head in one training launch: the Linear layers at its end (up to three, each optionally
// followed by a ReLU), softmax cross-entropy on the last one's output, and the backward pass through
// them. Unfused this is about six launches per layer (GEMMs, bias, ReLU masks, bias gradients) plus the
// loss. Each block takes a group of samples through the whole chain: samples are independent until the
// weight gradients, which each block sums over its own samples into a slice of partials, and
// head_reduce adds the slices in block order, so every sum has a fixed order (same inputs, same bits).
// Worth it while the head is small (LeNet-5's 400-120-84-10 at batch 64: 16 blocks of 4 samples);
// the host decides, and runs the unfused launches for large heads and batches.

#include "softmax_xent.cuh"

#define HEAD_THREADS XENT_THREADS
#define HEAD_MAX_LAYERS 3

// Layer l (1..layers) of the head: in_l = out_{l-1} (in_1 = in0), out_l; weights params[w_off_l ..] as
// [out_l, in_l] (PyTorch's layout), bias params[b_off_l ..] [out_l]; y_l [B,out_l] its output (after its
// ReLU when relu_l), g_l [B,out_l] the loss gradient of its output before the ReLU. Layers past
// `layers` are ignored.
//
// Forward: y_l = act(y_{l-1} W_l^T + b_l) with y_0 = x0 [B,in0]. Loss (as softmax_cross_entropy):
// row_stats[2i] = log(sum_j exp(z_ij - max_i)) - (z_i,label - max_i), row_stats[2i+1] = 1 when the
// first argmax of row i is its label, with z = y_layers; g_layers = (softmax - onehot) / B, masked by
// y_layers > 0 when that layer has a ReLU.
// Backward: g_{l-1} = (g_l W_l) masked by y_{l-1} > 0 when layer l-1 has a ReLU; dx0 = g_1 W_1 masked by
// x0 > 0 when x0_relu (skipped when dx0 is NULL). Block k's partial gradients, at partials + k * part_size:
// weight (o,i) of layer l at w_off_l - part_begin + o*in_l + i, bias o at b_off_l - part_begin + o,
// summed over its samples [k*group, min(B, (k+1)*group)).
// Launch: grid (ceil(B / group), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void linear_head_step(const float* x0, int in0, int x0_relu, float* dx0, const float* params,
                                            float* partials, int part_begin, int part_size, int layers,
                                            int w_off1, int b_off1, int out1, int relu1, float* y1, float* g1,
                                            int w_off2, int b_off2, int out2, int relu2, float* y2, float* g2,
                                            int w_off3, int b_off3, int out3, int relu3, float* y3, float* g3,
                                            const int* labels, int B, int group, float* row_stats)
{
    const int w_off[HEAD_MAX_LAYERS] = {w_off1, w_off2, w_off3};
    const int b_off[HEAD_MAX_LAYERS] = {b_off1, b_off2, b_off3};
    const int out[HEAD_MAX_LAYERS] = {out1, out2, out3};
    const int relu[HEAD_MAX_LAYERS] = {relu1, relu2, relu3};
    float* const y[HEAD_MAX_LAYERS] = {y1, y2, y3};
    float* const g[HEAD_MAX_LAYERS] = {g1, g2, g3};
    const int tid = threadIdx.x;
    const int first = blockIdx.x * group;
    const int count = B - first < group ? B - first : group;
    if (count <= 0) return;
    float* part = partials + (size_t)blockIdx.x * part_size;

    // forward, one output value per thread at a time
    for (int l = 0; l < layers; l++) {
        const float* in = l == 0 ? x0 : y[l - 1];
        const int n_in = l == 0 ? in0 : out[l - 1];
        const float* w = params + w_off[l];
        const float* b = params + b_off[l];
        for (int t = tid; t < count * out[l]; t += HEAD_THREADS) {
            int s = first + t / out[l], o = t % out[l];
            const float* x = in + (size_t)s * n_in;
            const float* wo = w + (size_t)o * n_in;
            float z = 0.0f;
            for (int i = 0; i < n_in; i++) z += x[i] * wo[i];
            z += b[o];  // after the product, as sgemm then bias_forward
            y[l][(size_t)s * out[l] + o] = (relu[l] && z < 0.0f) ? 0.0f : z;
        }
        __syncthreads();
    }

    // softmax cross-entropy, one sample per thread
    const int last = layers - 1, K = out[last];
    for (int s = first + tid; s < first + count; s += HEAD_THREADS) {
        const float* z = y[last] + (size_t)s * K;
        float* dz = g[last] + (size_t)s * K;
        row_stats[2 * s] = xent_row(z, K, labels[s], B, dz, &row_stats[2 * s + 1]);
        if (relu[last])
            for (int j = 0; j < K; j++)
                if (!(z[j] > 0.0f)) dz[j] = 0.0f;
    }
    __syncthreads();

    // backward, last layer first: the input gradient and this block's share of the weight gradients
    for (int l = last; l >= 0; l--) {
        const float* in = l == 0 ? x0 : y[l - 1];
        const int n_in = l == 0 ? in0 : out[l - 1];
        const int n_out = out[l];
        const float* w = params + w_off[l];
        float* dx = l == 0 ? dx0 : g[l - 1];
        const int mask = l == 0 ? x0_relu : relu[l - 1];
        if (dx) {
            for (int t = tid; t < count * n_in; t += HEAD_THREADS) {
                int s = first + t / n_in, i = t % n_in;
                const float* gs = g[l] + (size_t)s * n_out;
                float acc = 0.0f;
                for (int o = 0; o < n_out; o++) acc += gs[o] * w[(size_t)o * n_in + i];
                dx[(size_t)s * n_in + i] = (mask && !(in[(size_t)s * n_in + i] > 0.0f)) ? 0.0f : acc;
            }
        }
        float* dw = part + (w_off[l] - part_begin);
        for (int t = tid; t < n_out * n_in; t += HEAD_THREADS) {
            int o = t / n_in, i = t % n_in;
            float acc = 0.0f;
            for (int s = first; s < first + count; s++) acc += g[l][(size_t)s * n_out + o] * in[(size_t)s * n_in + i];
            dw[t] = acc;
        }
        float* db = part + (b_off[l] - part_begin);
        for (int o = tid; o < n_out; o += HEAD_THREADS) {
            float acc = 0.0f;
            for (int s = first; s < first + count; s++) acc += g[l][(size_t)s * n_out + o];
            db[o] = acc;
        }
        __syncthreads();
    }
}

// out [n] = sum over k < groups, in order, of partials[k*n + i] (linear_head_step's per-block weight
// gradients); block 0 also adds the rows of row_stats [B,2] into stats[0] (loss) and stats[1] (correct),
// in the fixed order softmax_cross_entropy uses (per-thread strides, then a tree).
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void head_reduce(const float* partials, int groups, int n, float* out,
                                       const float* row_stats, int B, float* stats)
{
    __shared__ float loss_part[XENT_THREADS];
    __shared__ float correct_part[XENT_THREADS];
    int tid = threadIdx.x;
    int i = blockIdx.x * HEAD_THREADS + tid;
    if (i < n) {
        float acc = 0.0f;
        for (int k = 0; k < groups; k++) acc += partials[(size_t)k * n + i];
        out[i] = acc;
    }
    if (blockIdx.x != 0) return;
    float loss = 0.0f, correct = 0.0f;
    for (int r = tid; r < B; r += HEAD_THREADS) {
        loss += row_stats[2 * r];
        correct += row_stats[2 * r + 1];
    }
    xent_block_sum(loss, correct, loss_part, correct_part, stats);
}
