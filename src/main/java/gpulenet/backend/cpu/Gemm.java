package gpulenet.backend.cpu;

/**
 * The one matrix kernel behind convolution and linear layers: C[m,n] += A[m,k] B[k,n], B and C
 * row-major with contiguous rows. The innermost loop runs along a row of C and four rows of B
 * (c[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]), a form the JIT compiles to SIMD code; a
 * dot-product loop would stay scalar. A is read one element at a time, so any strides work, which
 * lets callers pass a transposed A without copying it. Each element of C sums over k in the same
 * fixed order whatever m and n are, so splitting C across threads never changes the bits.
 */
final class Gemm {
    private Gemm() {
    }

    /**
     * @param a element (i, p) of A is a[ao + i * aRow + p * aCol]
     * @param b row p of B starts at b[bo + p * ldb]
     * @param c row i of C starts at c[co + i * ldc]
     */
    static void multiplyAdd(int m, int n, int k, float[] a, int ao, int aRow, int aCol, float[] b, int bo, int ldb,
                            float[] c, int co, int ldc) {
        for (int i = 0; i < m; i++) {
            int ci = co + i * ldc;
            int ai = ao + i * aRow;
            int p = 0;
            for (; p + 4 <= k; p += 4) {
                float a0 = a[ai + p * aCol];
                float a1 = a[ai + (p + 1) * aCol];
                float a2 = a[ai + (p + 2) * aCol];
                float a3 = a[ai + (p + 3) * aCol];
                int b0 = bo + p * ldb;
                int b1 = b0 + ldb;
                int b2 = b1 + ldb;
                int b3 = b2 + ldb;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
                }
            }
            for (; p < k; p++) {
                float a0 = a[ai + p * aCol];
                int b0 = bo + p * ldb;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += a0 * b[b0 + j];
                }
            }
        }
    }

    /** Rounds a row length up to a whole number of 512-bit vectors, so SIMD loops have no scalar tail. */
    static int padded(int n) {
        return (n + 15) & ~15;
    }
}
