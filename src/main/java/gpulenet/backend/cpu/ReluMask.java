package gpulenet.backend.cpu;

/** The ReLU's backward pass for one element, without a branch. */
final class ReluMask {
    private ReluMask() {
    }

    /**
     * g where y > 0, else 0. After a ReLU about half the values are 0 in no predictable pattern, and a
     * mispredicted branch per element costs more than the rest of the loop, so this masks bits instead:
     * the mask is all ones exactly when y's bits, read as an int, are positive, that is y > 0, or a
     * NaN with the sign bit clear (a NaN activation has already made the loss NaN).
     */
    static float pass(float g, float y) {
        int bits = Float.floatToRawIntBits(y);
        int mask = (-bits & ~bits) >> 31;
        return Float.intBitsToFloat(Float.floatToRawIntBits(g) & mask);
    }
}
