package gpulenet.format;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxModelMetadata;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import gpulenet.backend.SizingBackend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.model.layer.ModulePrintout;
import gpulenet.optim.Sgd;
import gpulenet.train.DeviceDataset;
import gpulenet.train.TrainingStep;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX files {@link OnnxExport} writes, run by ONNX Runtime on real MNIST test images and compared with this
 * project's own forward pass (the CPU backend in eval mode). A wrong field number, wire type or attribute makes
 * ONNX Runtime refuse the file or compute something else, so these tests check the encoding as well as the graph.
 *
 * <p>Tolerance: |onnx - java| <= 1e-5 + 1e-5 * |java| for every logit. Both sides compute in float32 from the same
 * float32 input (ONNX Runtime's Sub and Div give the gather's (x - mean)/std bits), so the differences come only
 * from the order in which the convolutions and GEMMs add their terms; they are about 1e-6 at most.
 */
public class OnnxExportTest {
    static final double ABS = 1e-5;
    static final double REL = 1e-5;
    private static final int IMAGES = 64;

    /** The first {@code n} images of {@code d}. */
    public static Dataset first(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n), n,
                d.rows(), d.cols());
    }

    /** {@code images} as the exported model takes them: ToTensor's x = pixel/255, float32 [N,1,H,W]. */
    public static float[] toTensor(Dataset images) {
        float[] x = new float[images.images().length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (images.images()[i] & 0xff) / 255f;
        }
        return x;
    }

    /** What ONNX Runtime computes from the model in {@code onnx} for {@code images} (already resized), [N*10]. */
    public static float[] onnxLogits(byte[] onnx, Dataset images) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(onnx, options)) {
                return run(env, session, images);
            }
        }
    }

    private static float[] run(OrtEnvironment env, OrtSession session, Dataset images) throws OrtException {
        long[] shape = {images.count(), 1, images.rows(), images.cols()};
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(toTensor(images)), shape);
             OrtSession.Result result = session.run(Map.of(OnnxExport.INPUT, x))) {
            float[][] logits = (float[][]) result.get(OnnxExport.OUTPUT).orElseThrow().getValue();
            float[] flat = new float[images.count() * Model.CLASSES];
            for (int i = 0; i < logits.length; i++) {
                assertEquals(Model.CLASSES, logits[i].length);
                System.arraycopy(logits[i], 0, flat, i * Model.CLASSES, Model.CLASSES);
            }
            assertEquals(images.count(), logits.length);
            return flat;
        }
    }

    /** This project's logits for {@code images} (already resized): gather (normalises), forward in eval mode. */
    public static float[] javaLogits(Model model, float[] values, Dataset images) {
        try (CpuBackend backend = new CpuBackend(1)) {
            Parameters params = new Parameters(backend, model.parameterShapes());
            params.upload(values);
            Network network = Network.forInference(backend, model, params, images.rows(), images.cols(), images.count());
            DeviceDataset device = new DeviceDataset(backend, images);
            network.gather(device.images(), device.labels(), device.order(), 0, images.count());
            network.forward(images.count(), false);
            float[] logits = new float[images.count() * Model.CLASSES];
            backend.download(network.logits(images.count()), logits);
            return logits;
        }
    }

    /** The largest |onnx - java|, after checking every logit against the tolerance. */
    public static double assertClose(float[] java, float[] onnx, String what) {
        assertEquals(java.length, onnx.length, what);
        double max = 0;
        for (int i = 0; i < java.length; i++) {
            double d = Math.abs((double) onnx[i] - java[i]);
            assertTrue(d <= ABS + REL * Math.abs(java[i]), String.format(Locale.ROOT,
                    "%s: logit %d of image %d: ONNX Runtime %s, gpu-lenet %s", what, i % Model.CLASSES, i / Model.CLASSES,
                    onnx[i], java[i]));
            max = Math.max(max, d);
        }
        return max;
    }

    /** Exports, runs in ONNX Runtime and compares on the first {@value #IMAGES} MNIST test images; the max difference. */
    private static double compare(Model model, float[] values, String what) throws OrtException {
        Dataset images = model.transform().applyTo(first(DataSets.embeddedTest(), IMAGES));
        byte[] onnx = OnnxExport.encode(model, values, images.rows(), images.cols(), "test");
        float[] java = javaLogits(model, values, images);
        double max = assertClose(java, onnxLogits(onnx, images), what);
        double largest = 0;
        for (float v : java) {
            largest = Math.max(largest, Math.abs(v));
        }
        System.out.printf(Locale.ROOT, "ONNX export %s: max |ONNX Runtime - gpu-lenet| = %.3g over %d logits (largest |logit| %.3g)%n",
                what, max, java.length, largest);
        return max;
    }

    private static float[] initialValues(Model model, long seed) {
        return new Parameters(new SizingBackend(), model.parameterShapes()).initialValues(seed);
    }

    @Test
    void everyPresetFromAFreshInitGivesTheSameLogitsInOnnxRuntime() throws OrtException {
        for (Presets.Preset p : Presets.ALL) {
            compare(p.model(), initialValues(p.model(), 7), p.name() + " (init, seed 7)");
        }
    }

    /** {@code steps} steps of momentum SGD at batch 64 on the start of MNIST's training set; the weights. */
    private static float[] trained(Model model, int steps) {
        Dataset train = model.transform().applyTo(first(DataSets.embedded().train(), steps * 64));
        try (CpuBackend backend = new CpuBackend(2)) {
            Parameters params = new Parameters(backend, model.parameterShapes());
            params.initialize(1);
            Network network = Network.forTraining(backend, model, params, train.rows(), train.cols(), 64);
            DeviceDataset device = new DeviceDataset(backend, train);
            TrainingStep step = new TrainingStep(network, new Sgd(params, 0.9f, 0f));
            for (int s = 0; s < steps; s++) {
                network.gather(device.images(), device.labels(), device.order(), s * 64, 64);
                step.run(64, 0.05f, 1, s);
            }
            return params.downloadValues();
        }
    }

    private static int argmax(float[] logits, int image) {
        int best = 0;
        for (int k = 1; k < Model.CLASSES; k++) {
            if (logits[image * Model.CLASSES + k] > logits[image * Model.CLASSES + best]) {
                best = k;
            }
        }
        return best;
    }

    @Test
    void trainedLenet5AndLenet5On32x32GiveTheSameLogitsAndPredictions() throws OrtException {
        for (String name : List.of("lenet5", "lenet5-32")) {
            Model model = Presets.get(name).model();
            float[] values = trained(model, 100);
            compare(model, values, name + " (100 SGD steps)");
            Dataset images = model.transform().applyTo(first(DataSets.embeddedTest(), IMAGES));
            float[] onnx = onnxLogits(OnnxExport.encode(model, values, images.rows(), images.cols(), "test"), images);
            int correct = 0;
            for (int i = 0; i < IMAGES; i++) {
                correct += argmax(onnx, i) == images.label(i) ? 1 : 0;
            }
            assertTrue(correct >= 48, name + ": the trained network is right on " + correct + " of " + IMAGES);
        }
    }

    @Test
    void inputOutputAndMetadataAreDeclaredAndTheBatchIsSymbolic() throws OrtException {
        Model model = Presets.get("lenet5-32").model();
        byte[] onnx = OnnxExport.encode(model, initialValues(model, 3), 32, 32, "1.2.3");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
            assertEquals(List.of(OnnxExport.INPUT), List.copyOf(session.getInputNames()));
            assertEquals(List.of(OnnxExport.OUTPUT), List.copyOf(session.getOutputNames()));
            NodeInfo in = session.getInputInfo().get(OnnxExport.INPUT);
            TensorInfo inInfo = (TensorInfo) in.getInfo();
            assertArrayEquals(new long[]{-1, 1, 32, 32}, inInfo.getShape());
            assertEquals(OnnxExport.BATCH, inInfo.getDimensionNames()[0]);
            assertEquals(TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, inInfo.onnxType);
            TensorInfo outInfo = (TensorInfo) session.getOutputInfo().get(OnnxExport.OUTPUT).getInfo();
            assertArrayEquals(new long[]{-1, 10}, outInfo.getShape());
            assertEquals(OnnxExport.BATCH, outInfo.getDimensionNames()[0]);

            OnnxModelMetadata meta = session.getMetadata();
            assertEquals("gpu-lenet", meta.getProducerName());
            assertEquals("lenet5-32", meta.getGraphName());
            assertTrue(meta.getDescription().contains("x = pixel/255"), meta.getDescription());
            assertTrue(meta.getDescription().contains("Resize((32,32)), which is not part of this graph"), meta.getDescription());
            assertTrue(meta.getDescription().contains("(x - 0.1307)/0.3081"), meta.getDescription());
            Map<String, String> custom = meta.getCustomMetadata();
            assertEquals("0.1307,0.3081", custom.get("normalize"));
            assertEquals("32", custom.get("resize"));
            assertEquals("lenet5-32", custom.get("model"));

            // Any batch size runs: 1 and 3 images give the rows that 64 give.
            Dataset images = model.transform().applyTo(first(DataSets.embeddedTest(), 3));
            float[] three = run(env, session, images);
            float[] one = run(env, session, first(images, 1));
            assertArrayEquals(Arrays.copyOf(three, Model.CLASSES), one);
        }
    }

    @Test
    void theWeightsAreInitializersUnderTheirPyTorchNamesAsLittleEndianFloats() {
        Model model = Presets.get("cnn-dropout").model();
        float[] values = initialValues(model, 5);
        byte[] onnx = OnnxExport.encode(model, values, 28, 28, "test");
        for (Parameters.Spec s : Parameters.layout(model.parameterShapes())) {
            ByteBuffer raw = ByteBuffer.allocate(4 * s.size()).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(values, s.offset(), s.size());
            assertTrue(indexOf(onnx, stringField(TENSOR_NAME, s.name())) >= 0, s.name());
            assertTrue(indexOf(onnx, raw.array()) >= 0, s.name() + "'s values");
        }
        assertTrue(indexOf(onnx, stringField(NODE_OP_TYPE, "Sub")) >= 0, "a Sub node for Normalize");
        assertTrue(indexOf(onnx, stringField(NODE_OP_TYPE, "Div")) >= 0, "a Div node for Normalize");
        assertTrue(indexOf(onnx, stringField(NODE_NAME, "conv1.0")) >= 0, "a node named as its layer");
        assertFalse(indexOf(onnx, stringField(NODE_NAME, "drop")) >= 0, "no node for Dropout2d");
        assertArrayEquals(onnx, OnnxExport.encode(model, values, 28, 28, "test"), "the same bytes every time");

        Model plain = Presets.get("cnn3").model();
        byte[] noNormalize = OnnxExport.encode(plain, initialValues(plain, 5), 28, 28, "test");
        assertFalse(indexOf(noNormalize, stringField(NODE_OP_TYPE, "Sub")) >= 0,
                "no Sub/Div for a model trained on x/255 itself");
    }

    private static final int NODE_NAME = 3, NODE_OP_TYPE = 4, TENSOR_NAME = 8;

    /** A short string field as protobuf writes it: tag (field << 3 | 2), length, UTF-8 bytes. */
    private static byte[] stringField(int field, String value) {
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[text.length + 2];
        out[0] = (byte) (field << 3 | 2);
        out[1] = (byte) text.length;
        System.arraycopy(text, 0, out, 2, text.length);
        return out;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void theWireFormatIsProtobufs() {
        // the examples of https://protobuf.dev/programming-guides/encoding/
        assertArrayEquals(new byte[]{0x08, (byte) 0x96, 0x01}, new Protobuf().varint(1, 150).toByteArray());
        assertArrayEquals(new byte[]{0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}, new Protobuf().string(2, "testing").toByteArray());
        assertArrayEquals(new byte[]{0x1a, 0x03, 0x08, (byte) 0x96, 0x01},
                new Protobuf().message(3, new Protobuf().varint(1, 150)).toByteArray());
        byte[] minusOne = new byte[11];
        Arrays.fill(minusOne, (byte) 0xff);
        minusOne[0] = 0x08;
        minusOne[10] = 0x01;
        assertArrayEquals(minusOne, new Protobuf().varint(1, -1).toByteArray());
        assertArrayEquals(new byte[]{0x40, 0x01, 0x40, 0x02}, new Protobuf().varints(8, 1, 2).toByteArray(), "unpacked");
        assertArrayEquals(new byte[]{(byte) 0xa0, 0x01, 0x07}, new Protobuf().varint(20, 7).toByteArray(), "a two-byte tag");
    }

    @Test
    void layersNamedLikeTheGraphsInputAndOutputGetOtherValueNames() throws OrtException {
        String printout = String.join("\n",
                "Sequential(",
                "  (input): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
                "  (logits): ReLU()",
                "  (input.mean): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "  (d): Dropout2d(p=0.5, inplace=False)",
                "  (f): Flatten(start_dim=1, end_dim=-1)",
                "  (normalized): Linear(in_features=784, out_features=10, bias=True)",
                "  (r): ReLU()",
                ")");
        Model model = new Model("odd names", ModulePrintout.parse("odd.txt", printout), new InputTransform(0, 0.5f, 0.25f));
        compare(model, initialValues(model, 11), "odd value names");
    }

    @Test
    void anOddSizedInputPoolsInFloorModeAsMaxPool2dDoes() throws OrtException {
        // conv 4: 25x25 -> pool 12x12 -> conv 3: 10x10 -> pool 5x5 -> conv 3 padding 1: 5x5 -> pool 2x2: the pools of
        // 25 and 5 drop their last row and column (floor mode)
        String printout = String.join("\n",
                "Sequential(",
                "  (0): Conv2d(1, 3, kernel_size=(4, 4), stride=(1, 1))",
                "  (1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "  (2): Conv2d(3, 5, kernel_size=(3, 3), stride=(1, 1))",
                "  (3): ReLU()",
                "  (4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "  (5): Conv2d(5, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
                "  (6): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "  (7): Flatten(start_dim=1, end_dim=-1)",
                "  (8): Linear(in_features=24, out_features=10, bias=True)",
                ")");
        Model model = new Model("odd sizes", ModulePrintout.parse("odd.txt", printout), InputTransform.NONE);
        assertArrayEquals(new int[]{6, 2, 2}, model.outputShapes(28, 28).get(6));
        compare(model, initialValues(model, 13), "odd sizes (pools of 25 and 5)");
    }
}
