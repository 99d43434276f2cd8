package gpulenet.backend;

import gpulenet.model.Safetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each op of one LeNet-5 training step against PyTorch's autograd (golden/lenet5_step.safetensors,
 * batch 8): fed PyTorch's inputs, every op must give PyTorch's activation or gradient within
 * abs 1e-5 + rel 1e-4. Subclasses name the backend under test.
 */
public abstract class BackendGoldenOpsContract {
    private static final double ABS = 1e-5;
    private static final double REL = 1e-4;
    private static final float LR = 0.05f;
    private static final float MOMENTUM = 0.9f;
    private static final String[] PARAMS = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
            "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"};

    private static Safetensors golden;
    private Backend backend;

    protected abstract Backend createBackend();

    @BeforeAll
    static void loadGolden() throws Exception {
        golden = Safetensors.read(Path.of(BackendGoldenOpsContract.class.getResource("/golden/lenet5_step.safetensors").toURI()));
    }

    @BeforeEach
    void open() {
        backend = createBackend();
    }

    @AfterEach
    void close() {
        backend.close();
    }

    @Test
    void conv1ForwardGivesPreAndPostReluActivations() {
        Tensor x = golden("input");
        Tensor y = backend.allocate(DType.F32, 8, 6, 28, 28);
        backend.conv2dForward(x, golden("param.conv1.weight"), golden("param.conv1.bias"), 2, false, y);
        assertClose("act.conv1", y);
        backend.conv2dForward(x, golden("param.conv1.weight"), golden("param.conv1.bias"), 2, true, y);
        assertClose("act.relu1", y);
    }

    @Test
    void conv2ForwardGivesPreAndPostReluActivations() {
        Tensor x = golden("act.pool1");
        Tensor y = backend.allocate(DType.F32, 8, 16, 10, 10);
        backend.conv2dForward(x, golden("param.conv2.weight"), golden("param.conv2.bias"), 0, false, y);
        assertClose("act.conv2", y);
        backend.conv2dForward(x, golden("param.conv2.weight"), golden("param.conv2.bias"), 0, true, y);
        assertClose("act.relu2", y);
    }

    @Test
    void poolForwardGivesPooledActivationsAndArgmaxPointsAtThem() {
        for (String[] layer : new String[][]{{"act.relu1", "act.pool1"}, {"act.relu2", "act.pool2"}}) {
            Tensor x = golden(layer[0]);
            Tensor y = backend.allocate(DType.F32, x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2);
            Tensor argmax = backend.allocate(DType.I32, y.shape());
            backend.maxPool2x2Forward(x, y, argmax);
            assertClose(layer[1], y);
            float[] xs = golden.floats(layer[0]);
            float[] ys = download(y);
            int[] idx = downloadInts(argmax);
            int w = x.dim(3);
            for (int i = 0; i < idx.length; i++) {
                int top = (i / y.dim(3)) * 2 * w + (i % y.dim(3)) * 2;
                int rel = idx[i] - top;
                assertEquals(true, rel == 0 || rel == 1 || rel == w || rel == w + 1, "argmax " + i + " outside its window");
                assertEquals(ys[i], xs[idx[i]], layer[1] + " argmax " + i);
            }
        }
    }

    @Test
    void fullyConnectedForwardOnFlattenedPool2() {
        Tensor pool2 = golden("act.pool2");
        Tensor flat = backend.view(pool2, 0, 8, 400);
        Tensor fc1 = backend.allocate(DType.F32, 8, 120);
        backend.linearForward(flat, golden("param.fc1.weight"), golden("param.fc1.bias"), false, fc1);
        assertClose("act.fc1", fc1);
        backend.linearForward(flat, golden("param.fc1.weight"), golden("param.fc1.bias"), true, fc1);
        assertClose(relu(golden.floats("act.fc1")), download(fc1), "relu(act.fc1)");

        Tensor fc2 = backend.allocate(DType.F32, 8, 84);
        backend.linearForward(upload(relu(golden.floats("act.fc1")), 8, 120), golden("param.fc2.weight"),
                golden("param.fc2.bias"), false, fc2);
        assertClose("act.fc2", fc2);

        Tensor logits = backend.allocate(DType.F32, 8, 10);
        backend.linearForward(upload(relu(golden.floats("act.fc2")), 8, 84), golden("param.fc3.weight"),
                golden("param.fc3.bias"), false, logits);
        assertClose("act.logits", logits);
    }

    @Test
    void softmaxCrossEntropyGivesLossCorrectCountAndLogitGradient() {
        Tensor logits = golden("act.logits");
        Tensor labels = labels();
        Tensor dlogits = backend.allocate(DType.F32, 8, 10);
        Tensor stats = backend.allocate(DType.F32, 2);
        backend.softmaxCrossEntropy(logits, labels, dlogits, stats);
        float[] s = download(stats);
        assertClose(golden.floats("loss"), new float[]{s[0] / 8}, "loss");
        assertEquals(expectedCorrect(), s[1], "correct count");
        assertClose("grad.act.logits", dlogits);

        backend.softmaxCrossEntropy(logits, labels, null, stats);
        float[] twice = download(stats);
        assertClose(new float[]{2 * s[0], 2 * s[1]}, twice, "stats accumulate across calls");
    }

    @Test
    void linearBackwardGivesEveryGradientWithReluMaskOnInput() {
        checkLinearBackward(upload(relu(golden.floats("act.fc2")), 8, 84), "fc3", "grad.act.logits", true, "grad.act.fc2");
        checkLinearBackward(upload(relu(golden.floats("act.fc1")), 8, 120), "fc2", "grad.act.fc2", true, "grad.act.fc1");
        checkLinearBackward(backend.view(golden("act.pool2"), 0, 8, 400), "fc1", "grad.act.fc1", false, "grad.act.pool2");
    }

    private void checkLinearBackward(Tensor x, String layer, String dyName, boolean reluOnInput, String dxName) {
        Tensor w = golden("param." + layer + ".weight");
        Tensor dy = golden(dyName);
        Tensor dx = backend.allocate(DType.F32, x.shape());
        Tensor dw = backend.allocate(DType.F32, w.shape());
        Tensor db = backend.allocate(DType.F32, w.dim(0));
        backend.linearBackward(x, w, dy, reluOnInput, dx, dw, db);
        assertClose(dxName, dx);
        assertClose("grad." + layer + ".weight", dw);
        assertClose("grad." + layer + ".bias", db);

        Tensor dw2 = backend.allocate(DType.F32, w.shape());
        Tensor db2 = backend.allocate(DType.F32, w.dim(0));
        backend.linearBackward(x, w, dy, reluOnInput, null, dw2, db2);
        assertArrayEquals(download(dw), download(dw2), layer + ": weight gradient without dx");
        assertArrayEquals(download(db), download(db2), layer + ": bias gradient without dx");
    }

    @Test
    void poolBackwardRoutesGradientToArgmaxAndFusesRelu() {
        for (String n : new String[]{"1", "2"}) {
            Tensor x = golden("act.relu" + n);
            Tensor y = backend.allocate(DType.F32, x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2);
            Tensor argmax = backend.allocate(DType.I32, y.shape());
            backend.maxPool2x2Forward(x, y, argmax);
            Tensor dy = golden("grad.act.pool" + n);
            Tensor dx = backend.allocate(DType.F32, x.shape());
            fill(dx, Float.NaN);
            backend.maxPool2x2Backward(dy, y, argmax, false, dx);
            assertClose("grad.act.relu" + n, dx);
            fill(dx, Float.NaN);
            backend.maxPool2x2Backward(dy, y, argmax, true, dx);
            assertClose("grad.act.conv" + n, dx);
        }
    }

    @Test
    void conv2BackwardGivesInputWeightAndBiasGradients() {
        Tensor dx = backend.allocate(DType.F32, 8, 6, 14, 14);
        Tensor dw = backend.allocate(DType.F32, 16, 6, 5, 5);
        Tensor db = backend.allocate(DType.F32, 16);
        fill(dx, Float.NaN);
        backend.conv2dBackward(golden("act.pool1"), golden("param.conv2.weight"), golden("grad.act.conv2"), 0, dx, dw, db);
        assertClose("grad.act.pool1", dx);
        assertClose("grad.conv2.weight", dw);
        assertClose("grad.conv2.bias", db);
    }

    @Test
    void conv1BackwardWithoutInputGradient() {
        Tensor dw = backend.allocate(DType.F32, 6, 1, 5, 5);
        Tensor db = backend.allocate(DType.F32, 6);
        fill(dw, Float.NaN);
        backend.conv2dBackward(golden("input"), golden("param.conv1.weight"), golden("grad.act.conv1"), 2, null, dw, db);
        assertClose("grad.conv1.weight", dw);
        assertClose("grad.conv1.bias", db);
    }

    @Test
    void sgdFirstStepGivesUpdatedParameters() {
        int total = 0;
        for (String p : PARAMS) {
            total += golden.floats("param." + p).length;
        }
        float[] params = new float[total];
        float[] grads = new float[total];
        float[] expected = new float[total];
        int at = 0;
        for (String p : PARAMS) {
            float[] v = golden.floats("param." + p);
            System.arraycopy(v, 0, params, at, v.length);
            System.arraycopy(golden.floats("grad." + p), 0, grads, at, v.length);
            System.arraycopy(golden.floats("updated." + p), 0, expected, at, v.length);
            at += v.length;
        }
        Tensor pt = upload(params, total);
        Tensor gt = upload(grads, total);
        Tensor buf = backend.allocate(DType.F32, total);
        fill(buf, Float.NaN);
        backend.sgdUpdate(pt, gt, buf, LR, MOMENTUM, 0f, true);
        assertClose(expected, download(pt), "updated parameters");
        assertArrayEquals(grads, download(buf), "the first step's momentum buffer is the gradient");
    }

    @Test
    void gatherNormalisesPixelsExactlyAsPyTorch() {
        float[] input = golden.floats("input");
        long[] goldenLabels = golden.longs("labels");
        int n = 13;
        int hw = 28 * 28;
        int[] slots = {12, 0, 7, 3, 9, 1, 5, 10};
        byte[] images = new byte[n * hw];
        byte[] labelBytes = new byte[n];
        for (int i = 0; i < 8; i++) {
            for (int p = 0; p < hw; p++) {
                long pixel = Math.round((input[i * hw + p] * 0.5 + 0.5) * 255);
                images[slots[i] * hw + p] = (byte) pixel;
            }
            labelBytes[slots[i]] = (byte) goldenLabels[i];
        }
        int[] order = new int[11];
        Arrays.fill(order, 2);
        System.arraycopy(slots, 0, order, 3, 8);
        Tensor imagesT = backend.allocate(DType.U8, n, 28, 28);
        backend.upload(imagesT, images);
        Tensor labelsT = backend.allocate(DType.U8, n);
        backend.upload(labelsT, labelBytes);
        Tensor orderT = backend.allocate(DType.I32, order.length);
        backend.upload(orderT, order);
        Tensor x = backend.allocate(DType.F32, 8, 1, 28, 28);
        Tensor y = backend.allocate(DType.I32, 8);
        backend.gatherBatch(imagesT, labelsT, orderT, 3, 0.5f, 0.5f, x, y);
        assertArrayEquals(input, download(x), "normalised batch, bit for bit");
        int[] expectedLabels = new int[8];
        for (int i = 0; i < 8; i++) {
            expectedLabels[i] = (int) goldenLabels[i];
        }
        assertArrayEquals(expectedLabels, downloadInts(y));
    }

    // ---- helpers

    private Tensor golden(String name) {
        return upload(golden.floats(name), golden.shape(name));
    }

    private Tensor labels() {
        long[] l = golden.longs("labels");
        int[] ints = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            ints[i] = (int) l[i];
        }
        Tensor t = backend.allocate(DType.I32, ints.length);
        backend.upload(t, ints);
        return t;
    }

    private float expectedCorrect() {
        float[] z = golden.floats("act.logits");
        long[] l = golden.longs("labels");
        int correct = 0;
        for (int n = 0; n < l.length; n++) {
            int best = 0;
            for (int j = 1; j < 10; j++) {
                if (z[n * 10 + j] > z[n * 10 + best]) {
                    best = j;
                }
            }
            correct += best == l[n] ? 1 : 0;
        }
        return correct;
    }

    private Tensor upload(float[] values, int... shape) {
        Tensor t = backend.allocate(DType.F32, shape);
        backend.upload(t, values);
        return t;
    }

    private float[] download(Tensor t) {
        float[] out = new float[(int) t.size()];
        backend.download(t, out);
        return out;
    }

    private int[] downloadInts(Tensor t) {
        int[] out = new int[(int) t.size()];
        backend.download(t, out);
        return out;
    }

    private void fill(Tensor t, float value) {
        float[] v = new float[(int) t.size()];
        Arrays.fill(v, value);
        backend.upload(t, v);
    }

    private static float[] relu(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(out[i], 0f);
        }
        return out;
    }

    private void assertClose(String goldenName, Tensor actual) {
        assertClose(golden.floats(goldenName), download(actual), goldenName);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        Tolerance.assertClose(expected, actual, ABS, REL, what);
    }
}
