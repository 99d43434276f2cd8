package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The emulated driver's gemm is what the cuBLAS mapping of the linear layers is tested against, so it
 * must be cublasSgemm exactly: column-major, op() per flag, leading dimensions, beta, argument checks.
 */
class ReferenceGemmTest {

    // A = [[1,2,3],[4,5,6]] (2x3) column-major with lda 3 (one row of padding): 1,4,_, 2,5,_, 3,6,_
    private static final float[] A = {1, 4, -9, 2, 5, -9, 3, 6, -9};
    // B = [[1,0],[0,1],[1,1]] (3x2) column-major, ldb 3
    private static final float[] B = {1, 0, 1, 0, 1, 1};

    @Test
    void noTransposeWithLeadingDimensionAndBeta() {
        try (EmulatedDriver d = new EmulatedDriver(true)) {
            DevicePtr a = upload(d, A);
            DevicePtr b = upload(d, B);
            // C = 2 * A B + 1 * C, C 2x2 column-major with ldc 2; A B = [[4,5],[10,11]]
            DevicePtr c = upload(d, new float[] {1, 1, 1, 1});
            d.gemm(false, false, 2, 2, 3, 2f, a, 3, b, 3, 1f, c, 2);
            assertArrayEquals(new float[] {9, 21, 11, 23}, download(d, c, 4));
        }
    }

    @Test
    void transposesReadTheStoredMatrixTransposed() {
        try (EmulatedDriver d = new EmulatedDriver(true)) {
            DevicePtr a = upload(d, A);
            DevicePtr b = upload(d, B);
            // C (2x2) = B^T A^T = (A B)^T = [[4,10],[5,11]]; beta 0 ignores NaN in C
            DevicePtr c = upload(d, new float[] {Float.NaN, Float.NaN, Float.NaN, Float.NaN});
            d.gemm(true, true, 2, 2, 3, 1f, b, 3, a, 3, 0f, c, 2);
            assertArrayEquals(new float[] {4, 5, 10, 11}, download(d, c, 4));
        }
    }

    @Test
    void leadingDimensionsSmallerThanTheRowsAreRejectedLikeCublas() {
        try (EmulatedDriver d = new EmulatedDriver(true)) {
            DevicePtr a = upload(d, A);
            DevicePtr b = upload(d, B);
            DevicePtr c = upload(d, new float[4]);
            CudaOperationException e = assertThrows(CudaOperationException.class,
                    () -> d.gemm(false, false, 2, 2, 3, 1f, a, 1, b, 3, 0f, c, 2));
            assertTrue(e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE"), e.getMessage());
        }
    }

    @Test
    void outOfMemorySaysHowMuchWasAskedFor() {
        try (EmulatedDriver d = new EmulatedDriver(true, 1 << 20)) {
            CudaOperationException e = assertThrows(CudaOperationException.class, () -> d.alloc(3L << 20));
            assertTrue(e.getMessage().contains("3145728 bytes"), e.getMessage());
        }
    }

    private static DevicePtr upload(EmulatedDriver d, float[] v) {
        DevicePtr p = d.alloc(4L * v.length);
        d.copyToDevice(p, v, 0, v.length);
        return p;
    }

    private static float[] download(EmulatedDriver d, DevicePtr p, int n) {
        float[] out = new float[n];
        d.copyToHost(p, out, 0, n);
        return out;
    }
}
