package gpulenet.backend.cpu;

/**
 * The one matrix kernel behind convolution and linear layers: C[m,n] += A[m,k] B[k,n]. The innermost
 * loop runs along a row of C and four rows of B (c[j] = c[j] + a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]),
 * a form the JIT compiles to SIMD code; a dot-product loop would stay scalar. B and C are arrays of
 * rows indexed from 0: with a row offset the JIT (JDK 17) cannot rule out that a row of C overlaps a
 * row of B and leaves the loop scalar, about five times slower. A is read one element at a time, so
 * any strides work, which lets callers pass a transposed A without copying it.
 *
 * <p>Every element of C adds its terms a[i,p] * b[p,j] one at a time in increasing p, whatever m and
 * n are, so splitting C across threads never changes the bits. Because a zero term adds exactly
 * nothing, the products over a {@link NonzeroRows} list, which skip A's zeros, give the same bits as
 * the dense product (but for the sign of a zero sum).
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
     * C[m,n] += A[m,k] B[k,n], B streaming past blocks of C's rows.
     *
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
                    addTerms(c[cRow + i], n, a0, b0, a1, b1, a2, b2, a3, b3);
                }
            }
            for (; p < k; p++) {
                float[] b0 = b[bRow + p];
                for (int i = first; i < last; i++) {
                    addTerms(c[cRow + i], n, a[ao + i * aRow + p * aCol], b0);
                }
            }
        }
    }

    /**
     * C[m,n] += A[m,k] B[k,n] for an A given by its nonzeros (m = a.rows()), doing the work of the
     * nonzeros only, row by row (see {@link #multiplyAddRow}).
     *
     * @param b row p of B is b[p]
     * @param c row i of C is c[cRow + i]
     */
    static void multiplyAdd(NonzeroRows a, int n, float[][] b, float[][] c, int cRow) {
        for (int i = 0; i < a.rows(); i++) {
            multiplyAddRow(a, i, n, b, c[cRow + i]);
        }
    }

    /**
     * c[n] += row i of A times B[k,n], A given by its nonzeros: the rows of B under the row's
     * nonzeros, four at a time.
     *
     * @param b row p of B is b[p]
     */
    static void multiplyAddRow(NonzeroRows a, int i, int n, float[][] b, float[] c) {
        int q = a.start(i);
        int end = a.end(i);
        for (; q + 4 <= end; q += 4) {
            addTerms(c, n, a.value(q), b[a.column(q)], a.value(q + 1), b[a.column(q + 1)],
                    a.value(q + 2), b[a.column(q + 2)], a.value(q + 3), b[a.column(q + 3)]);
        }
        for (; q < end; q++) {
            addTerms(c, n, a.value(q), b[a.column(q)]);
        }
    }

    private static void addTerms(float[] c, int n, float a0, float[] b0) {
        for (int j = 0; j < n; j++) {
            c[j] += a0 * b0[j];
        }
    }

    private static void addTerms(float[] c, int n, float a0, float[] b0, float a1, float[] b1, float a2, float[] b2,
                                 float a3, float[] b3) {
        for (int j = 0; j < n; j++) {
            c[j] = c[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
    }

    /** Rounds a row length up to a whole number of 512-bit vectors, so SIMD loops have no scalar tail. */
    static int padded(int n) {
        return (n + 15) & ~15;
    }
}
