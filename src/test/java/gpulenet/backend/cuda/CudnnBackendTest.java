package gpulenet.backend.cuda;

import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.Replay;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.cli.TrainingComparison;
import gpulenet.data.DataSets;
import gpulenet.model.TestModels;
import gpulenet.io.InputException;
import gpulenet.model.Presets;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `--conv cudnn` on the emulated driver: what runs through cuDNN and what stays on the kernels, captured
 * graphs, the refusal where cuDNN is missing, and the emulation's own checks of descriptors against buffers.
 */
class CudnnBackendTest {
    private static final Set<Kernel> REPLACED = EnumSet.of(Kernel.CONV2D_FORWARD, Kernel.CONV2D_FORWARD_GATHER,
            Kernel.CONV2D_BACKWARD, Kernel.MAXPOOL2X2_FORWARD, Kernel.MAXPOOL2X2_BACKWARD, Kernel.RELU_FORWARD,
            Kernel.RELU_BACKWARD);
    private static final int SAMPLES = 24;
    private static final int BATCH = 8;

    @Test
    void convolutionsPoolsAndRelusRunThroughCudnnAndTheRestOnTheKernels() {
        EmulatedDriver driver = new EmulatedDriver(true);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.KERNEL, ConvChoice.CUDNN)) {
            assertTrue(backend.describe().endsWith("conv: cuDNN 9.5.0 (deterministic algorithms)"), backend.describe());
            // cnn-dropout: Conv2d+ReLU twice (no pool between), MaxPool2d, Dropout2d, Linear+ReLU, Linear+ReLU
            TrainingFixture f = TrainingFixture.of(backend, Presets.get("cnn-dropout"), SAMPLES, BATCH, 3, 5, 1, 0f);
            assertEquals(2, backend.cudnnAlgorithms().size(), "one plan per convolution, made when the network is built");
            int allocations = driver.allocations();
            f.gather(0, BATCH);
            f.step().run(BATCH, 0.01f, 1, 0);
            assertEquals(allocations, driver.allocations(), "the workspace was allocated with the network");
            for (Kernel k : REPLACED) {
                assertFalse(driver.launchesByKernel().containsKey(k), k + " ran although cuDNN replaces it");
            }
            assertTrue(driver.launchesByKernel().containsKey(Kernel.DROPOUT2D_APPLY));
            assertTrue(driver.launchesByKernel().containsKey(Kernel.LINEAR_HEAD_STEP), "the fused head stays");
            // forward: 2 x (conv, bias, ReLU) and the pool; backward: the pool and its ReLU mask, conv2's data,
            // filter and bias, conv1's ReLU mask, filter and bias (the first layer needs no input gradient)
            assertEquals(15, driver.cudnnCalls());
        }
    }

    /** A step replayed from a graph gives the bits of the same step run call by call: the cuDNN calls are in it. */
    @Test
    void cudnnCallsAreCapturedAndReplayed() {
        float[] eager = twoSteps(false);
        float[] replayed = twoSteps(true);
        assertArrayEquals(eager, replayed);
    }

    private static float[] twoSteps(boolean replaySecond) {
        EmulatedDriver driver = new EmulatedDriver(true);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.KERNEL, ConvChoice.CUDNN)) {
            TrainingFixture f = TrainingFixture.of(backend, Presets.get("lenet5"), SAMPLES, BATCH, 3, 5, 1, 0.9f);
            f.gather(0, BATCH);
            f.step().run(BATCH, 0.05f, 1, 0);
            Runnable second = () -> {
                f.gather(BATCH, BATCH);
                f.step().run(BATCH, 0.05f, 1, 1);
            };
            if (replaySecond) {
                int calls = driver.cudnnCalls();
                Replay replay = backend.capture(second).orElseThrow();
                assertEquals(calls, driver.cudnnCalls(), "a capture records cuDNN calls without running them");
                replay.replay();
            } else {
                second.run();
            }
            return f.params().downloadValues();
        }
    }

    /** What `selftest --conv cudnn` compares: the tutorials' convolutions and training steps, against the CPU. */
    @Test
    void cudnnPathPassesTheSelftestComparison() {
        try (CpuBackend cpu = new CpuBackend(2);
             CudaBackend cuda = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL, ConvChoice.CUDNN)) {
            List<Row> rows = new BackendComparison(cpu, cuda, 13).tutorialConvolutions(1, 3);
            rows.addAll(TrainingComparison.compare(cpu, cuda, TestModels.lenet5(), "sgd", 0.05f,
                    DataSets.embedded().train(), 16, 3, 11));
            assertTrue(rows.size() > 40, "rows: " + rows.size());
            assertTrue(BackendComparison.allPass(rows), rows.stream().filter(r -> !r.pass()).toList().toString());
        }
    }

    @Test
    void withoutCudnnTheChoiceIsAnInputErrorNamingWhatToInstall() {
        EmulatedDriver driver = new EmulatedDriver(true);
        driver.withoutCudnn("libcudnn.so.9 is not installed: put its folder on LD_LIBRARY_PATH");
        InputException e = assertThrows(InputException.class,
                () -> new CudaBackend(driver, GemmChoice.KERNEL, ConvChoice.CUDNN));
        assertEquals("--conv cudnn: cuDNN is not usable: libcudnn.so.9 is not installed: put its folder on"
                + " LD_LIBRARY_PATH", e.getMessage());
        assertFalse(e instanceof CudaUnavailableException, "--device auto must not fall back to the CPU over it");
        try (CudaBackend kernels = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            assertEquals("conv: kernels", kernels.convDescription());
        }
    }

    @Test
    void emulatedCudnnRefusesDescriptorsThatDoNotFitTheirBuffers() {
        try (EmulatedDriver driver = new EmulatedDriver(true)) {
            Cudnn cudnn = driver.cudnn();
            DevicePtr small = driver.alloc(4 * 8);
            DevicePtr big = driver.alloc(4 * 64);
            Cudnn.Tensor4d eight = new Cudnn.Tensor4d(2, 1, 2, 2);
            Cudnn.Tensor4d sixteen = new Cudnn.Tensor4d(1, 1, 4, 4);
            CudaOperationException overrun = assertThrows(CudaOperationException.class,
                    () -> cudnn.reluForward(1f, sixteen, small, 0f, sixteen, big));
            assertTrue(overrun.getMessage().contains("overruns its allocation"), overrun.getMessage());
            CudaOperationException mismatch = assertThrows(CudaOperationException.class,
                    () -> cudnn.reluForward(1f, eight, small, 0f, sixteen, big));
            assertTrue(mismatch.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), mismatch.getMessage());
            Cudnn.Filter4d w = new Cudnn.Filter4d(1, 1, 3, 3);
            Cudnn.Convolution conv = new Cudnn.Convolution(0);
            Cudnn.Algorithm algo = cudnn.algorithm(Cudnn.Direction.FORWARD, sixteen, w, conv, true);
            assertTrue(algo.workspaceBytes() > 0, "the deterministic algorithms need a workspace here");
            CudaOperationException workspace = assertThrows(CudaOperationException.class,
                    () -> cudnn.convolutionForward(1f, sixteen, big, w, big, conv, algo, big, algo.workspaceBytes() - 4,
                            0f, conv.output(sixteen, w), small));
            assertTrue(workspace.getMessage().contains("workspace"), workspace.getMessage());
        }
    }

    /** beta 1 accumulates into the output, beta 0 overwrites it without reading it (NaN stays out). */
    @Test
    void emulatedCudnnBlendsWithBetaAsTheApiDefines() {
        try (EmulatedDriver driver = new EmulatedDriver(true)) {
            Cudnn cudnn = driver.cudnn();
            DevicePtr x = driver.alloc(16);
            DevicePtr y = driver.alloc(16);
            driver.copyToDevice(x, new float[] {-1f, 2f, -3f, 4f}, 0, 4);
            driver.copyToDevice(y, new float[] {10f, 10f, 10f, 10f}, 0, 4);
            Cudnn.Tensor4d d = new Cudnn.Tensor4d(1, 4, 1, 1);
            cudnn.reluForward(2f, d, x, 1f, d, y);
            float[] out = new float[4];
            driver.copyToHost(y, out, 0, 4);
            assertArrayEquals(new float[] {10f, 14f, 10f, 18f}, out);
            driver.copyToDevice(y, new float[] {Float.NaN, Float.NaN, Float.NaN, Float.NaN}, 0, 4);
            cudnn.reluForward(1f, d, x, 0f, d, y);
            driver.copyToHost(y, out, 0, 4);
            assertArrayEquals(new float[] {0f, 2f, 0f, 4f}, out);
        }
    }
}
