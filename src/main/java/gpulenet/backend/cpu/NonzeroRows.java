package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * The nonzero entries of a row-major [rows, cols] matrix, row by row (compressed sparse rows): the
 * entries of row r are column[i], value[i] for i in [start[r], start[r + 1]), in column order. A
 * convolution's output gradient after max-pool and ReLU is three-quarters zeros or more, so
 * products with it listed this way ({@link Gemm#multiplyAdd(NonzeroRows, int, float[][], float[][], int)})
 * do a quarter of the dense work or less. Reused across calls; grows, never shrinks.
 */
final class NonzeroRows {
    private int rows;
    private int[] start = new int[1];
    private int[] column = new int[0];
    private float[] value = new float[0];
    /** Where the next entry of each row goes while {@link #transpose} fills the rows. */
    private int[] next = new int[0];

    /** Lists the nonzeros of the row-major matrix a[offset + r * cols + p], r in [0, rows), p in [0, cols). */
    void scan(float[] a, int offset, int rows, int cols) {
        if (start.length < rows + 1) {
            start = new int[rows + 1];
        }
        if (column.length < rows * cols) {
            column = new int[rows * cols];
            value = new float[rows * cols];
        }
        this.rows = rows;
        int count = 0;
        for (int r = 0; r < rows; r++) {
            start[r] = count;
            for (int p = 0; p < cols; p++) {
                // Written unconditionally and kept by advancing the count: no branch to mispredict.
                float v = a[offset + r * cols + p];
                column[count] = p;
                value[count] = v;
                count += v != 0f ? 1 : 0;
            }
        }
        start[rows] = count;
    }

    /**
     * Lists the nonzeros of A^T, A [a.rows(), cols] being the matrix listed in {@code a}: row p holds
     * column p of A, in A's row order (a counting sort of a's entries by column).
     */
    void transpose(NonzeroRows a, int cols) {
        int count = a.start[a.rows];
        if (start.length < cols + 1) {
            start = new int[cols + 1];
        }
        if (next.length < cols) {
            next = new int[cols];
        }
        if (column.length < count) {
            column = new int[count];
            value = new float[count];
        }
        this.rows = cols;
        Arrays.fill(start, 0, cols + 1, 0);
        for (int i = 0; i < count; i++) {
            start[a.column[i] + 1]++;
        }
        for (int p = 0; p < cols; p++) {
            start[p + 1] += start[p];
        }
        System.arraycopy(start, 0, next, 0, cols);
        for (int r = 0; r < a.rows; r++) {
            for (int i = a.start[r]; i < a.start[r + 1]; i++) {
                int at = next[a.column[i]]++;
                column[at] = r;
                value[at] = a.value[i];
            }
        }
    }

    int rows() {
        return rows;
    }

    int start(int row) {
        return start[row];
    }

    int end(int row) {
        return start[row + 1];
    }

    int column(int i) {
        return column[i];
    }

    float value(int i) {
        return value[i];
    }
}
