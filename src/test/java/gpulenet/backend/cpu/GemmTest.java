package gpulenet.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The products over a nonzero list must give the dense product's bits, not merely close values:
 * the CPU backend's results (and so the golden trajectory) must not depend on how sparse a gradient
 * happens to be.
 */
class GemmTest {
    private static final Random RANDOM = new Random(7);

    @Test
    void denseProductMatchesAPlainTripleLoop() {
        int m = 5, n = 21, k = 11;
        float[] a = randomMatrix(m, k, 0.0);
        float[][] b = randomRows(k, n);
        float[][] c = randomRows(m, n);
        double[][] expected = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                expected[i][j] = c[i][j];
                for (int p = 0; p < k; p++) {
                    expected[i][j] += (double) a[i * k + p] * b[p][j];
                }
            }
        }
        Gemm.multiplyAdd(m, n, k, a, 0, k, 1, b, 0, c, 0);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(expected[i][j], c[i][j], 1e-5 + 1e-5 * Math.abs(expected[i][j]), "C[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void productOverNonzerosHasTheDenseBits() {
        // k = 13 leaves a tail after the groups of four; rows run from empty to dense.
        for (double zeros : new double[]{0.0, 0.5, 0.75, 0.95, 1.0}) {
            int m = 7, n = 37, k = 13;
            float[] a = randomMatrix(m, k, zeros);
            float[][] b = randomRows(k, n);
            float[][] dense = randomRows(m, n);
            float[][] sparse = copy(dense);
            Gemm.multiplyAdd(m, n, k, a, 0, k, 1, b, 0, dense, 0);
            NonzeroRows rows = new NonzeroRows();
            rows.scan(a, 0, m, k);
            Gemm.multiplyAdd(rows, n, b, sparse, 0);
            assertSameBits(dense, sparse, "A B with " + zeros + " zeros");
        }
    }

    @Test
    void transposedProductOverNonzerosHasTheDenseBits() {
        for (double zeros : new double[]{0.0, 0.75, 1.0}) {
            int m = 9, n = 19, k = 6;
            float[] a = randomMatrix(m, k, zeros);
            float[][] b = randomRows(m, n);
            float[][] dense = randomRows(k, n);
            float[][] sparse = copy(dense);
            // A^T read through strides: row p of A^T is column p of A.
            Gemm.multiplyAdd(k, n, m, a, 0, 1, k, b, 0, dense, 0);
            NonzeroRows rows = new NonzeroRows();
            rows.scan(a, 0, m, k);
            NonzeroRows columns = new NonzeroRows();
            columns.transpose(rows, k);
            Gemm.multiplyAdd(columns, n, b, sparse, 0);
            assertSameBits(dense, sparse, "A^T B with " + zeros + " zeros");
        }
    }

    @Test
    void nonzeroRowsListsEachRowsNonzerosInColumnOrder() {
        float[] a = {0f, 2f, 0f, -0f, 3f, 0f, 0f, 0f, Float.NaN, 1e-45f};
        NonzeroRows rows = new NonzeroRows();
        rows.scan(a, 1, 3, 3);
        assertEquals(3, rows.rows());
        int[][] columns = {{0}, {0}, {1, 2}};
        float[][] values = {{2f}, {3f}, {Float.NaN, 1e-45f}};
        for (int r = 0; r < 3; r++) {
            assertEquals(columns[r].length, rows.end(r) - rows.start(r), "entries of row " + r);
            for (int e = 0; e < columns[r].length; e++) {
                assertEquals(columns[r][e], rows.column(rows.start(r) + e));
                assertEquals(values[r][e], rows.value(rows.start(r) + e));
            }
        }
    }

    @Test
    void transposeListsEachColumnsNonzerosInRowOrder() {
        // [[0, 2, 0], [5, 0, 3], [0, 0, 0], [7, 4, 0]]: column 0 is {5 at row 1, 7 at row 3}, and so on.
        float[] a = {0f, 2f, 0f, 5f, 0f, 3f, 0f, 0f, 0f, 7f, 4f, 0f};
        NonzeroRows rows = new NonzeroRows();
        rows.scan(a, 0, 4, 3);
        NonzeroRows columns = new NonzeroRows();
        columns.transpose(rows, 3);
        assertEquals(3, columns.rows());
        int[][] indices = {{1, 3}, {0, 3}, {1}};
        float[][] values = {{5f, 7f}, {2f, 4f}, {3f}};
        for (int p = 0; p < 3; p++) {
            assertEquals(indices[p].length, columns.end(p) - columns.start(p), "entries of column " + p);
            for (int e = 0; e < indices[p].length; e++) {
                assertEquals(indices[p][e], columns.column(columns.start(p) + e));
                assertEquals(values[p][e], columns.value(columns.start(p) + e));
            }
        }
    }

    private static float[] randomMatrix(int rows, int cols, double zeros) {
        float[] a = new float[rows * cols];
        for (int i = 0; i < a.length; i++) {
            a[i] = RANDOM.nextDouble() < zeros ? 0f : (float) RANDOM.nextGaussian();
        }
        return a;
    }

    private static float[][] randomRows(int rows, int cols) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) RANDOM.nextGaussian();
            }
        }
        return m;
    }

    private static float[][] copy(float[][] m) {
        float[][] out = new float[m.length][];
        for (int i = 0; i < m.length; i++) {
            out[i] = m[i].clone();
        }
        return out;
    }

    private static void assertSameBits(float[][] expected, float[][] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                if (Float.floatToIntBits(expected[i][j]) != Float.floatToIntBits(actual[i][j])) {
                    fail(what + ": C[" + i + "][" + j + "] is " + actual[i][j] + ", dense product gives " + expected[i][j]);
                }
            }
        }
    }
}
