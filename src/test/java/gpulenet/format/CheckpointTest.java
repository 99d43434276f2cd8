package gpulenet.format;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.model.TestModels;
import gpulenet.optim.Adam;
import gpulenet.optim.Sgd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    @TempDir
    Path dir;
    private Backend backend;
    private Parameters params;
    private Sgd sgd;

    @BeforeEach
    void setUp() {
        backend = new CpuBackend(1);
        params = TestModels.lenet5Parameters(backend);
        params.initialize(3);
        sgd = new Sgd(params, 0.9f, 0f);
        backend.upload(sgd.state().get(Sgd.MOMENTUM_STATE), gaussian(params.total(), 9));
    }

    private static float[] gaussian(int n, long seed) {
        float[] v = new float[n];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    private Path save(String name) {
        Path file = dir.resolve(name);
        Checkpoint.capture(TestModels.lenet5(), params, sgd,
                Map.of(Checkpoint.EPOCH, "2", Checkpoint.STEP, "1876", Checkpoint.LR, "0.05")).write(file);
        return file;
    }

    @Test
    void roundTripsValuesMomentumModelAndMetadataExactly() {
        Checkpoint read = Checkpoint.read(save("c.safetensors"));
        Parameters other = TestModels.lenet5Parameters(backend);
        Sgd otherSgd = new Sgd(other, 0.9f, 0f);
        read.applyTo(other, otherSgd);
        assertArrayEquals(params.downloadValues(), other.downloadValues());
        assertArrayEquals(params.download(sgd.state().get(Sgd.MOMENTUM_STATE)), other.download(otherSgd.state().get(Sgd.MOMENTUM_STATE)));
        assertEquals(1876, read.requireLong(Checkpoint.STEP, "c"));
        assertEquals(0.05f, read.requireFloat(Checkpoint.LR, "c"));
        assertEquals(Checkpoint.FORMAT_NAME, read.metadata().get(Checkpoint.FORMAT));
        assertEquals("sgd", read.optimizer().orElseThrow());
        assertEquals(TestModels.lenet5(), read.model(null));
    }

    @Test
    void adamStateRoundTripsUnderOptimizerNames() {
        Adam adam = new Adam(params, 0f);
        backend.upload(adam.state().get("exp_avg"), gaussian(params.total(), 1));
        backend.upload(adam.state().get("exp_avg_sq"), gaussian(params.total(), 2));
        Path file = dir.resolve("adam.safetensors");
        Checkpoint.capture(TestModels.lenet5(), params, adam, Map.of()).write(file);
        Safetensors st = Safetensors.read(file);
        assertTrue(st.has("optimizer.exp_avg.conv1.weight") && st.has("optimizer.exp_avg_sq.fc3.bias"));
        Checkpoint read = Checkpoint.read(file);
        assertEquals("adam", read.optimizer().orElseThrow());
        Parameters other = TestModels.lenet5Parameters(backend);
        Adam otherAdam = new Adam(other, 0f);
        read.applyTo(other, otherAdam);
        for (String state : new String[]{"exp_avg", "exp_avg_sq"}) {
            assertArrayEquals(params.download(adam.state().get(state)), other.download(otherAdam.state().get(state)), state);
        }
        Parameters third = TestModels.lenet5Parameters(backend);
        InputException e = assertThrows(InputException.class, () -> read.applyTo(third, new Sgd(third, 0.9f, 0f)));
        assertTrue(e.getMessage().contains("no tensor optimizer.momentum.conv1.weight"), e.getMessage());
    }

    @Test
    void isAPlainSafetensorsFileWithPyTorchNames() {
        Safetensors st = Safetensors.read(save("c.safetensors"));
        for (Parameters.Spec s : params.specs()) {
            assertArrayEquals(params.slice(params.downloadValues(), s.name()), st.floats(s.name(), s.shape()));
            assertArrayEquals(s.shape(), st.shape("optimizer.momentum." + s.name()));
        }
        assertEquals(2 * params.specs().size(), st.names().size());
    }

    @Test
    void weightsWithoutOptimizerStateOrModelLoadForEvaluation() throws Exception {
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : params.specs()) {
            w.add(s.name(), s.shape(), params.slice(params.downloadValues(), s.name()));
        }
        Path file = dir.resolve("weights.safetensors");
        w.writeAtomically(file);
        Checkpoint read = Checkpoint.read(file);
        assertFalse(read.hasOptimizerState());
        assertFalse(read.describesModel());
        Model fallback = Presets.get("lenet5-adam").model();
        assertEquals(fallback, read.model(fallback));
        Parameters other = TestModels.lenet5Parameters(backend);
        read.applyTo(other, null);
        assertArrayEquals(params.downloadValues(), other.downloadValues());
    }

    @Test
    void truncatedAndCorruptFilesGiveOneLineErrors() throws Exception {
        byte[] good = Files.readAllBytes(save("c.safetensors"));
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(good, good.length - 100));
        assertOneLineError(cut, "truncated");

        byte[] bad = good.clone();
        for (int i = 8; i < 40; i++) {
            bad[i] = '#';
        }
        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, bad);
        assertOneLineError(corrupt, "corrupt");
    }

    @Test
    void aTensorThatDoesNotFitTheNetworkIsNamedWithBothShapes() throws Exception {
        assertLoadError(writeWith("fc1.weight", new int[]{120, 401}, null),
                "tensor fc1.weight is [120, 401] in the file, the network needs [120, 400]");
        assertLoadError(writeWith("fc3.bias", null, null), "no tensor fc3.bias [10]");
        assertLoadError(writeWith("optimizer.momentum.fc2.bias", null, null), "no tensor optimizer.momentum.fc2.bias [84]");
        assertOneLineError(writeWith("conv1.bias", null, "I64"), "conv1.bias is I64, expected F32");

        Safetensors.Writer extra = new Safetensors.Writer();
        for (Parameters.Spec s : params.specs()) {
            extra.add(s.name(), s.shape(), params.slice(params.downloadValues(), s.name()));
        }
        extra.add("fc4.weight", new int[]{10, 10}, new float[100]);
        Path file = dir.resolve("extra.safetensors");
        extra.writeAtomically(file);
        Checkpoint read = Checkpoint.read(file);
        assertOneLine(file, assertThrows(InputException.class, () -> read.applyTo(TestModels.lenet5Parameters(backend), null)),
                "holds tensor fc4.weight [10, 10], which the network does not have");
    }

    @Test
    void aFailedLoadLeavesTheModelUntouched() throws Exception {
        float[] before = params.downloadValues();
        Path bad = writeWith("fc3.weight", new int[]{10, 85}, null);
        assertThrows(InputException.class, () -> Checkpoint.read(bad).applyTo(params, sgd));
        assertArrayEquals(before, params.downloadValues());
    }

    /** A checkpoint in which {@code target} is changed: a new shape, another dtype, or (both null) left out. */
    private Path writeWith(String target, int[] shape, String dtype) throws Exception {
        Safetensors.Writer w = new Safetensors.Writer();
        float[] values = params.downloadValues();
        for (String prefix : new String[]{"", "optimizer.momentum."}) {
            for (Parameters.Spec s : params.specs()) {
                String name = prefix + s.name();
                if (!name.equals(target)) {
                    w.add(name, s.shape(), params.slice(values, s.name()));
                } else if (shape != null) {
                    w.add(name, shape, new float[Arrays.stream(shape).reduce(1, (a, b) -> a * b)]);
                } else if (dtype != null) {
                    w.add(name, s.shape(), new long[s.size()]);
                }
            }
        }
        Path file = dir.resolve(target + ".safetensors");
        w.writeAtomically(file);
        return file;
    }

    @Test
    void refusesToWriteNonFiniteValuesAndNamesTheTensor() throws Exception {
        Path file = save("good.safetensors");
        byte[] good = Files.readAllBytes(file);
        float[] values = params.downloadValues();
        Parameters.Spec fc1 = params.spec("fc1.bias");
        values[fc1.offset()] = Float.NaN;
        values[fc1.offset() + 3] = Float.POSITIVE_INFINITY;
        params.upload(values);
        Checkpoint bad = Checkpoint.capture(TestModels.lenet5(), params, sgd, Map.of(Checkpoint.EPOCH, "3"));
        assertEquals("fc1.bias holds 2 non-finite values (NaN or infinite)", bad.nonFinite().orElseThrow());
        InputException e = assertThrows(InputException.class, () -> bad.write(file));
        assertEquals(file + ": not writing a checkpoint whose fc1.bias holds 2 non-finite values (NaN or infinite)"
                + " (training diverged; try a lower --lr)", e.getMessage());
        assertArrayEquals(good, Files.readAllBytes(file), "the file is left as it was");

        float[] momentum = gaussian(params.total(), 9);
        momentum[params.spec("conv2.weight").offset()] = Float.NEGATIVE_INFINITY;
        Checkpoint badMomentum = TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(3), momentum, Map.of());
        assertTrue(badMomentum.nonFiniteWeights().isEmpty());
        assertEquals("optimizer.momentum.conv2.weight holds 1 non-finite value (NaN or infinite)",
                badMomentum.nonFinite().orElseThrow());
        assertThrows(InputException.class, () -> badMomentum.write(dir.resolve("other.safetensors")));
        assertTrue(Files.notExists(dir.resolve("other.safetensors")));
    }

    private void assertLoadError(Path file, String expected) {
        Checkpoint read = Checkpoint.read(file);
        InputException e = assertThrows(InputException.class,
                () -> read.applyTo(TestModels.lenet5Parameters(backend), new Sgd(params, 0.9f, 0f)));
        assertOneLine(file, e, expected);
    }

    private static void assertOneLineError(Path file, String expected) {
        assertOneLine(file, assertThrows(InputException.class, () -> Checkpoint.read(file)), expected);
    }

    private static void assertOneLine(Path file, InputException e, String expected) {
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
