// Fused softmax + cross-entropy over a batch of logits, in one block so that the loss sum and the
// count of correct predictions are reduced in a fixed order (same inputs, same bits).

#include "softmax_xent.cuh"

// logits [B,K], labels [B] -> dlogits [B,K] = (softmax - onehot) / B (skipped when dlogits is NULL);
// stats [2]: stats[0] += sum_i loss_i, stats[1] += count of rows whose argmax (first of equals) == label.
// loss_i = log(sum_j exp(z_ij - max_i)) - (z_i,label - max_i).
// Launch: grid (1, 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void softmax_cross_entropy(const float* logits, const int* labels, float* dlogits,
                                                 float* stats, int B, int K)
{
    __shared__ float loss_part[XENT_THREADS];
    __shared__ float correct_part[XENT_THREADS];
    float loss = 0.0f, correct = 0.0f;
    for (int i = threadIdx.x; i < B; i += XENT_THREADS) {
        float row_correct;
        loss += xent_row(logits + (size_t)i * K, K, labels[i], B, dlogits ? dlogits + (size_t)i * K : nullptr,
                         &row_correct);
        correct += row_correct;
    }
    xent_block_sum(loss, correct, loss_part, correct_part, stats);
}
