package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.Tensor;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training on a small slice of MNIST: 600 training images (9 batches of 64 and one of 24), 200 test images. */
class TrainerTest {
    private static DataSets mnist;
    private static DataSets small;
    private static Backend backend;
    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        mnist = DataSets.embedded();
        small = new DataSets("mnist-slice", head(mnist.train(), 600), head(mnist.test(), 200));
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void tearDown() {
        backend.close();
    }

    static Dataset head(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n),
                n, d.rows(), d.cols());
    }

    private static TrainConfig config(int epochs, long seed) {
        return new TrainConfig(epochs, 64, 0.05f, 0.9f, 1e-4f, 0.5f, seed, 1, false, null);
    }

    private static Trainer trainer(TrainConfig config, StringWriter log) {
        return new Trainer(backend, small, config, new PrintWriter(log, true), false);
    }

    @Test
    void sameSeedGivesBitIdenticalLossesAndParameters() {
        Trainer a = trainer(config(2, 11), new StringWriter());
        Trainer b = trainer(config(2, 11), new StringWriter());
        a.run();
        b.run();
        assertEquals(20, a.loggedLosses().size(), "one loss per step at --log-interval 1");
        assertEquals(a.loggedLosses(), b.loggedLosses());
        assertArrayEquals(a.parameters().downloadValues(), b.parameters().downloadValues());

        Trainer c = trainer(config(2, 12), new StringWriter());
        c.run();
        assertNotEquals(a.loggedLosses(), c.loggedLosses());
    }

    @Test
    void oneEpochThenResumeEqualsTwoEpochsStraight() {
        Trainer straight = trainer(config(2, 5), new StringWriter());
        straight.run();

        Path file = dir.resolve("epoch1.safetensors");
        trainer(config(1, 5).withSave(file), new StringWriter()).run();
        Trainer resumed = trainer(config(2, 5), new StringWriter());
        resumed.resumeFrom(Checkpoint.read(file), file);
        List<EpochSummary> epochs = resumed.run();

        assertEquals(1, epochs.size());
        assertEquals(2, epochs.get(0).epoch());
        assertArrayEquals(straight.parameters().downloadValues(), resumed.parameters().downloadValues());
        assertArrayEquals(momentum(straight), momentum(resumed));
        assertEquals(straight.loggedLosses().subList(10, 20), resumed.loggedLosses());
    }

    private static float[] momentum(Trainer t) {
        return t.parameters().download(t.optimizer().state().get("momentum"));
    }

    /** Adam's moments and step count, and Dropout2d's masks, carry over a resume: the same bits as a run straight through. */
    @ParameterizedTest
    @ValueSource(strings = {"lenet5-adam", "cnn-dropout"})
    void resumeIsBitIdenticalForAdamAndDropout(String preset) {
        Presets.Preset p = Presets.get(preset);
        TrainConfig two = new TrainConfig(2, 64, p.defaults().optimizer(), p.defaults().lr(), p.defaults().momentum(), 0f,
                1f, 5, 1, false, null);
        Trainer straight = new Trainer(backend, small, p.model(), two, new PrintWriter(new StringWriter()), false);
        straight.run();

        Path file = dir.resolve("epoch1.safetensors");
        Trainer first = new Trainer(backend, small, p.model(), new TrainConfig(1, 64, p.defaults().optimizer(),
                p.defaults().lr(), p.defaults().momentum(), 0f, 1f, 5, 1, false, file), new PrintWriter(new StringWriter()), false);
        first.run();
        Checkpoint saved = Checkpoint.read(file);
        assertEquals(p.model(), saved.model(null), "the checkpoint rebuilds the network");
        Trainer resumed = new Trainer(backend, small, saved.model(null), two, new PrintWriter(new StringWriter()), false);
        resumed.resumeFrom(saved, file);
        resumed.run();
        assertArrayEquals(straight.parameters().downloadValues(), resumed.parameters().downloadValues());
        for (String state : straight.optimizer().state().keySet()) {
            assertArrayEquals(straight.parameters().download(straight.optimizer().state().get(state)),
                    resumed.parameters().download(resumed.optimizer().state().get(state)), state);
        }
        assertEquals(straight.loggedLosses().subList(10, 20), resumed.loggedLosses());
    }

    @Test
    void aCheckpointOfAnotherOptimizerIsRefusedOnResume() {
        Path file = dir.resolve("sgd.safetensors");
        trainer(config(1, 5).withSave(file), new StringWriter()).run();
        Presets.Preset adam = Presets.get("lenet5-adam");
        Trainer t = new Trainer(backend, small, adam.model(), new TrainConfig(2, 64, "adam", 0.001f, 0f, 0f, 1f, 5, 1,
                false, null), new PrintWriter(new StringWriter()), false);
        InputException e = assertThrows(InputException.class, () -> t.resumeFrom(Checkpoint.read(file), file));
        assertTrue(e.getMessage().contains("written by sgd"), e.getMessage());
    }

    @Test
    void checkpointRecordsTheRun() {
        Path file = dir.resolve("c.safetensors");
        trainer(config(1, 5).withSave(file), new StringWriter()).run();
        Map<String, String> meta = Checkpoint.read(file).metadata();
        assertEquals("1", meta.get(Checkpoint.EPOCH));
        assertEquals("10", meta.get(Checkpoint.STEP));
        assertEquals("5", meta.get(Checkpoint.SEED));
        assertEquals("64", meta.get(Checkpoint.BATCH_SIZE));
        assertEquals("0.5", meta.get(Checkpoint.LR_DECAY));
        assertEquals("1.0E-4", meta.get(Checkpoint.WEIGHT_DECAY));
        assertEquals("mnist-slice", meta.get(Checkpoint.DATASET));
    }

    @Test
    void aDryRunCheckpointSaysSoAndCannotBeResumed() {
        Path file = dir.resolve("dry.safetensors");
        TrainConfig dry = new TrainConfig(3, 64, 0.05f, 0.9f, 0f, 0.5f, 5, 1, true, file);
        trainer(dry, new StringWriter()).run();
        Checkpoint written = Checkpoint.read(file);
        assertEquals("true", written.metadata().get(Checkpoint.DRY_RUN));
        InputException e = assertThrows(InputException.class,
                () -> trainer(config(2, 5), new StringWriter()).resumeFrom(written, file));
        assertTrue(e.getMessage().contains("--dry-run"), e.getMessage());
    }

    @Test
    void weightsWithoutMomentumCannotBeResumed() {
        Checkpoint weightsOnly = TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(1), null,
                Map.of(Checkpoint.EPOCH, "1", Checkpoint.STEP, "9"));
        InputException e = assertThrows(InputException.class,
                () -> trainer(config(2, 5), new StringWriter()).resumeFrom(weightsOnly, Path.of("w.safetensors")));
        assertTrue(e.getMessage().contains("no optimizer state"), e.getMessage());
    }

    /** A checkpoint already holding NaN or Inf is the checkpoint's fault, not the learning rate of the resumed run. */
    @Test
    void nonFiniteValuesCannotBeResumed() {
        Map<String, String> meta = Map.of(Checkpoint.EPOCH, "1", Checkpoint.STEP, "9");
        Parameters layout = TestModels.lenet5Parameters(backend);
        float[] values = TestModels.lenet5InitialValues(1);
        values[layout.spec("conv1.bias").offset() + 2] = Float.NaN;
        float[] momentum = new float[layout.total()];
        momentum[layout.spec("fc1.weight").offset()] = Float.POSITIVE_INFINITY;
        Map<Checkpoint, String> cases = Map.of(
                TestModels.lenet5Checkpoint(backend, values, new float[layout.total()], meta), "conv1.bias",
                TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(1), momentum, meta),
                "optimizer.momentum.fc1.weight");
        cases.forEach((checkpoint, tensor) -> {
            InputException e = assertThrows(InputException.class,
                    () -> trainer(config(2, 5), new StringWriter()).resumeFrom(checkpoint, Path.of("nan.safetensors")));
            assertEquals("nan.safetensors: " + tensor + " holds 1 non-finite value (NaN or infinite), so it cannot be resumed",
                    e.getMessage());
        });
    }

    @Test
    void logsTrainEpochLinesAndTestAccuracy() {
        StringWriter log = new StringWriter();
        Trainer t = new Trainer(backend, small, config(1, 3).withLogInterval(4), new PrintWriter(log, true), false);
        List<EpochSummary> epochs = t.run();
        String[] lines = log.toString().split("\n");
        assertTrue(lines[0].matches("Train Epoch: 1 \\[256/600 \\(43%\\)\\]\tLoss: \\d\\.\\d{6}"), lines[0]);
        assertTrue(lines[2].startsWith("Train Epoch: 1 [600/600 (100%)]"), lines[2]);
        assertTrue(lines[3].matches("Test set: Average loss: \\d\\.\\d{4}, Accuracy: \\d+/200 \\(\\d+\\.\\d\\d%\\)"), lines[3]);
        assertTrue(lines[4].matches("Epoch 1: train .* images/s.*"), lines[4]);
        assertEquals(600, epochs.get(0).trainImages());
        assertEquals(200, epochs.get(0).test().count());
    }

    @Test
    void learnsFromTwoThousandImages() {
        DataSets slice = new DataSets("mnist-2k", head(mnist.train(), 1920), head(mnist.test(), 500));
        TrainConfig config = new TrainConfig(2, 64, 0.05f, 0.9f, 0f, 1f, 1, 10, false, null);
        List<EpochSummary> epochs = new Trainer(backend, slice, config, new PrintWriter(new StringWriter()), false).run();
        double first = epochs.get(0).trainLoss(), last = epochs.get(1).trainLoss();
        assertTrue(last < 0.6 * first, "train loss " + first + " -> " + last);
        assertTrue(epochs.get(1).test().accuracy() > 0.7, "test accuracy " + epochs.get(1).test().accuracy());
    }

    @Test
    void rejectsImagesOfAnotherSize() {
        Dataset big = new Dataset("big-train", new byte[2 * 32 * 32], new byte[2], 2, 32, 32);
        DataSets odd = new DataSets("big", big, small.test());
        InputException e = assertThrows(InputException.class,
                () -> new Trainer(backend, odd, config(1, 1), new PrintWriter(new StringWriter()), false));
        assertEquals("big-train has 32x32 images, and the lenet5 network does not take them: layer fc1 (Linear(in_features=400, "
                + "out_features=120, bias=True)) gets input [576] per sample, but it needs [400]", e.getMessage());
    }

    @Test
    void aLossGrownByOrdersOfMagnitudeStopsTheRunAsDiverged() {
        // lr 1000 blows the weights up without overflowing: the loss reaches 1e7 and more while staying finite
        TrainConfig wild = new TrainConfig(1, 64, 1000f, 0.9f, 0f, 1f, 5, 2, false, null);
        Trainer t = new Trainer(backend, small, wild, new PrintWriter(new StringWriter(), true), false);
        InputException e = assertThrows(InputException.class, t::run);
        assertTrue(e.getMessage().matches("training diverged at epoch 1, step 2: the loss is \\d\\.\\d\\de\\+\\d\\d, over 1000 "
                + "times its starting level 2\\.30; try a lower --lr \\(was 1e\\+03\\)"), e.getMessage());
        assertEquals(0, t.loggedLosses().size(), "the first log line already shows it");
    }

    @Test
    void divergenceStopsAtTheFirstLogLineAndKeepsTheGoodCheckpoint() throws Exception {
        Path file = dir.resolve("good.safetensors");
        trainer(config(1, 5).withSave(file), new StringWriter()).run();
        byte[] good = Files.readAllBytes(file);
        for (boolean progressBar : new boolean[]{false, true}) {
            TrainConfig wild = new TrainConfig(1, 64, 1e6f, 0.9f, 0f, 1f, 5, 3, false, file);
            StringWriter log = new StringWriter();
            Trainer t = new Trainer(backend, small, wild, new PrintWriter(log, true), progressBar);
            InputException e = assertThrows(InputException.class, t::run);
            assertTrue(e.getMessage().matches("training diverged at epoch 1, step \\d+: the loss is "
                    + "(NaN|infinite|\\S+, over 1000 times its starting level \\S+); "
                    + "try a lower --lr \\(was 1e\\+06\\)"), e.getMessage());
            int step = Integer.parseInt(e.getMessage().replaceAll(".*step (\\d+):.*", "$1"));
            assertEquals(0, step % 3, "detected at a log line (every 3 steps): " + e.getMessage());
            assertEquals(step / 3 - 1, t.loggedLosses().size(), "stopped at the first non-finite log line");
            assertTrue(t.loggedLosses().stream().allMatch(Float::isFinite), t.loggedLosses().toString());
            assertArrayEquals(good, Files.readAllBytes(file), "the good checkpoint is kept");
        }
    }

    @Test
    void aBatchLargerThanTheTrainingSetIsCappedToIt() {
        Path file = dir.resolve("capped.safetensors");
        StringWriter log = new StringWriter();
        TrainConfig huge = new TrainConfig(1, 10_000_000, 0.05f, 0.9f, 0f, 1f, 5, 1, false, file);
        List<EpochSummary> epochs = new Trainer(backend, small, huge, new PrintWriter(log, true), false).run();
        assertTrue(log.toString().startsWith("--batch-size 10000000 is more than the 600 training images: using 600\n"
                + "Train Epoch: 1 [600/600 (100%)]"), log.toString());
        assertEquals(600, epochs.get(0).trainImages());
        assertEquals("600", Checkpoint.read(file).metadata().get(Checkpoint.BATCH_SIZE));
    }

    @Test
    void aTensorLargerThanABackendHoldsIsRefusedWithTheBatchThatFits() {
        InputException e = assertThrows(InputException.class, () -> MemoryEstimate.requireFits(backend, small,
                TestModels.lenet5(), config(1, 5).withBatchSize(500_000)));
        assertEquals("--batch-size 500000 needs a tensor of 2352000000 elements (F32[500000, 6, 28, 28]), more than the "
                + Tensor.MAX_ELEMENTS + " one tensor can hold; use --batch-size 456522 or less", e.getMessage());
        assertTrue(456_522L * 6 * 28 * 28 <= Tensor.MAX_ELEMENTS && 456_523L * 6 * 28 * 28 > Tensor.MAX_ELEMENTS);
    }

    /** What a real run keeps on the heap after a step (tensors and scratch) is within the estimate, and not far below it (other tests' garbage blurs the measure). */
    @Test
    void theEstimateCoversWhatATrainingStepKeepsOnTheHeap() {
        DataSets slice = new DataSets("mnist-4k", head(mnist.train(), 4096), head(mnist.test(), 16));
        TrainConfig one = new TrainConfig(1, 4096, 0.05f, 0.9f, 0f, 1f, 5, 1, true, null);
        try (Backend fresh = new CpuBackend(2)) {
            long estimate = MemoryEstimate.of(fresh, slice, TestModels.lenet5(), one, 4096).bytes(fresh.freeMemory());
            long before = usedHeap();
            Trainer t = new Trainer(fresh, slice, one, new PrintWriter(new StringWriter()), false);
            t.run();
            long kept = usedHeap() - before;
            assertTrue(kept <= estimate && kept >= estimate / 1.1 * 0.8, "kept " + kept + ", estimated " + estimate);
            assertEquals(1, t.loggedLosses().size());
        }
    }

    private static long usedHeap() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void smallLearningRatesShowInTheEpochLine() {
        StringWriter log = new StringWriter();
        TrainConfig slow = new TrainConfig(1, 64, 1e-5f, 0.9f, 0f, 1f, 5, 100, false, null);
        new Trainer(backend, small, slow, new PrintWriter(log, true), false).run();
        assertTrue(log.toString().matches("(?s).*\nEpoch 1: train .* images/s, lr 1e-05, train loss .*"), log.toString());
        assertEquals("0.05", ShortNumber.of(0.05f));
        assertEquals("1e+06", ShortNumber.of(1e6));
        assertEquals("0.000123", ShortNumber.of(1.234e-4));
    }

    @Test
    void scheduleAndShuffleDependOnlyOnTheirInputs() {
        TrainConfig c = config(4, 1);
        assertEquals(0.05f, c.learningRate(1));
        assertEquals(0.00625f, c.learningRate(4), 1e-9);
        int[] p = Shuffle.permutation(3, 2, 1000);
        assertArrayEquals(p, Shuffle.permutation(3, 2, 1000));
        assertTrue(!Arrays.equals(p, Shuffle.permutation(3, 3, 1000)) && !Arrays.equals(p, Shuffle.permutation(4, 2, 1000)));
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
    }
}
