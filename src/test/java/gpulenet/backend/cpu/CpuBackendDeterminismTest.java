package gpulenet.backend.cpu;

import gpulenet.backend.LeNetStep;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole training steps give the same bits on every run and for every thread count. */
class CpuBackendDeterminismTest {
    private static final int STEPS = 5;

    private static float[][] train(int threads, int batch) {
        try (CpuBackend backend = new CpuBackend(threads)) {
            LeNetStep net = new LeNetStep(backend, batch, 42);
            for (int s = 0; s < STEPS; s++) {
                net.step();
            }
            return new float[][]{net.parameters(), net.stats()};
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
        try (CpuBackend backend = new CpuBackend(2)) {
            LeNetStep net = new LeNetStep(backend, 8, 42);
            float[] before = net.parameters();
            net.step();
            boolean changed = false;
            float[] after = net.parameters();
            for (int i = 0; i < before.length && !changed; i++) {
                changed = before[i] != after[i];
            }
            assertTrue(changed, "one step moved the parameters");
            assertFalse(Float.isNaN(net.stats()[0]));
        }
    }
}
