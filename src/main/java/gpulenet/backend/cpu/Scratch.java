package gpulenet.backend.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Reusable buffers, one per named slot, grown (never shrunk) when a larger shape arrives, so a
 * training step allocates no buffers. Contents are left over from the last use: callers write what
 * they read, except padding lanes whose results they discard.
 *
 * <p>A matrix's rows grow one by one: row i is as long as the widest request that had more than i
 * rows. Layers ask for different shapes (784->20000->10 asks for 20000 rows of 784 and 64 rows of
 * 20000), and one rectangle around all of them would be their largest row count times their largest
 * column count: gigabytes for what needs megabytes.
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
     * estimates): like {@link #matrix}, row i grows to the widest request with more than i rows.
     */
    static final class Sizes {
        /** A row's array header and its reference in the matrix (64-bit JVM, compressed references). */
        private static final long ROW_OVERHEAD_BYTES = 16 + 4;
        /** Each slot's requests, {rows, cols}. */
        private final List<List<long[]>> requests = new ArrayList<>();

        Sizes() {
            for (int i = 0; i < Slot.values().length; i++) {
                requests.add(new ArrayList<>());
            }
        }

        void matrix(Slot slot, long rowCount, long colCount) {
            requests.get(slot.ordinal()).add(new long[]{rowCount, colCount});
        }

        long bytes() {
            long total = 0;
            for (List<long[]> slot : requests) {
                // Tallest first: the rows between the next request's count and this one's are as wide as
                // the widest request so far.
                List<long[]> tallestFirst = new ArrayList<>(slot);
                tallestFirst.sort(Comparator.comparingLong((long[] r) -> r[0]).reversed());
                long widest = 0;
                for (int k = 0; k < tallestFirst.size(); k++) {
                    widest = Math.max(widest, tallestFirst.get(k)[1]);
                    long below = k + 1 < tallestFirst.size() ? tallestFirst.get(k + 1)[0] : 0;
                    total += (tallestFirst.get(k)[0] - below) * (widest * Float.BYTES + ROW_OVERHEAD_BYTES);
                }
            }
            return total;
        }
    }

    /** Bytes the matrices take now, counted as {@link Sizes} counts them, which must predict this. */
    long matrixBytes() {
        long total = 0;
        for (float[][] m : matrices) {
            for (int i = 0; m != null && i < m.length; i++) {
                total += m[i] == null ? 0 : (long) m[i].length * Float.BYTES + Sizes.ROW_OVERHEAD_BYTES;
            }
        }
        return total;
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
     * A matrix whose first {@code rows} rows have at least {@code cols} floats (later rows, if any, may be
     * shorter). Rows are separate arrays so that {@link Gemm}'s loops index every array from 0, which the
     * JIT needs to vectorise them.
     */
    float[][] matrix(Slot slot, int rows, int cols) {
        float[][] m = matrices[slot.ordinal()];
        if (m == null || m.length < rows) {
            m = m == null ? new float[rows][] : Arrays.copyOf(m, rows);
            matrices[slot.ordinal()] = m;
        }
        for (int i = 0; i < rows; i++) {
            if (m[i] == null || m[i].length < cols) {
                m[i] = null; // let go of the old row first, so that it can be collected for the new one
                m[i] = new float[cols];
            }
        }
        return m;
    }
}
