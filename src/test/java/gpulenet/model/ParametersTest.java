package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParametersTest {

    @Test
    void namesShapesAndOrderAreThoseOfPyTorchsStateDict() {
        List<String> names = new ArrayList<>();
        for (Parameters.Spec s : TestModels.lenet5Specs()) {
            names.add(s.name() + Arrays.toString(s.shape()));
        }
        assertEquals(List.of("conv1.weight[6, 1, 5, 5]", "conv1.bias[6]", "conv2.weight[16, 6, 5, 5]", "conv2.bias[16]",
                "fc1.weight[120, 400]", "fc1.bias[120]", "fc2.weight[84, 120]", "fc2.bias[84]",
                "fc3.weight[10, 84]", "fc3.bias[10]"), names);
        assertEquals(61706, TestModels.lenet5Total());
        try (Backend backend = new CpuBackend(1)) {
            Parameters p = TestModels.lenet5Parameters(backend);
            assertArrayEquals(new int[]{120, 400}, p.value("fc1.weight").shape());
            assertArrayEquals(new int[]{16}, p.grad("conv2.bias").shape());
        }
    }

    @Test
    void initIsUniformWithinOneOverSqrtFanInPerTensor() {
        float[] flat = TestModels.lenet5InitialValues(7);
        for (Parameters.Spec s : TestModels.lenet5Specs()) {
            float[] v = TestModels.slice(flat, s.name());
            double bound = 1 / Math.sqrt(s.fanIn());
            double max = 0, sum = 0, sumSq = 0;
            for (float x : v) {
                max = Math.max(max, Math.abs(x));
                sum += x;
                sumSq += (double) x * x;
            }
            assertTrue(max <= bound, s.name() + ": |value| " + max + " exceeds the bound " + bound);
            if (v.length >= 400) {
                // U(-b, b) has mean 0 and variance b^2/3; its extremes come close to b.
                assertTrue(max > 0.98 * bound, s.name() + ": largest |value| " + max + " far below the bound " + bound);
                double mean = sum / v.length, var = sumSq / v.length - mean * mean;
                assertEquals(0, mean, 4 * bound / Math.sqrt(3 * v.length), s.name() + " mean");
                assertEquals(bound * bound / 3, var, 0.1 * bound * bound / 3, s.name() + " variance");
            }
        }
    }

    @Test
    void initIsAFunctionOfTheSeed() {
        assertArrayEquals(TestModels.lenet5InitialValues(42), TestModels.lenet5InitialValues(42));
        assertFalse(Arrays.equals(TestModels.lenet5InitialValues(42), TestModels.lenet5InitialValues(43)));
    }

    @Test
    void viewsShareTheFlatBuffers() {
        try (Backend backend = new CpuBackend(1)) {
            Parameters p = TestModels.lenet5Parameters(backend);
            p.initialize(5);
            float[] bias = new float[10];
            backend.download(p.value("fc3.bias"), bias);
            assertArrayEquals(TestModels.slice(TestModels.lenet5InitialValues(5), "fc3.bias"), bias);
            assertEquals(p.total() - 10, p.spec("fc3.bias").offset());
        }
    }
}
