package gpulenet.backend.cuda;

import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.cli.TrainingComparison;
import gpulenet.model.TestModels;
import gpulenet.data.DataSets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code selftest} runs on a GPU, here on the emulated driver: every op of the CUDA backend against
 * the CPU backend at batch 1, 7 and 64 (odd shapes included), and training steps on real MNIST, with either GEMM;
 * and the convolutions of the other tutorials' networks.
 */
class CudaSelftestComparisonTest {

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"CUBLAS", "KERNEL"})
    void emulatedCudaBackendPassesTheSelftestComparison(GemmChoice gemm) {
        try (CpuBackend cpu = new CpuBackend(2); CudaBackend cuda = new CudaBackend(new EmulatedDriver(true), gemm)) {
            BackendComparison comparison = new BackendComparison(cpu, cuda, 11);
            List<Row> rows = comparison.ops(1, 7, 64);
            rows.addAll(TrainingComparison.compare(cpu, cuda, TestModels.lenet5(), "sgd", 0.05f, DataSets.embedded().train(), 16, 3, 11));
            assertTrue(rows.size() > 40, "rows: " + rows.size());
            assertTrue(BackendComparison.allPass(rows), rows.stream().filter(r -> !r.pass()).toList().toString());
        }
    }

    /** The conv kernels on cnn3's and cnn-dropout's shapes (no GEMM involved) against the CPU backend's conv. */
    @Test
    void emulatedConvolutionsMatchTheCpuOnTheTutorialNetworksShapes() {
        try (CpuBackend cpu = new CpuBackend(2); CudaBackend cuda = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            List<Row> rows = new BackendComparison(cpu, cuda, 13).tutorialConvolutions(1, 3);
            assertEquals(2 * 5 * 4, rows.size(), "forward, dx, dw, db of five shapes at two batch sizes");
            assertTrue(BackendComparison.allPass(rows), rows.stream().filter(r -> !r.pass()).toList().toString());
        }
    }
}
