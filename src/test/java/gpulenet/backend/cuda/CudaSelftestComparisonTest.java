package gpulenet.backend.cuda;

import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.cli.TrainingComparison;
import gpulenet.data.DataSets;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.TestModels;
import gpulenet.model.layer.ModulePrintout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** conv2d_backward's argument relu_before (0 plants the bug of a forgotten ReLU mask). */
    private static final int RELU_BEFORE = 4;

    /**
     * The training comparison still fails on a kernel bug: conv2d_backward ignoring the ReLU before the pool in
     * every launch gives wrong gradients in every step, more than the one step a flipped unit may excuse.
     */
    @Test
    void aPlantedKernelBugFailsTheTrainingComparison() {
        EmulatedDriver planted = new EmulatedDriver(true).plant(Kernel.CONV2D_BACKWARD, RELU_BEFORE, 0, launch -> true);
        List<Row> rows = lenet5Adam(planted, 4);
        Row gradients = row(rows, "train: gradients");
        assertFalse(gradients.pass(), gradients.toString());
        assertTrue(gradients.shape().contains("steps [0, 1, 2, 3]"), gradients.shape());
        assertTrue(rows.stream().filter(r -> !r.op().equals("train: gradients")).allMatch(Row::pass),
                "judged per step, the updates from the candidate's own gradients still agree: " + rows);
    }

    /**
     * What a unit flipped by FMA contraction does to one step (its gradients differ, here by the same
     * planted bug in that step's launches only) is excused once: the next steps start from the candidate's
     * state and agree again, and Adam's updates are compared from the candidate's own gradients.
     */
    @Test
    void oneStepWithDifferentGradientsIsExcusedOnce() {
        // conv2d_backward runs twice a step (conv2, conv1): launches 2 and 3 are step 1's
        EmulatedDriver oneStep = new EmulatedDriver(true).plant(Kernel.CONV2D_BACKWARD, RELU_BEFORE, 0,
                launch -> launch == 2 || launch == 3);
        List<Row> rows = lenet5Adam(oneStep, 4);
        Row gradients = row(rows, "train: gradients");
        assertTrue(gradients.shape().contains("steps [1]"), gradients.shape());
        assertTrue(gradients.maxAbs() > 10 * BackendComparison.TRAIN_ABS, "the planted step's gradients are far off: " + gradients);
        assertTrue(BackendComparison.allPass(rows), rows.toString());
    }

    /**
     * A model file whose first Conv2d pads by its kernel size or more: conv2d_forward_gather writes the
     * batch's input for the weight gradient, every pixel of it, so training matches the CPU.
     */
    @Test
    void aFirstConvolutionPaddedPastItsKernelTrainsAsOnTheCpu() {
        String printout = String.join("\n",
                "Sequential(",
                "  (conv1): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(3, 3))",
                "  (relu1): ReLU()",
                "  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "  (flatten): Flatten(start_dim=1, end_dim=-1)",
                "  (fc): Linear(in_features=1024, out_features=10, bias=True)",
                ")");
        Model model = new Model("padded.txt", ModulePrintout.parse("padded.txt", printout), new InputTransform(0, 0.1307f, 0.3081f));
        try (CpuBackend cpu = new CpuBackend(2); CudaBackend cuda = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            List<Row> rows = TrainingComparison.compare(cpu, cuda, model, "sgd", 0.05f, DataSets.embedded().train(), 8, 3, 5);
            assertTrue(row(rows, "train: gradients").shape().contains("steps []"), rows.toString());
            assertTrue(BackendComparison.allPass(rows), rows.toString());
        }
    }

    private static List<Row> lenet5Adam(EmulatedDriver driver, int steps) {
        try (CpuBackend cpu = new CpuBackend(2); CudaBackend cuda = new CudaBackend(driver, GemmChoice.KERNEL)) {
            return TrainingComparison.compare(cpu, cuda, TestModels.lenet5(), "adam", 1e-3f, DataSets.embedded().train(), 16,
                    steps, 11);
        }
    }

    private static Row row(List<Row> rows, String op) {
        return rows.stream().filter(r -> r.op().equals(op)).findFirst().orElseThrow(() -> new AssertionError(op + " in " + rows));
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
