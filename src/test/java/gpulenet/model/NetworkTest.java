package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.Dataset;
import gpulenet.format.ModelCodec;
import gpulenet.io.InputException;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;
import gpulenet.train.DeviceDataset;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A network built from any layer list: shapes checked when it is built, and the gradients of the fused and
 * in-place ops (a ReLU after a pool, Dropout2d between ReLU and conv, a ReLU on the logits) against central
 * differences of the loss.
 */
class NetworkTest {
    private static final int SIZE = 8;
    private static final int BATCH = 3;

    /** Every fusion and in-place case: conv+ReLU masked by the pool, a lone ReLU, Dropout2d, Linear+ReLU last. */
    private static Model oddNetwork() {
        List<Layer> layers = List.of(new Conv2d("c1", 1, 3, 3, 1), new ReLU("r1"), new MaxPool2d("p1"), new ReLU("r2"),
                new Dropout2d("d", 0.5f), new Conv2d("c2", 3, 4, 3, 0), new ReLU("r3"), new Flatten("f"),
                new Linear("l1", 16, 12), new Linear("l2", 12, 10), new ReLU("r4"));
        return new Model("odd", layers, new InputTransform(0, 0.5f, 0.5f));
    }

    private static Dataset randomImages(int count) {
        Random random = new Random(3);
        byte[] images = new byte[count * SIZE * SIZE];
        byte[] labels = new byte[count];
        random.nextBytes(images);
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        return new Dataset("random", images, labels, count, SIZE, SIZE);
    }

    @Test
    void gradientsOfFusedAndInPlaceOpsMatchCentralDifferences() {
        try (Backend backend = new CpuBackend(1)) {
            Model model = oddNetwork();
            Parameters params = new Parameters(backend, model.parameterShapes());
            params.initialize(4);
            Network net = Network.forTraining(backend, model, params, SIZE, SIZE, BATCH);
            DeviceDataset data = new DeviceDataset(backend, randomImages(BATCH));
            net.gather(data.images(), data.labels(), data.order(), 0, BATCH);
            net.drawDropoutMasks(BATCH, 9, 0);
            float[] mask = new float[BATCH * 3];
            backend.download(net.dropoutMask("d", BATCH), mask);
            assertTrue(contains(mask, 0f) && contains(mask, 2f), "the mask drops some channels and scales the others by 2");

            double loss = loss(net);
            net.backward(BATCH);
            float[] grads = params.downloadGrads();
            float[] values = params.downloadValues();
            double eps = 1e-2;
            int checked = 0;
            for (int j = 0; j < values.length; j += 7) {
                float[] v = values.clone();
                v[j] = (float) (values[j] + eps);
                params.upload(v);
                double plus = loss(net);
                v[j] = (float) (values[j] - eps);
                params.upload(v);
                double minus = loss(net);
                double numeric = (plus - minus) / (2 * eps);
                assertEquals(numeric, grads[j], 2e-3 + 0.05 * Math.abs(numeric), "d loss / d parameter " + j);
                checked++;
            }
            params.upload(values);
            assertEquals(loss, loss(net), 0, "the forward pass is a function of the parameters alone");
            assertTrue(checked > 60, "checked " + checked);
        }
    }

    private static boolean contains(float[] v, float x) {
        for (float f : v) {
            if (f == x) {
                return true;
            }
        }
        return false;
    }

    /** The mean loss of a training forward pass with the masks drawn before. */
    private static double loss(Network net) {
        net.resetStats();
        net.forward(BATCH, true);
        net.loss(BATCH, true);
        return net.readStats()[0] / BATCH;
    }

    @Test
    void aLayerThatCannotTakeItsInputIsNamedWithBothShapes() {
        Model lenet5 = Presets.get("lenet5").model();
        InputException e = assertThrows(InputException.class, () -> lenet5.outputShapes(32, 32));
        assertEquals("layer fc1 (Linear(in_features=400, out_features=120, bias=True)) gets input [576] per sample, "
                + "but it needs [400]", e.getMessage());
        Model noFlatten = new Model("x", List.of(new Conv2d("c", 1, 2, 5, 0), new Linear("l", 1152, 10)), InputTransform.NONE);
        e = assertThrows(InputException.class, () -> noFlatten.outputShapes(28, 28));
        assertTrue(e.getMessage().contains("(flatten first)"), e.getMessage());
        Model nine = new Model("x", List.of(new Flatten("f"), new Linear("l", 784, 9)), InputTransform.NONE);
        e = assertThrows(InputException.class, () -> nine.outputShapes(28, 28));
        assertTrue(e.getMessage().endsWith("but the loss needs [10] (one logit per digit)"), e.getMessage());
        assertEquals(List.of(10), List.of(Presets.get("lenet5-32").model().outputShapes(32, 32).get(11)[0]));
    }

    @Test
    void anInferenceNetworkKeepsNoGradientsAndRefusesBackward() {
        try (Backend backend = new CpuBackend(1)) {
            Model model = oddNetwork();
            Parameters params = new Parameters(backend, model.parameterShapes());
            Network net = Network.forInference(backend, model, params, SIZE, SIZE, BATCH);
            assertThrows(IllegalStateException.class, () -> net.backward(BATCH));
            assertThrows(IllegalStateException.class, () -> net.loss(BATCH, true));
            assertThrows(IllegalStateException.class, () -> net.forward(BATCH, true));
            assertThrows(IllegalArgumentException.class, () -> net.gradient("c1", BATCH));
        }
    }

    @Test
    void presetsHaveTheirTutorialsParameterCounts() {
        assertEquals(61_706, Presets.get("lenet5").model().parameterCount());
        assertEquals(61_706, Presets.get("lenet5-32").model().parameterCount());
        assertEquals(206_390, Presets.get("cnn-dropout").model().parameterCount());
        assertEquals(569_186, Presets.get("cnn3").model().parameterCount());
        for (Presets.Preset p : Presets.ALL) {
            int size = p.model().inputSize(28);
            assertEquals(10, p.model().outputShapes(size, size).get(p.model().layers().size() - 1)[0], p.name());
        }
    }

    @Test
    void layersRoundTripThroughCheckpointMetadata() {
        for (Presets.Preset p : Presets.ALL) {
            List<Layer> layers = p.model().layers();
            assertEquals(layers, ModelCodec.layersFromJson(ModelCodec.layersToJson(layers), "test"), p.name());
        }
        InputException e = assertThrows(InputException.class, () -> ModelCodec.layersFromJson("[{\"type\":\"BatchNorm2d\",\"name\":\"b\"}]", "f"));
        assertEquals("f: checkpoint metadata layers is not a valid layer list (unknown layer type BatchNorm2d)", e.getMessage());
    }
}
