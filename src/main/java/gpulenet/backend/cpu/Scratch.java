package gpulenet.backend.cpu;

/**
 * Reusable buffers, one per named slot, grown (never shrunk) when a larger shape arrives, so a
 * training step allocates no buffers. Contents are left over from the last use: callers write what
 * they read, except padding lanes whose results they discard.
 */
final class Scratch {
    private final float[][] vectors = new float[Slot.values().length][];
    private final float[][][] matrices = new float[Slot.values().length][][];
    /** The nonzeros of one sample's output gradient (conv), by output channel. */
    final NonzeroRows nonzeros = new NonzeroRows();
    /** The same nonzeros by output position (conv input gradient). */
    final NonzeroRows nonzerosByPosition = new NonzeroRows();

    /** What each buffer holds; one slot per concurrent use. */
    enum Slot {
        /** A zero-padded copy of one sample (conv). */
        PADDED,
        /** Patches, im2col style, of one sample or of a few side by side (conv). */
        COLUMNS,
        /** A sample's output gradient laid out wide, for the lane form of the weight gradient (conv). */
        OPERAND,
        /** A GEMM result before it is copied out (conv, linear). */
        PRODUCT,
        /** Running sums while adding patch gradients back (conv). */
        SUMS,
        /** The gradient of one patch (conv). */
        PATCH,
        /** Per-lane sums of a weight gradient (conv). */
        ACCUMULATORS,
        /** Per-chunk weight gradients before their fixed-order sum (conv, shared). */
        PARTIALS,
        /** A weight matrix, transposed or copied into rows (linear; conv input gradient; shared). */
        WEIGHTS,
        /** The layer input, copied row by row (linear, shared). */
        INPUTS
    }

    /**
     * The sizes the matrices of some slots grow to, worked out without allocating them (for memory
     * estimates): like {@link #matrix}, rows and columns each grow to the largest asked for.
     */
    static final class Sizes {
        /** A row's array header and its reference in the matrix (64-bit JVM, compressed references). */
        private static final long ROW_OVERHEAD_BYTES = 16 + 4;
        private final long[] rows = new long[Slot.values().length];
        private final long[] cols = new long[Slot.values().length];

        void matrix(Slot slot, long rowCount, long colCount) {
            rows[slot.ordinal()] = Math.max(rows[slot.ordinal()], rowCount);
            cols[slot.ordinal()] = Math.max(cols[slot.ordinal()], colCount);
        }

        long bytes() {
            long total = 0;
            for (int i = 0; i < rows.length; i++) {
                total += rows[i] * (cols[i] * Float.BYTES + ROW_OVERHEAD_BYTES);
            }
            return total;
        }
    }

    float[] vector(Slot slot, int size) {
        float[] buf = vectors[slot.ordinal()];
        if (buf == null || buf.length < size) {
            buf = new float[size];
            vectors[slot.ordinal()] = buf;
        }
        return buf;
    }

    /**
     * A matrix of at least {@code rows} rows of at least {@code cols} floats. Rows are separate arrays
     * so that {@link Gemm}'s loops index every array from 0, which the JIT needs to vectorise them.
     */
    float[][] matrix(Slot slot, int rows, int cols) {
        float[][] m = matrices[slot.ordinal()];
        if (m == null || m.length < rows || m[0].length < cols) {
            int newRows = Math.max(rows, m == null ? 0 : m.length);
            int newCols = Math.max(cols, m == null ? 0 : m[0].length);
            // let go of the old one first: with both alive, a large batch would need the memory twice over
            matrices[slot.ordinal()] = null;
            m = new float[newRows][newCols];
            matrices[slot.ordinal()] = m;
        }
        return m;
    }
}
