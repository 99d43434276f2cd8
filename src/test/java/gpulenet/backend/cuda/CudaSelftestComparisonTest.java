package gpulenet.backend.cuda;

import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code selftest} runs on a GPU, here on the emulated driver: every op of the CUDA backend against
 * the CPU backend at batch 1, 7 and 64 (odd shapes included), and training steps on real MNIST, with either GEMM.
 */
class CudaSelftestComparisonTest {

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"CUBLAS", "KERNEL"})
    void emulatedCudaBackendPassesTheSelftestComparison(GemmChoice gemm) {
        try (CpuBackend cpu = new CpuBackend(2); CudaBackend cuda = new CudaBackend(new EmulatedDriver(true), gemm)) {
            BackendComparison comparison = new BackendComparison(cpu, cuda, 11);
            List<Row> rows = comparison.ops(1, 7, 64);
            rows.addAll(comparison.training(DataSets.embedded().train(), 16, 3, 11));
            assertTrue(rows.size() > 40, "rows: " + rows.size());
            assertTrue(BackendComparison.allPass(rows), rows.stream().filter(r -> !r.pass()).toList().toString());
        }
    }
}
