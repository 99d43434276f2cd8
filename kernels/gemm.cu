// Tiled single-precision GEMM, row-major, for hosts where cuBLAS cannot be loaded and as a check
// on the cuBLAS path. Each block stages a 16x16 tile of op(A) and of op(B) in shared memory per step
// along K; transposed operands are loaded so that neighbouring threads read neighbouring addresses.

#define GEMM_TILE 16

// C [M,N] = alpha * op(A) op(B) + beta * C   (C is not read when beta == 0)
// op(A) [M,K]: A stored [M,K] (lda >= K), or [K,M] (lda >= M) when transA != 0.
// op(B) [K,N]: B stored [K,N] (ldb >= N), or [N,K] (ldb >= K) when transB != 0.
// Launch: grid (ceil(N / 16), ceil(M / 16), 1), block (16, 16, 1), dynamic shared 0.
extern "C" __global__ void sgemm(int transA, int transB, int M, int N, int K, float alpha,
                                 const float* A, int lda, const float* B, int ldb, float beta,
                                 float* C, int ldc)
{
    __shared__ float As[GEMM_TILE][GEMM_TILE + 1];  // As[m][k]; +1 avoids bank conflicts
    __shared__ float Bs[GEMM_TILE][GEMM_TILE + 1];  // Bs[k][n]
    int tx = threadIdx.x, ty = threadIdx.y;
    int row0 = blockIdx.y * GEMM_TILE, col0 = blockIdx.x * GEMM_TILE;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_TILE) {
        if (transA) {
            int m = row0 + tx, k = k0 + ty;
            As[tx][ty] = (m < M && k < K) ? A[(size_t)k * lda + m] : 0.0f;
        } else {
            int m = row0 + ty, k = k0 + tx;
            As[ty][tx] = (m < M && k < K) ? A[(size_t)m * lda + k] : 0.0f;
        }
        if (transB) {
            int n = col0 + ty, k = k0 + tx;
            Bs[tx][ty] = (n < N && k < K) ? B[(size_t)n * ldb + k] : 0.0f;
        } else {
            int n = col0 + tx, k = k0 + ty;
            Bs[ty][tx] = (n < N && k < K) ? B[(size_t)k * ldb + n] : 0.0f;
        }
        __syncthreads();
        for (int k = 0; k < GEMM_TILE; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    int row = row0 + ty, col = col0 + tx;
    if (row < M && col < N) {
        float* c = C + (size_t)row * ldc + col;
        *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
    }
}
