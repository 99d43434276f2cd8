package gpulenet.backend.cpu;

/**
 * Reusable float buffers, one per named slot, grown (never shrunk) when a larger shape arrives, so a
 * training step allocates nothing. Contents are left over from the last use: callers write what
 * they read, except padding lanes whose results they discard.
 */
final class Scratch {
    private final float[][] slots = new float[Slot.values().length][];

    /** What each buffer holds; one slot per concurrent use. */
    enum Slot {
        /** A zero-padded copy of one sample (conv). */
        PADDED,
        /** One sample's patches, im2col style (conv). */
        COLUMNS,
        /** A GEMM result before it is copied out (conv, linear). */
        PRODUCT,
        /** Per-chunk weight gradients before their fixed-order sum (conv, shared). */
        PARTIALS,
        /** A transposed weight matrix (linear, shared). */
        WEIGHTS_T
    }

    float[] get(Slot slot, int size) {
        float[] buf = slots[slot.ordinal()];
        if (buf == null || buf.length < size) {
            buf = new float[size];
            slots[slot.ordinal()] = buf;
        }
        return buf;
    }
}
