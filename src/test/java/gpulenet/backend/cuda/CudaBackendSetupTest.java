package gpulenet.backend.cuda;

import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GEMM choice, memory and views of the CUDA backend (no kernel launches). */
class CudaBackendSetupTest {

    @Test
    void autoUsesCublasWhereItLoadsAndTheKernelOtherwise() {
        try (CudaBackend withCublas = new CudaBackend(new EmulatedDriver(true), GemmChoice.AUTO)) {
            assertTrue(withCublas.usesCublas());
            assertTrue(withCublas.describe().endsWith("GEMM: cuBLAS"), withCublas.describe());
        }
        try (CudaBackend without = new CudaBackend(new EmulatedDriver(false), GemmChoice.AUTO)) {
            assertFalse(without.usesCublas());
            assertTrue(without.describe().contains("GEMM: sgemm kernel (cuBLAS unavailable: cuBLAS switched off"),
                    without.describe());
        }
        try (CudaBackend forced = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            assertFalse(forced.usesCublas());
        }
    }

    @Test
    void forcingCublasWhereItDoesNotLoadIsAnInputError() {
        InputException e = assertThrows(InputException.class, () -> new CudaBackend(new EmulatedDriver(false), GemmChoice.CUBLAS));
        assertEquals("--gemm cublas: cuBLAS is not usable: cuBLAS switched off in this emulated driver", e.getMessage());
        assertFalse(e instanceof CudaUnavailableException, "--device auto must not fall back to the CPU over it");
        assertEquals(GemmChoice.KERNEL, GemmChoice.parse(" Kernel"));
        assertThrows(InputException.class, () -> GemmChoice.parse("cudnn"));
    }

    @Test
    void allocationsAreZeroedViewsShareStorageAndCloseFreesEverything() {
        EmulatedDriver driver = new EmulatedDriver(true);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.AUTO)) {
            int own = driver.liveAllocations();  // the backend's own scratch, made when it opens
            Tensor base = backend.allocate(DType.F32, 2, 3);
            float[] out = new float[6];
            backend.download(base, out);
            assertArrayEquals(new float[6], out);

            Tensor row1 = backend.view(base, 3, 3);
            backend.upload(row1, new float[] {7, 8, 9});
            backend.download(base, out);
            assertArrayEquals(new float[] {0, 0, 0, 7, 8, 9}, out);

            assertThrows(IllegalArgumentException.class, () -> backend.view(base, 4, 3));
            assertThrows(IllegalArgumentException.class, () -> backend.upload(base, new float[5]));
            assertThrows(IllegalArgumentException.class, () -> backend.upload(base, new int[6]));

            backend.zero(row1);
            backend.download(base, out);
            assertArrayEquals(new float[6], out);
            assertEquals(own + 1, driver.liveAllocations());
        }
        assertEquals(0, driver.liveAllocations());
    }
}
