// sgemm against a double-precision C++ reference: the transpose cases, sizes that are not
// multiples of the tile, leading dimensions larger than the rows, alpha/beta, and beta == 0
// never reading C.
#include "harness.h"
#include "../kernels/gemm.cu"

using namespace harness;

static void run_case(Checker& check, int transA, int transB, int M, int N, int K, int pad_ld, float alpha,
                     float beta, bool timed)
{
    Random rnd(M * 10007 + N * 101 + K + transA * 3 + transB);
    int a_rows = transA ? K : M, a_cols = transA ? M : K;
    int b_rows = transB ? N : K, b_cols = transB ? K : N;
    int lda = a_cols + pad_ld, ldb = b_cols + pad_ld, ldc = N + pad_ld;
    std::vector<float> A = rnd.floats((size_t)a_rows * lda, -1, 1), B = rnd.floats((size_t)b_rows * ldb, -1, 1);
    std::vector<float> C = rnd.floats((size_t)M * ldc, -1, 1);
    if (beta == 0.0f)
        for (auto& v : C) v = NAN;  // beta == 0 must not read C
    std::vector<double> ref(C.begin(), C.end());
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = transA ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                double b = transB ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
                s += a * b;
            }
            double c = C[(size_t)m * ldc + n];
            ref[(size_t)m * ldc + n] = beta == 0.0f ? alpha * s : alpha * s + beta * c;
        }
    DeviceBuffer<float> d_A(A), d_B(B), d_C(C);
    dim3 grid(blocks_for(N, 16), blocks_for(M, 16)), block(16, 16);
    LAUNCH(sgemm, grid, block, transA, transB, M, N, K, alpha, d_A.ptr, lda, d_B.ptr, ldb, beta, d_C.ptr, ldc);
    std::string name = std::string("sgemm ") + (transA ? "T" : "N") + (transB ? "T" : "N") + " M=" + std::to_string(M) +
                       " N=" + std::to_string(N) + " K=" + std::to_string(K) + " ld+" + std::to_string(pad_ld) +
                       " a=" + std::to_string(alpha).substr(0, 4) + " b=" + std::to_string(beta).substr(0, 4);
    std::vector<float> got = d_C.download();
    // Padding columns of C must stay as they were (NaN compares as equal to NaN here).
    for (size_t i = 0; i < got.size(); i++)
        if ((int)(i % ldc) >= N && std::isnan(got[i]) && std::isnan(ref[i])) got[i] = 0, ref[i] = 0;
    check.compare(name, got, ref, 1e-4, 1e-4);
    if (timed)
        TIME(name, 2.0 * M * N * K, "GFLOP/s", sgemm, grid, block, transA, transB, M, N, K, alpha, d_A.ptr, lda, d_B.ptr,
             ldb, beta, d_C.ptr, ldc);
}

int main()
{
    Checker check;
    const int cases[][2] = {{0, 1}, {0, 0}, {1, 0}, {1, 1}};
    for (const auto& t : cases) {
        run_case(check, t[0], t[1], 1, 10, 84, 0, 1.0f, 0.0f, false);
        run_case(check, t[0], t[1], 7, 120, 400, 0, 1.0f, 0.0f, false);
        run_case(check, t[0], t[1], 64, 84, 120, 0, 1.0f, 0.0f, false);
        run_case(check, t[0], t[1], 33, 17, 5, 3, 0.5f, 2.0f, false);
        run_case(check, t[0], t[1], 19, 40, 37, 1, -1.0f, 1.0f, false);
    }
    if (kOnGpu) {
        run_case(check, 0, 1, 1024, 120, 400, 0, 1.0f, 0.0f, true);
        run_case(check, 0, 0, 1024, 400, 120, 0, 1.0f, 0.0f, true);
        run_case(check, 1, 0, 120, 400, 1024, 0, 1.0f, 0.0f, true);
        run_case(check, 0, 1, 512, 512, 512, 0, 1.0f, 0.0f, true);
    }
    return check.finish("gemm");
}
