package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.TensorRef;

import java.nio.ByteBuffer;

/** A tensor's values read out of its storage's bytes, in row-major order, whatever its strides, as float32. */
final class TensorData {
    private TensorData() {
    }

    /**
     * The elements of {@code t} (a floating dtype; its view already checked to lie inside the storage) from
     * {@code storage}, little-endian bytes of at least the storage's size. The view is walked index by index, so a
     * transposed, sliced or expanded tensor reads as its {@code .contiguous()} copy would.
     */
    static float[] floats(TensorRef t, ByteBuffer storage) {
        Dtype dtype = t.storage().dtype();
        int n = Math.toIntExact(t.numel());
        float[] out = new float[n];
        if (n == 0) {
            return out;
        }
        long[] size = t.size();
        long[] stride = t.stride();
        int dims = size.length;
        long[] index = new long[dims];
        long at = t.offset();
        for (int i = 0; i < n; i++) {
            out[i] = dtype.floatAt(storage, at);
            for (int d = dims - 1; d >= 0; d--) {
                if (++index[d] < size[d]) {
                    at += stride[d];
                    break;
                }
                at -= (size[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
        return out;
    }
}
