package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gpulenet.backend.Backend;
import gpulenet.backend.CaptureFailedException;
import gpulenet.backend.DType;
import gpulenet.backend.Replay;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.model.Presets;
import gpulenet.train.EpochSummary;
import gpulenet.train.StepRunner;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import gpulenet.train.TrainingListener;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training steps captured as CUDA graphs on the emulated driver, which records a capture as CUDA does (each
 * launch's arguments copied when it is queued) and refuses what CUDA refuses while a stream captures: the
 * replayed steps train exactly as the kernel-by-kernel ones, a steady-state epoch asks the driver for one
 * graph launch per step and nothing else between two log lines, and a capture that fails falls back in
 * one line.
 */
class CudaGraphTest {

    /** 136 = two batches of 64 and one of 8: both batch sizes are captured, in epoch 1 and in epoch 2. */
    private static final int TRAIN = 136;
    private static final int TEST = 40;

    private static DataSets slice(int train) {
        DataSets mnist = DataSets.embedded();
        return new DataSets("mnist-slice", head(mnist.train(), train), head(mnist.test(), TEST));
    }

    private record Run(List<Float> losses, float[] params, List<EpochSummary> epochs, String steps) {
    }

    private static Run train(String preset, DataSets data, boolean graphs, int epochs, EmulatedDriver driver,
                             TrainingListener listener) {
        Presets.Preset p = Presets.get(preset);
        TrainConfig config = new TrainConfig(epochs, 64, p.defaults().optimizer(), p.defaults().lr(),
                p.defaults().momentum(), 1e-4f, 0.5f, 3, 2, false, null);
        try (Backend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            Trainer trainer = new Trainer(backend, p.model().transform().applyTo(data), p.model(), config,
                    new PrintWriter(new StringWriter()), false);
            trainer.useGraphs(graphs);
            if (listener != null) {
                trainer.addListener(listener);
            }
            List<EpochSummary> summaries = trainer.run();
            return new Run(List.copyOf(trainer.loggedLosses()), trainer.parameters().downloadValues(), summaries,
                    trainer.describeSteps());
        }
    }

    /**
     * SGD with momentum and weight decay (lenet5), Adam's per-step step sizes (lenet5-adam) and Dropout2d's
     * per-step masks (cnn-dropout) all come from the device counters: replays give the same bits as launching
     * every kernel, over two epochs (a new learning rate, a new shuffle, the short last batch).
     */
    @ParameterizedTest
    @ValueSource(strings = {"lenet5", "lenet5-adam", "cnn-dropout"})
    void replayedStepsTrainBitForBitAsKernelByKernel(String preset) {
        DataSets data = slice(TRAIN);
        Run eager = train(preset, data, false, 2, new EmulatedDriver(true), null);
        EmulatedDriver driver = new EmulatedDriver(true);
        Run graphed = train(preset, data, true, 2, driver, null);
        assertEquals("kernel by kernel (--no-graph)", eager.steps);
        assertEquals("one CUDA graph launch per step (2 captured: one per batch size)", graphed.steps);
        // epoch 1: the first step of each size runs kernel by kernel, the second 64 is captured and replayed;
        // epoch 2: the 8 is captured, then every step is a replay; the eval's one batch of 40 likewise (epoch 2)
        assertEquals(1 + 3 + 1, driver.graphLaunches(), "graph launches over the two epochs");
        assertEquals(eager.losses, graphed.losses, "logged losses");
        assertArrayEquals(eager.params, graphed.params, "parameters after two epochs");
        for (int e = 0; e < 2; e++) {
            assertEquals(eager.epochs.get(e).test().correct(), graphed.epochs.get(e).test().correct());
            assertEquals(eager.epochs.get(e).test().lossSum(), graphed.epochs.get(e).test().lossSum());
        }
    }

    /**
     * What the design says a steady-state epoch asks of the driver: between two log lines of L steps,
     * L graph launches, one read of the loss (a copy to the host, the only wait), one memset that clears
     * it, and nothing else: no kernel launch, GEMM, copy to the device or allocation.
     */
    @Test
    void aSteadyEpochIsOneGraphLaunchPerStepAndOneReadPerLogLine() {
        DataSets data = slice(64 * 8);
        EmulatedDriver driver = new EmulatedDriver(true);
        List<long[]> atLogLines = new ArrayList<>();
        List<Integer> epochOfLine = new ArrayList<>();
        TrainingListener counter = new TrainingListener() {
            @Override
            public void logLine(LogLine line) {
                atLogLines.add(new long[] {driver.graphLaunches(), driver.launches(), driver.gemms(), driver.memsets(),
                        driver.copiesToHost(), driver.copiesToDevice(), driver.synchronizations(), driver.allocations()});
                epochOfLine.add(line.epoch());
            }

            @Override
            public void epochEnd(EpochSummary summary, long step) {
            }
        };
        train("lenet5", data, true, 2, driver, counter);
        int checked = 0;
        for (int i = 1; i < atLogLines.size(); i++) {
            if (epochOfLine.get(i) != 2 || epochOfLine.get(i - 1) != 2) {
                continue;
            }
            long[] a = atLogLines.get(i - 1);
            long[] b = atLogLines.get(i);
            long[] delta = new long[a.length];
            for (int k = 0; k < a.length; k++) {
                delta[k] = b[k] - a[k];
            }
            // graph launches, kernel launches, GEMMs, memsets, copies to host, copies to device, syncs, allocations
            assertArrayEquals(new long[] {2, 0, 0, 1, 1, 0, 1, 0}, delta,
                    "driver calls between two log lines of epoch 2 (log interval 2): " + Arrays.toString(delta));
            checked++;
        }
        assertEquals(3, checked, "epoch 2 has 4 log lines, so 3 intervals");
    }

    /**
     * LeNet-5's training step, as the graph records it: 7 launches, from 30. The Linear layers, the loss and
     * their backward run in two (linear_head_step, head_reduce) instead of 18 (a GEMM and a bias kernel
     * forward, 2 or 3 GEMMs, a bias gradient and a ReLU mask backward per layer, the loss); each max-pool
     * runs inside the convolution before it, forward and backward; the first convolution gathers its batch;
     * a convolution's input and weight gradients are one launch; the SGD update advances the step counters.
     */
    @Test
    void aLeNet5StepIsSevenLaunches() {
        EmulatedDriver driver = new EmulatedDriver(true);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            TrainingFixture f = TrainingFixture.of(backend, Presets.get("lenet5"), 128, 64, 5, 3, 1, 0.9f);
            StepScalars scalars = new StepScalars(backend, 1);
            float[] schedule = new float[StepScalars.COLUMNS];
            f.optimizer().scheduleRow(0.05f, 0, schedule, 0);
            scalars.startEpoch(0, schedule);
            Map<Kernel, Integer> before = driver.launchesByKernel();
            int launches = driver.launches();
            f.net().trainingPass(f.images(), f.labels(), f.order(), scalars, 64, 64);
            f.optimizer().step(scalars);
            Map<Kernel, Integer> after = driver.launchesByKernel();
            assertEquals(7, driver.launches() - launches, "launches of one step: " + after);
            assertEquals(2, after.get(Kernel.CONV2D_BACKWARD), "one backward launch per convolution");
            assertArrayEquals(new int[] {1, 1}, scalars.read(), "the update advanced the counters");
            assertEquals(null, after.get(Kernel.STEP_ADVANCE));
            assertEquals(null, after.get(Kernel.GATHER_NORMALIZE));
            assertEquals(1, after.get(Kernel.LINEAR_HEAD_STEP) - before.getOrDefault(Kernel.LINEAR_HEAD_STEP, 0));
            assertEquals(null, after.get(Kernel.SGEMM), "no GEMM outside the head");
            assertEquals(null, after.get(Kernel.SOFTMAX_CROSS_ENTROPY));
            assertEquals(null, after.get(Kernel.MAXPOOL2X2_FORWARD));
            assertEquals(null, after.get(Kernel.MAXPOOL2X2_BACKWARD));
        }
    }

    /** A replay runs the arguments of the capture, not what the launch site's block holds afterwards. */
    @Test
    void aReplayKeepsTheArgumentsItWasCapturedWith() {
        try (CudaBackend backend = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            Tensor p = backend.allocate(DType.F32, 3);
            Tensor g = backend.allocate(DType.F32, 3);
            Tensor buf = backend.allocate(DType.F32, 3);
            backend.upload(g, new float[] {1, 2, 3});
            // plain SGD, lr 1: p -= g; the eager run first makes the launch site
            backend.sgdUpdate(p, g, buf, 1f, 0f, 0f, true);
            Replay replay = backend.capture(() -> backend.sgdUpdate(p, g, buf, 1f, 0f, 0f, true)).orElseThrow();
            float[] out = new float[3];
            backend.download(p, out);
            assertArrayEquals(new float[] {-1, -2, -3}, out, "capturing runs nothing");
            backend.sgdUpdate(p, g, buf, 10f, 0f, 0f, true);
            replay.replay();
            backend.download(p, out);
            assertArrayEquals(new float[] {-12, -24, -36}, out, "an eager lr 10 step, then the captured lr 1 step");
            replay.close();
        }
    }

    /** What CUDA forbids during a capture fails there, as on a GPU, and leaves the backend usable. */
    @Test
    void aWaitOrAnAllocationDuringCaptureFailsTheCapture() {
        try (CudaBackend backend = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            Tensor t = backend.allocate(DType.F32, 4);
            CaptureFailedException read = assertThrows(CaptureFailedException.class,
                    () -> backend.capture(() -> backend.download(t, new float[4])));
            assertTrue(read.getMessage().contains("not allowed while a CUDA graph is being captured"), read.getMessage());
            assertThrows(CaptureFailedException.class, () -> backend.capture(() -> backend.allocate(DType.F32, 4)));
            assertThrows(CaptureFailedException.class, () -> backend.capture(backend::synchronize));
            assertThrows(CaptureFailedException.class, () -> backend.capture(() -> backend.upload(t, new float[4])));
            backend.upload(t, new float[] {1, -2, 3, -4});
            backend.reluForward(t, t);
            float[] out = new float[4];
            backend.download(t, out);
            assertArrayEquals(new float[] {1, 0, 3, 0}, out, "after the failed captures");
        }
    }

    /** A step that cannot be captured runs kernel by kernel, after one line saying why. */
    @Test
    void aStepThatCannotBeCapturedFallsBackWithOneLine() {
        try (CudaBackend backend = new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL)) {
            Tensor t = backend.allocate(DType.F32, 4);
            int[] ran = {0};
            StringWriter log = new StringWriter();
            try (StepRunner steps = new StepRunner(backend, b -> {
                backend.reluForward(t, t);
                backend.synchronize();
                ran[0]++;
            }, true, new PrintWriter(log, true))) {
                for (int i = 0; i < 4; i++) {
                    steps.run(64);
                }
                assertEquals(4, ran[0], "every step ran, the failed capture did not count");
                assertEquals(List.of("CUDA graph capture failed (cuStreamSynchronize failed: "
                        + "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (not allowed while a CUDA graph is being captured)): "
                        + "running every step kernel by kernel"), log.toString().lines().toList());
                assertTrue(steps.describe().startsWith("kernel by kernel (CUDA graph capture failed"), steps.describe());
            }
        }
    }

    private static Dataset head(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n),
                n, d.rows(), d.cols());
    }
}
