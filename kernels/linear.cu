// Bias (with an optional fused ReLU) for the linear layers (the matrix products themselves are cuBLAS
// or sgemm; the ReLU mask of their input gradient is relu_backward in relu.cu).

#define LINEAR_THREADS 256

// y [B,N] in place: y += b (b [N] broadcast over rows), then ReLU when relu != 0.
// Launch: grid (ceil(B*N / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void bias_forward(float* y, const float* b, int B, int N, int relu)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * N) return;
    float v = y[t] + b[t % N];
    y[t] = (relu && v < 0.0f) ? 0.0f : v;
}

// dy [B,N] -> db [N] = column sums of dy (overwrites db).
// Deterministic: each block sums one column with a fixed per-thread stride and a fixed-order tree.
// Launch: grid (N, 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void bias_backward(const float* dy, float* db, int B, int N)
{
    __shared__ float partial[LINEAR_THREADS];
    int j = blockIdx.x;
    int tid = threadIdx.x;
    float s = 0.0f;
    for (int i = tid; i < B; i += LINEAR_THREADS) s += dy[(size_t)i * N + j];
    partial[tid] = s;
    __syncthreads();
    for (int half = LINEAR_THREADS / 2; half > 0; half >>= 1) {
        if (tid < half) partial[tid] += partial[tid + half];
        __syncthreads();
    }
    if (tid == 0) db[j] = partial[0];
}
