package gpulenet.backend.cpu;

import gpulenet.data.Dataset;
import gpulenet.model.LeNet5;
import gpulenet.model.Parameters;
import gpulenet.train.DeviceDataset;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole LeNet-5 training steps give the same bits on every run and for every thread count. */
class CpuBackendDeterminismTest {
    private static final int STEPS = 5;

    /** Random images and labels: enough to exercise every op; what is learned does not matter. */
    private static Dataset synthetic(int count) {
        Random random = new Random(42);
        byte[] images = new byte[count * 28 * 28];
        byte[] labels = new byte[count];
        random.nextBytes(images);
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        return new Dataset("synthetic", images, labels, count, 28, 28);
    }

    /** {parameters after the steps, {loss sum, correct count}}. */
    private static float[][] train(int threads, int batch) {
        try (CpuBackend backend = new CpuBackend(threads)) {
            DeviceDataset data = new DeviceDataset(backend, synthetic(STEPS * batch));
            data.useIdentityOrder();
            Parameters params = new Parameters(backend);
            params.initialize(42);
            LeNet5 net = new LeNet5(backend, params, batch);
            for (int s = 0; s < STEPS; s++) {
                net.gather(data.images(), data.labels(), data.order(), s * batch, batch);
                net.trainStep(batch, 0.05f, 0.9f, 0f, s == 0);
            }
            return new float[][]{params.downloadValues(), net.readStats()};
        }
    }

    @Test
    void sameStepsTwiceGiveIdenticalBits() {
        float[][] first = train(2, 16);
        float[][] second = train(2, 16);
        assertArrayEquals(first[0], second[0], "parameters");
        assertArrayEquals(first[1], second[1], "loss sum and correct count");
        assertTrue(Float.isFinite(first[1][0]) && first[1][0] > 0, "a real loss was summed");
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        float[][] one = train(1, 12);
        for (int threads : new int[]{2, 3, 5}) {
            float[][] many = train(threads, 12);
            assertArrayEquals(one[0], many[0], "parameters with " + threads + " threads");
            assertArrayEquals(one[1], many[1], "stats with " + threads + " threads");
        }
    }

    @Test
    void trainingChangesTheParameters() {
        float[] before = Parameters.initialValues(42);
        float[] after = train(2, 8)[0];
        boolean changed = false;
        for (int i = 0; i < before.length && !changed; i++) {
            changed = before[i] != after[i];
        }
        assertTrue(changed, "the steps moved the parameters");
        assertFalse(Float.isNaN(after[0]));
    }
}
