package gpulenet.model;

import gpulenet.InputException;
import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    @TempDir
    Path dir;
    private Backend backend;
    private Parameters params;

    @BeforeEach
    void setUp() {
        backend = new CpuBackend(1);
        params = new Parameters(backend);
        float[] momentum = new float[Parameters.TOTAL];
        SplittableRandom rng = new SplittableRandom(9);
        for (int i = 0; i < momentum.length; i++) {
            momentum[i] = (float) rng.nextGaussian();
        }
        params.upload(Parameters.initialValues(3), momentum);
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    private Path save(String name) {
        Path file = dir.resolve(name);
        Checkpoint.capture(params, Map.of(Checkpoint.EPOCH, "2", Checkpoint.STEP, "1876", Checkpoint.LR, "0.05")).write(file);
        return file;
    }

    @Test
    void roundTripsValuesMomentumAndMetadataExactly() {
        Checkpoint read = Checkpoint.read(save("c.safetensors"));
        Parameters other = new Parameters(backend);
        read.applyTo(other);
        assertArrayEquals(params.downloadValues(), other.downloadValues());
        assertArrayEquals(params.downloadMomentum(), other.downloadMomentum());
        assertEquals(1876, read.requireLong(Checkpoint.STEP, "c"));
        assertEquals(0.05f, read.requireFloat(Checkpoint.LR, "c"));
        assertEquals(Checkpoint.FORMAT_NAME, read.metadata().get(Checkpoint.FORMAT));
    }

    @Test
    void isAPlainSafetensorsFileWithPyTorchNames() {
        Safetensors st = Safetensors.read(save("c.safetensors"));
        for (Parameters.Spec s : Parameters.SPECS) {
            assertArrayEquals(Parameters.slice(params.downloadValues(), s.name()), st.floats(s.name(), s.shape()));
            assertArrayEquals(s.shape(), st.shape(Checkpoint.MOMENTUM_PREFIX + s.name()));
        }
        assertEquals(2 * Parameters.SPECS.size(), st.names().size());
    }

    @Test
    void weightsWithoutOptimizerStateLoadForEvaluation() throws Exception {
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : Parameters.SPECS) {
            w.add(s.name(), s.shape(), Parameters.slice(params.downloadValues(), s.name()));
        }
        Path file = dir.resolve("weights.safetensors");
        w.writeAtomically(file);
        Checkpoint read = Checkpoint.read(file);
        assertNull(read.momentum());
        assertArrayEquals(params.downloadValues(), read.values());
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
    void wrongShapeMissingTensorAndWrongDtypeAreRejected() throws Exception {
        assertOneLineError(writeWith("fc1.weight", new int[]{120, 401}, null), "fc1.weight has shape [120, 401]");
        assertOneLineError(writeWith("fc3.bias", null, null), "missing tensor fc3.bias");
        assertOneLineError(writeWith("conv1.bias", null, "I64"), "conv1.bias is I64, expected F32");
        assertOneLineError(writeWith("optimizer.momentum.fc2.bias", null, null), "missing tensor optimizer.momentum.fc2.bias");
    }

    @Test
    void aFailedLoadLeavesTheModelUntouched() throws Exception {
        float[] before = params.downloadValues();
        Path bad = writeWith("fc3.weight", new int[]{10, 85}, null);
        assertThrows(InputException.class, () -> Checkpoint.read(bad).applyTo(params));
        assertArrayEquals(before, params.downloadValues());
    }

    /** A checkpoint in which {@code target} is changed: a new shape, another dtype, or (both null) left out. */
    private Path writeWith(String target, int[] shape, String dtype) throws Exception {
        Safetensors.Writer w = new Safetensors.Writer();
        float[] values = params.downloadValues();
        for (String prefix : new String[]{"", Checkpoint.MOMENTUM_PREFIX}) {
            for (Parameters.Spec s : Parameters.SPECS) {
                String name = prefix + s.name();
                if (!name.equals(target)) {
                    w.add(name, s.shape(), Parameters.slice(values, s.name()));
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
        float[] momentum = params.downloadMomentum();
        Parameters.Spec fc1 = Parameters.spec("fc1.bias");
        values[fc1.offset()] = Float.NaN;
        values[fc1.offset() + 3] = Float.POSITIVE_INFINITY;
        params.upload(values, momentum);
        Checkpoint bad = Checkpoint.capture(params, Map.of(Checkpoint.EPOCH, "3"));
        assertEquals("fc1.bias holds 2 non-finite values (NaN or infinite)", bad.nonFinite().orElseThrow());
        InputException e = assertThrows(InputException.class, () -> bad.write(file));
        assertEquals(file + ": not writing a checkpoint whose fc1.bias holds 2 non-finite values (NaN or infinite)"
                + " (training diverged; try a lower --lr)", e.getMessage());
        assertArrayEquals(good, Files.readAllBytes(file), "the file is left as it was");

        float[] finite = Parameters.initialValues(3);
        momentum[Parameters.spec("conv2.weight").offset()] = Float.NEGATIVE_INFINITY;
        Checkpoint badMomentum = new Checkpoint(finite, momentum, Map.of());
        assertTrue(badMomentum.nonFiniteWeights().isEmpty());
        assertEquals("optimizer.momentum.conv2.weight holds 1 non-finite value (NaN or infinite)",
                badMomentum.nonFinite().orElseThrow());
        assertThrows(InputException.class, () -> badMomentum.write(dir.resolve("other.safetensors")));
        assertTrue(Files.notExists(dir.resolve("other.safetensors")));
    }

    private static void assertOneLineError(Path file, String expected) {
        InputException e = assertThrows(InputException.class, () -> Checkpoint.read(file));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
