package gpulenet.backend;

import java.util.Arrays;

/**
 * A dense row-major (NCHW) tensor owned by one backend. The data lives wherever the backend keeps it
 * (a Java array for the CPU, device memory for CUDA); the Java side only sees shape and type and moves
 * data with {@link Backend#upload} and {@link Backend#download}.
 */
public abstract class Tensor {
    /**
     * The most elements one tensor may have on any backend: the longest Java array on the CPU; on a GPU
     * the kernels index elements with 32-bit ints.
     */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DType dtype;
    private final int[] shape;
    private final long size;

    protected Tensor(DType dtype, int... shape) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        this.size = n;
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int i) {
        return shape[i];
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public long size() {
        return size;
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
