package gpulenet.backend.cpu;

/**
 * The one matrix kernel behind convolution and linear layers: C[m,n] += A[m,k] B[k,n]. The innermost
 * loop runs along a row of C and four rows of B (c[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]),
 * a form the JIT compiles to SIMD code; a dot-product loop would stay scalar. B and C are arrays of
 * rows indexed from 0: with a row offset the JIT (JDK 17) cannot rule out that a row of C overlaps a
 * row of B and leaves the loop scalar, about five times slower. A is read one element at a time, so
 * any strides work, which lets callers pass a transposed A without copying it. Each element of C
 * sums over k in the same fixed order whatever m and n are, so splitting C across threads never
 * changes the bits.
 */
final class Gemm {
    /**
     * Rows of C are taken in blocks of about this many floats (16 KiB, a third of a first-level data
     * cache), so a block of C stays in cache while all of B streams past it once.
     */
    private static final int BLOCK_FLOATS = 4096;

    private Gemm() {
    }

    /**
     * @param a element (i, p) of A is a[ao + i * aRow + p * aCol]
     * @param b row p of B is b[bRow + p]
     * @param c row i of C is c[cRow + i]
     */
    static void multiplyAdd(int m, int n, int k, float[] a, int ao, int aRow, int aCol, float[][] b, int bRow,
                            float[][] c, int cRow) {
        int rowsPerBlock = Math.max(1, BLOCK_FLOATS / Math.max(n, 1));
        for (int first = 0; first < m; first += rowsPerBlock) {
            int last = Math.min(m, first + rowsPerBlock);
            int p = 0;
            for (; p + 4 <= k; p += 4) {
                float[] b0 = b[bRow + p];
                float[] b1 = b[bRow + p + 1];
                float[] b2 = b[bRow + p + 2];
                float[] b3 = b[bRow + p + 3];
                for (int i = first; i < last; i++) {
                    int ai = ao + i * aRow + p * aCol;
                    float a0 = a[ai];
                    float a1 = a[ai + aCol];
                    float a2 = a[ai + 2 * aCol];
                    float a3 = a[ai + 3 * aCol];
                    float[] ci = c[cRow + i];
                    for (int j = 0; j < n; j++) {
                        ci[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
                    }
                }
            }
            for (; p < k; p++) {
                float[] b0 = b[bRow + p];
                for (int i = first; i < last; i++) {
                    float a0 = a[ao + i * aRow + p * aCol];
                    float[] ci = c[cRow + i];
                    for (int j = 0; j < n; j++) {
                        ci[j] += a0 * b0[j];
                    }
                }
            }
        }
    }

    /** Rounds a row length up to a whole number of 512-bit vectors, so SIMD loops have no scalar tail. */
    static int padded(int n) {
        return (n + 15) & ~15;
    }
}
