package gpulenet.backend.cpu;

import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CpuTensorTest {
    @Test
    void viewsMustFitInsideTheirStorage() {
        try (CpuBackend backend = new CpuBackend(1)) {
            Tensor base = backend.allocate(DType.F32, 2, 3);
            backend.view(base, 2, 4);
            assertThrows(IllegalArgumentException.class, () -> backend.view(base, 3, 4));
            assertThrows(IllegalArgumentException.class, () -> backend.view(base, -1, 1));
            Tensor inner = backend.view(base, 1, 5);
            assertThrows(IllegalArgumentException.class, () -> backend.view(inner, 1, 5), "a view of a view counts from the storage");
        }
    }

    @Test
    void transfersCheckLengthAndType() {
        try (CpuBackend backend = new CpuBackend(1)) {
            Tensor f = backend.allocate(DType.F32, 4);
            assertThrows(IllegalArgumentException.class, () -> backend.upload(f, new float[3]));
            assertThrows(IllegalArgumentException.class, () -> backend.upload(f, new int[4]));
            Tensor i = backend.allocate(DType.I32, 2);
            backend.upload(i, new int[]{7, -8});
            int[] back = new int[2];
            backend.download(i, back);
            assertArrayEquals(new int[]{7, -8}, back);
        }
    }

    @Test
    void opsRejectMismatchedShapes() {
        try (CpuBackend backend = new CpuBackend(1)) {
            Tensor x = backend.allocate(DType.F32, 2, 1, 8, 8);
            Tensor w = backend.allocate(DType.F32, 3, 1, 3, 3);
            Tensor b = backend.allocate(DType.F32, 3);
            assertThrows(IllegalArgumentException.class,
                    () -> backend.conv2dForward(x, w, b, 0, false, backend.allocate(DType.F32, 2, 3, 8, 8)));
            // an odd height is pooled as PyTorch does (3 rows give 1), so [1,1,2,2] is the wrong output
            assertThrows(IllegalArgumentException.class,
                    () -> backend.maxPool2x2Forward(backend.allocate(DType.F32, 1, 1, 3, 4),
                            backend.allocate(DType.F32, 1, 1, 2, 2), backend.allocate(DType.I32, 1, 1, 2, 2)));
            assertThrows(IllegalArgumentException.class,
                    () -> backend.maxPool2x2Forward(backend.allocate(DType.F32, 1, 1, 1, 4),
                            backend.allocate(DType.F32, 1, 1, 0, 2), backend.allocate(DType.I32, 1, 1, 0, 2)));
            assertThrows(IllegalArgumentException.class,
                    () -> backend.linearForward(backend.allocate(DType.F32, 2, 5), backend.allocate(DType.F32, 3, 4),
                            backend.allocate(DType.F32, 3), false, backend.allocate(DType.F32, 2, 3)));
        }
    }
}
