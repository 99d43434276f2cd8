// Softmax cross-entropy pieces shared by the loss kernel (softmax_xent.cu) and the fused head (head.cu),
// so that both compute a row's loss and gradient, and the batch's sums, the same way.
#pragma once

#define XENT_THREADS 256

// One row z [K] with its label: its loss log(sum_j exp(z_j - max)) - (z_label - max), returned, and
// whether its first argmax is the label, in *correct (1 or 0); unless dz is NULL, dz [K] = (softmax - onehot)
// / B, the gradient of the batch-mean loss.
__device__ __forceinline__ float xent_row(const float* z, int K, int label, int B, float* dz, float* correct)
{
    int best = 0;
    float m = z[0];
    for (int j = 1; j < K; j++)
        if (z[j] > m) { m = z[j]; best = j; }
    float sum = 0.0f;
    for (int j = 0; j < K; j++) sum += expf(z[j] - m);
    *correct = best == label ? 1.0f : 0.0f;
    if (dz) {
        float scale = 1.0f / ((float)B * sum);
        for (int j = 0; j < K; j++) dz[j] = expf(z[j] - m) * scale - (j == label ? 1.0f / (float)B : 0.0f);
    }
    return logf(sum) - (z[label] - m);
}

// Adds the block's per-thread loss and correct-count partials into stats[0] and stats[1], in a fixed
// order (a tree over XENT_THREADS threads, in the calling kernel's shared loss_part and correct_part of
// XENT_THREADS floats each); every thread of a block of XENT_THREADS calls it.
__device__ __forceinline__ void xent_block_sum(float loss, float correct, float* loss_part, float* correct_part,
                                               float* stats)
{
    int tid = threadIdx.x;
    loss_part[tid] = loss;
    correct_part[tid] = correct;
    __syncthreads();
    for (int half = XENT_THREADS / 2; half > 0; half >>= 1) {
        if (tid < half) {
            loss_part[tid] += loss_part[tid + half];
            correct_part[tid] += correct_part[tid + half];
        }
        __syncthreads();
    }
    if (tid == 0) {
        stats[0] += loss_part[0];
        stats[1] += correct_part[0];
    }
}
