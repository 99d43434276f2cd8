package gpulenet.backend.cpu;

import gpulenet.data.Dataset;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.model.TestModels;
import gpulenet.optim.Optimizers;
import gpulenet.train.DeviceDataset;
import gpulenet.train.TrainingStep;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole training steps of every preset give the same bits on every run and for every thread count. */
class CpuBackendDeterminismTest {
    private static final int STEPS = 5;

    /** Random images and labels: enough to exercise every op; what is learned does not matter. */
    private static Dataset synthetic(int count, int size) {
        Random random = new Random(42);
        byte[] images = new byte[count * size * size];
        byte[] labels = new byte[count];
        random.nextBytes(images);
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        return new Dataset("synthetic", images, labels, count, size, size);
    }

    /** {parameters after the steps, {loss sum, correct count}}. */
    private static float[][] train(String preset, int threads, int batch) {
        Presets.Preset p = Presets.get(preset);
        Model model = p.model();
        int size = model.inputSize(28);
        try (CpuBackend backend = new CpuBackend(threads)) {
            DeviceDataset data = new DeviceDataset(backend, synthetic(STEPS * batch, size));
            data.useIdentityOrder();
            Parameters params = new Parameters(backend, model.parameterShapes());
            params.initialize(42);
            Network net = Network.forTraining(backend, model, params, size, size, batch);
            TrainingStep step = new TrainingStep(net, Optimizers.create(p.defaults().optimizer(), params, 0.9f, 0f));
            for (int s = 0; s < STEPS; s++) {
                net.gather(data.images(), data.labels(), data.order(), s * batch, batch);
                step.run(batch, p.defaults().lr() * 10, 42, s);
            }
            return new float[][]{params.downloadValues(), net.readStats()};
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet5", "lenet5-32", "cnn-dropout", "cnn3"})
    void sameStepsTwiceGiveIdenticalBits(String preset) {
        float[][] first = train(preset, 2, 16);
        float[][] second = train(preset, 2, 16);
        assertArrayEquals(first[0], second[0], "parameters");
        assertArrayEquals(first[1], second[1], "loss sum and correct count");
        assertTrue(Float.isFinite(first[1][0]) && first[1][0] > 0, "a real loss was summed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet5", "lenet5-32", "cnn-dropout", "cnn3"})
    void resultsDoNotDependOnTheThreadCount(String preset) {
        float[][] one = train(preset, 1, 12);
        for (int threads : new int[]{2, 3, 5}) {
            float[][] many = train(preset, threads, 12);
            assertArrayEquals(one[0], many[0], "parameters with " + threads + " threads");
            assertArrayEquals(one[1], many[1], "stats with " + threads + " threads");
        }
    }

    @Test
    void trainingChangesTheParameters() {
        float[] before = TestModels.lenet5InitialValues(42);
        float[] after = train("lenet5", 2, 8)[0];
        boolean changed = false;
        for (int i = 0; i < before.length && !changed; i++) {
            changed = before[i] != after[i];
        }
        assertTrue(changed, "the steps moved the parameters");
        assertFalse(Float.isNaN(after[0]));
    }
}
