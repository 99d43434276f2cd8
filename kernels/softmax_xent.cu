// Fused softmax + cross-entropy over a batch of logits, in one block so that the loss sum and the
// count of correct predictions are reduced in a fixed order (same inputs, same bits).

#define XENT_THREADS 256

// logits [B,K], labels [B] -> dlogits [B,K] = (softmax - onehot) / B (skipped when dlogits is NULL);
// stats [2]: stats[0] += sum_i loss_i, stats[1] += count of rows whose argmax (first of equals) == label.
// loss_i = log(sum_j exp(z_ij - max_i)) - (z_i,label - max_i).
// Launch: grid (1, 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void softmax_cross_entropy(const float* logits, const int* labels, float* dlogits,
                                                 float* stats, int B, int K)
{
    __shared__ float loss_part[XENT_THREADS];
    __shared__ float correct_part[XENT_THREADS];
    int tid = threadIdx.x;
    float loss = 0.0f, correct = 0.0f;
    for (int i = tid; i < B; i += XENT_THREADS) {
        const float* z = logits + (size_t)i * K;
        int best = 0;
        float m = z[0];
        for (int j = 1; j < K; j++)
            if (z[j] > m) { m = z[j]; best = j; }
        float sum = 0.0f;
        for (int j = 0; j < K; j++) sum += expf(z[j] - m);
        int label = labels[i];
        loss += logf(sum) - (z[label] - m);
        if (best == label) correct += 1.0f;
        if (dlogits) {
            float scale = 1.0f / ((float)B * sum);
            for (int j = 0; j < K; j++)
                dlogits[(size_t)i * K + j] = expf(z[j] - m) * scale - (j == label ? 1.0f / (float)B : 0.0f);
        }
    }
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
