package gpulenet.backend;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device choice: auto takes the GPU when it opens and the CPU with the reason otherwise; cuda insists. */
class BackendsTest {
    private static final Function<GemmChoice, Backend> NO_GPU = gemm -> {
        throw new CudaUnavailableException("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
    };

    @Test
    void autoFallsBackToTheCpuSayingWhy() {
        Backends.Choice choice = Backends.open("auto", 3, GemmChoice.AUTO, NO_GPU);
        try (Backend b = choice.backend()) {
            assertTrue(b instanceof CpuBackend);
            assertEquals(3, ((CpuBackend) b).threads());
            assertEquals("Device: CPU, 3 threads (--device auto: CUDA is not usable, so the CPU runs: "
                    + "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE))", choice.line());
        }
    }

    @Test
    void autoAndCudaTakeTheGpuWhenItOpensWithTheRequestedGemm() {
        List<GemmChoice> asked = new ArrayList<>();
        CpuBackend standIn = new CpuBackend(1);
        Function<GemmChoice, Backend> gpu = gemm -> {
            asked.add(gemm);
            return standIn;
        };
        assertSame(standIn, Backends.open("auto", 0, GemmChoice.KERNEL, gpu).backend());
        assertSame(standIn, Backends.open("cuda", 0, GemmChoice.CUBLAS, gpu).backend());
        assertEquals(List.of(GemmChoice.KERNEL, GemmChoice.CUBLAS), asked);
        standIn.close();
    }

    @Test
    void cudaWhereUnusableIsAnInputErrorWithTheReason() {
        InputException e = assertThrows(InputException.class, () -> Backends.open("cuda", 0, GemmChoice.AUTO, NO_GPU));
        assertEquals("--device cuda: CUDA is not usable: no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)", e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void gemmErrorsAreNotAReasonToFallBack() {
        Function<GemmChoice, Backend> noCublas = gemm -> {
            throw new InputException("--gemm cublas: cuBLAS is not usable: libcublas.so.12 is not installed");
        };
        assertThrows(InputException.class, () -> Backends.open("auto", 0, GemmChoice.CUBLAS, noCublas));
    }

    @Test
    void badDeviceAndThreadsAreInputErrors() {
        assertEquals("--device must be auto, cpu or cuda, got tpu",
                assertThrows(InputException.class, () -> Backends.open("tpu", 0, GemmChoice.AUTO, NO_GPU)).getMessage());
        assertThrows(InputException.class, () -> Backends.open("cpu", -1, GemmChoice.AUTO, NO_GPU));
        assertEquals(Runtime.getRuntime().availableProcessors(), Backends.cpuThreads(0));
        assertEquals(5, Backends.cpuThreads(5));
        int max = Backends.maxCpuThreads();
        assertEquals(max, Backends.cpuThreads(max));
        // 99999 threads ran for minutes and ended in a JVM warning and a heap error
        String refusal = assertThrows(InputException.class, () -> Backends.cpuThreads(99999)).getMessage();
        assertTrue(refusal.matches("--threads must be at most " + max + " \\(4 per core, and no fewer than 16; this machine has \\d+ cores?\\), "
                + "got 99999"), refusal);
        assertThrows(InputException.class, () -> Backends.cpuThreads(max + 1));
    }
}
