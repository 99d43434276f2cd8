package gpulenet.backend.cpu;

import gpulenet.backend.DType;
import gpulenet.backend.Tensor;

/**
 * A tensor in a Java array: float[] for F32, int[] for I32, byte[] for U8. Elements start at
 * {@link #offset()} in the array, so a view is a second tensor over the same array.
 */
final class CpuTensor extends Tensor {
    private final Object storage;
    private final int offset;

    private CpuTensor(DType dtype, Object storage, int offset, int... shape) {
        super(dtype, shape);
        this.storage = storage;
        this.offset = offset;
        if (offset < 0 || offset + size() > capacity(storage)) {
            throw new IllegalArgumentException("view " + this + " at offset " + offset + " does not fit in "
                    + capacity(storage) + " elements");
        }
    }

    static CpuTensor allocate(DType dtype, int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= Math.max(d, 0);
        }
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("tensor of " + n + " elements is too large for the CPU backend");
        }
        Object storage;
        switch (dtype) {
            case F32: storage = new float[(int) n]; break;
            case I32: storage = new int[(int) n]; break;
            case U8: storage = new byte[(int) n]; break;
            default: throw new IllegalArgumentException("unknown dtype " + dtype);
        }
        return new CpuTensor(dtype, storage, 0, shape);
    }

    CpuTensor view(long elementOffset, int... shape) {
        if (elementOffset > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("view offset " + elementOffset + " out of range");
        }
        return new CpuTensor(dtype(), storage, offset + (int) elementOffset, shape);
    }

    private static int capacity(Object storage) {
        if (storage instanceof float[]) {
            return ((float[]) storage).length;
        }
        if (storage instanceof int[]) {
            return ((int[]) storage).length;
        }
        return ((byte[]) storage).length;
    }

    /** Index of element 0 in the storage array. */
    int offset() {
        return offset;
    }

    /** Number of elements, as an int (a Java array holds at most that many). */
    int count() {
        return (int) size();
    }

    float[] floats() {
        requireType(DType.F32);
        return (float[]) storage;
    }

    int[] ints() {
        requireType(DType.I32);
        return (int[]) storage;
    }

    byte[] bytes() {
        requireType(DType.U8);
        return (byte[]) storage;
    }

    private void requireType(DType expected) {
        if (dtype() != expected) {
            throw new IllegalArgumentException("expected a " + expected + " tensor, got " + this);
        }
    }
}
