package gpulenet.backend;

import gpulenet.format.Safetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each op of one LeNet-5 training step against PyTorch's autograd (golden/lenet5_step.safetensors,
 * batch 8): fed PyTorch's inputs, every op must give PyTorch's activation or gradient within
 * abs 1e-5 + rel 1e-4. Then the ops of the other tutorials' networks on their shapes (golden/seeds:
 * the 3x3 and 5x5 convolutions of cnn3 and cnn-dropout op by op, Dropout2d with PyTorch's mask, ReLU,
 * the first SGD and Adam steps) within the seeds README's tolerances, and bitwise where PyTorch's float32
 * arithmetic fixes the bits. Subclasses name the backend under test.
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

    // ---- the other tutorials' networks (golden/seeds), op by op on their shapes

    /** golden/seeds README tolerances: act.*, grad.act.*, grad.* (plus rel 1e-5 of the golden value). */
    private static final double SEED_ACT = 1e-5;
    private static final double SEED_GRAD_ACT = 1e-7;
    private static final double SEED_GRAD = 1e-6;
    private static final double SEED_REL = 1e-5;

    @Test
    void cnn3ConvolutionsReluPoolAndLinearForwardAndBackward() {
        SeedGolden g = SeedGolden.load("cnn3_step");
        Tensor x = upload(g.full("input"), 8, 1, 28, 28);
        Tensor a0 = seedConv(g, x, "0", "act.0");
        Tensor a1 = seedRelu(g, a0, "act.1");
        Tensor a2 = seedConv(g, a1, "2", "act.2");
        Tensor a3 = seedRelu(g, a2, "act.3");
        Tensor a4 = seedConv(g, a3, "4", "act.4");
        Tensor a5 = seedRelu(g, a4, "act.5");
        Tensor a6 = backend.allocate(DType.F32, 8, 8, 11, 11);
        Tensor argmax = seedPool(g, a5, a6, "act.6");
        Tensor a7 = backend.view(a6, 0, 8, 968);
        Tensor a8 = seedLinear(g, a7, "8", false, "act.8");
        Tensor a9 = seedLinear(g, a8, "9", false, "act.9");
        seedLinear(g, a9, "10", false, "act.10");

        Tensor d9 = seedLinearBackward(g, a9, "10", upload(g.full("grad.act.10"), 8, 10), false, "grad.act.9");
        Tensor d8 = seedLinearBackward(g, a8, "9", d9, false, "grad.act.8");
        Tensor d7 = seedLinearBackward(g, a7, "8", d8, false, "grad.act.7");
        Tensor d6 = backend.view(d7, 0, 8, 8, 11, 11);
        seedPoolBackward(g, d6, a6, argmax, false, "grad.act.5");
        Tensor d4 = seedPoolBackward(g, d6, a6, argmax, true, "grad.act.4");
        Tensor d3 = seedConvBackward(g, a3, "4", d4, "grad.act.3");
        Tensor d2 = seedReluBackward(g, d3, a3, "grad.act.2");
        Tensor d1 = seedConvBackward(g, a1, "2", d2, "grad.act.1");
        Tensor d0 = seedReluBackward(g, d1, a1, "grad.act.0");
        seedConvBackward(g, x, "0", d0, null);
    }

    @Test
    void cnnDropoutForwardAndBackwardWithPyTorchsMask() {
        SeedGolden g = SeedGolden.load("cnn-dropout_step");
        Tensor x = upload(g.full("input"), 8, 1, 28, 28);
        Tensor c1 = seedConv(g, x, "conv1.0", "act.conv1.0");
        Tensor r1 = seedRelu(g, c1, "act.conv1.1");
        Tensor c2 = seedConv(g, r1, "conv2.0", "act.conv2.0");
        Tensor r2 = seedRelu(g, c2, "act.conv2.1");
        Tensor pooled = backend.allocate(DType.F32, 8, 20, 10, 10);
        Tensor argmax = seedPool(g, r2, pooled, "act.maxpool");
        Tensor mask = pyTorchDropoutMask(g);
        Tensor dropped = backend.allocate(DType.F32, 8, 20, 10, 10);
        backend.dropout2dForward(pooled, mask, dropped);
        g.assertMatches("act.drop", download(dropped), SEED_ACT, SEED_REL);
        Tensor view = backend.view(dropped, 0, 8, 2000);
        Tensor f3 = seedLinear(g, view, "fc3.0", false, "act.fc3.0");
        Tensor f31 = seedRelu(g, f3, "act.fc3.1");
        Tensor f4 = seedLinear(g, f31, "fc4.0", false, "act.fc4.0");
        Tensor f41 = seedRelu(g, f4, "act.fc4.1");

        Tensor dlogits = backend.allocate(DType.F32, 8, 10);
        Tensor stats = backend.allocate(DType.F32, 2);
        backend.softmaxCrossEntropy(f41, seedLabels(g), dlogits, stats);
        assertEquals(g.full("loss")[0], download(stats)[0] / 8, SEED_ACT, "loss of the ReLU'd logits");
        g.assertMatches("grad.act.fc4.1", download(dlogits), SEED_GRAD_ACT, SEED_REL);
        Tensor d4 = seedReluBackward(g, dlogits, f41, "grad.act.fc4.0");
        Tensor d3 = seedLinearBackward(g, f31, "fc4.0", d4, true, "grad.act.fc3.0");
        Tensor dView = seedLinearBackward(g, view, "fc3.0", d3, false, "grad.act.view");
        Tensor dPooled = backend.allocate(DType.F32, 8, 20, 10, 10);
        backend.dropout2dBackward(backend.view(dView, 0, 8, 20, 10, 10), mask, dPooled);
        g.assertMatches("grad.act.maxpool", download(dPooled), SEED_GRAD_ACT, SEED_REL);
        Tensor dr2 = seedPoolBackward(g, dPooled, pooled, argmax, false, "grad.act.conv2.1");
        Tensor dc2 = seedReluBackward(g, dr2, r2, "grad.act.conv2.0");
        Tensor dr1 = seedConvBackward(g, r1, "conv2.0", dc2, "grad.act.conv1.1");
        Tensor dc1 = seedReluBackward(g, dr1, r1, "grad.act.conv1.0");
        seedConvBackward(g, x, "conv1.0", dc1, null);
    }

    /**
     * Dropout2d with PyTorch's mask is PyTorch's product bitwise, forward and backward. The golden
     * activations are samples, so each sampled element is placed where it belongs in a full tensor
     * (zeros elsewhere; the product is per element) and the result compared at those elements.
     */
    @Test
    void dropoutWithPyTorchsMaskIsBitwisePyTorch() {
        SeedGolden g = SeedGolden.load("cnn-dropout_step");
        Tensor mask = pyTorchDropoutMask(g);
        String[][] pairs = {{"act.maxpool", "act.drop"}, {"grad.act.drop", "grad.act.maxpool"}};
        for (String[] pair : pairs) {
            float[] in = new float[8 * 20 * 10 * 10];
            float[] stored = g.stored(pair[0]);
            for (int i = 0; i < stored.length; i++) {
                in[i * SeedGolden.STRIDE] = stored[i];
            }
            Tensor x = upload(in, 8, 20, 10, 10);
            Tensor y = backend.allocate(DType.F32, 8, 20, 10, 10);
            if (pair[0].startsWith("act")) {
                backend.dropout2dForward(x, mask, y);
            } else {
                backend.dropout2dBackward(x, mask, y);
            }
            g.assertBitwise(pair[1], download(y));
        }
    }

    /** ReLU forward and backward are exact: on the stored elements (samples or complete) they are PyTorch's bits. */
    @Test
    void reluForwardAndBackwardAreBitwisePyTorch() {
        String[][] cases = {{"cnn-dropout_step", "conv1.0", "conv1.1"}, {"cnn-dropout_step", "conv2.0", "conv2.1"},
                {"cnn-dropout_step", "fc3.0", "fc3.1"}, {"cnn-dropout_step", "fc4.0", "fc4.1"},
                {"cnn3_step", "0", "1"}, {"cnn3_step", "4", "5"}, {"lenet5-adam_step", "fc1", "relu3"}};
        for (String[] c : cases) {
            SeedGolden g = SeedGolden.load(c[0]);
            float[] pre = g.stored("act." + c[1]);
            Tensor x = upload(pre, pre.length);
            Tensor y = backend.allocate(DType.F32, pre.length);
            backend.reluForward(x, y);
            assertArrayEquals(g.stored("act." + c[2]), download(y), c[0] + " act." + c[2]);
            Tensor dy = upload(g.stored("grad.act." + c[2]), pre.length);
            Tensor dx = backend.allocate(DType.F32, pre.length);
            backend.reluBackward(dy, y, dx);
            assertArrayEquals(g.stored("grad.act." + c[1]), download(dx), c[0] + " grad.act." + c[1]);
            backend.reluForward(x, x);
            assertArrayEquals(download(y), download(x), c[0] + " act." + c[2] + " in place");
            backend.reluBackward(dy, y, dy);
            assertArrayEquals(download(dx), download(dy), c[0] + " grad.act." + c[1] + " in place");
        }
    }

    /**
     * Adam's first step from PyTorch's gradients gives PyTorch's parameters and moments bitwise, at the
     * stored elements (where a gradient is sampled, the parameter is sampled alike: the step is per element).
     */
    @Test
    void adamFirstStepIsBitwisePyTorch() {
        for (String file : new String[]{"lenet5-adam_step", "cnn3_step"}) {
            SeedGolden g = SeedGolden.load(file);
            float[][] flat = flatOptimizerBuffers(g, "updated.", "exp_avg.", "exp_avg_sq.");
            int n = flat[0].length;
            Tensor p = upload(flat[0], n);
            Tensor m = backend.allocate(DType.F32, n);
            Tensor v = backend.allocate(DType.F32, n);
            double lr = g.hyper("lr");
            backend.adamUpdate(p, upload(flat[1], n), m, v, (float) lr, (float) g.hyper("beta1"),
                    (float) g.hyper("beta2"), (float) g.hyper("eps"), 0f, 1);
            Tolerance.assertClose(flat[2], download(p), 0.2 * lr, 0, file + " updated (README tolerance)");
            Tolerance.assertClose(flat[3], download(m), 1e-7, 0, file + " exp_avg (README tolerance)");
            Tolerance.assertClose(flat[4], download(v), 1e-9, 0, file + " exp_avg_sq (README tolerance)");
            assertArrayEquals(flat[2], download(p), file + " updated bitwise");
            assertArrayEquals(flat[3], download(m), file + " exp_avg bitwise");
            assertArrayEquals(flat[4], download(v), file + " exp_avg_sq bitwise");
        }
    }

    /**
     * SGD's first step from PyTorch's gradients, with momentum (lenet5-32) and without (cnn-dropout), gives
     * PyTorch's parameters bitwise: the step is one fused multiply-add, as in PyTorch.
     */
    @Test
    void sgdFirstStepIsBitwisePyTorch() {
        for (String file : new String[]{"lenet5-32_step", "cnn-dropout_step"}) {
            SeedGolden g = SeedGolden.load(file);
            float[][] flat = flatOptimizerBuffers(g, "updated.");
            int n = flat[0].length;
            Tensor p = upload(flat[0], n);
            Tensor buf = backend.allocate(DType.F32, n);
            float momentum = file.startsWith("lenet5") ? (float) g.hyper("momentum") : 0f;
            backend.sgdUpdate(p, upload(flat[1], n), buf, (float) g.hyper("lr"), momentum, 0f, true);
            Tolerance.assertClose(flat[2], download(p), 2e-7, 0, file + " updated (README tolerance)");
            assertArrayEquals(flat[2], download(p), file + " updated bitwise");
        }
    }

    /**
     * Flat buffers over all parameters: param.*, grad.*, then each of {@code results}, taken at the stored
     * elements of grad.* (the parameter is sampled where its gradient is).
     */
    private static float[][] flatOptimizerBuffers(SeedGolden g, String... results) {
        List<float[]> parts = new ArrayList<>();
        float[][] out = new float[2 + results.length][];
        for (int k = 0; k < out.length; k++) {
            parts.clear();
            for (String name : g.parameters()) {
                float[] param = g.stored("param." + name);
                parts.add(switch (k) {
                    case 0 -> g.isSampled("grad." + name) ? SeedGolden.sample(param) : param;
                    case 1 -> g.stored("grad." + name);
                    default -> g.stored(results[k - 2] + name);
                });
            }
            out[k] = concat(parts);
        }
        return out;
    }

    private static float[] concat(List<float[]> parts) {
        float[] out = new float[parts.stream().mapToInt(a -> a.length).sum()];
        int at = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, at, a.length);
            at += a.length;
        }
        return out;
    }

    /** PyTorch's Dropout2d mask of the step, [8,20]: drop_mask (1 = kept) times float32(1/(1-p)). */
    private Tensor pyTorchDropoutMask(SeedGolden g) {
        byte[] kept = g.bytes("drop_mask");
        float[] mask = new float[kept.length];
        for (int i = 0; i < kept.length; i++) {
            mask[i] = kept[i] * HostScalars.dropoutScale(0.25f);
        }
        return upload(mask, 8, 20);
    }

    private Tensor seedLabels(SeedGolden g) {
        long[] l = g.longs("labels");
        int[] ints = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            ints[i] = (int) l[i];
        }
        Tensor t = backend.allocate(DType.I32, ints.length);
        backend.upload(t, ints);
        return t;
    }

    /** conv (no padding, no ReLU) with the golden parameters of {@code layer}, checked against {@code act}. */
    private Tensor seedConv(SeedGolden g, Tensor x, String layer, String act) {
        Tensor y = backend.allocate(DType.F32, g.shape(act));
        backend.conv2dForward(x, seedParam(g, layer + ".weight"), seedParam(g, layer + ".bias"), 0, false, y);
        g.assertMatches(act, download(y), SEED_ACT, SEED_REL);
        return y;
    }

    private Tensor seedRelu(SeedGolden g, Tensor x, String act) {
        Tensor y = backend.allocate(DType.F32, x.shape());
        backend.reluForward(x, y);
        g.assertMatches(act, download(y), SEED_ACT, SEED_REL);
        return y;
    }

    /** Max-pools x into y, checked against {@code act}; returns the argmax. */
    private Tensor seedPool(SeedGolden g, Tensor x, Tensor y, String act) {
        Tensor argmax = backend.allocate(DType.I32, y.shape());
        backend.maxPool2x2Forward(x, y, argmax);
        g.assertMatches(act, download(y), SEED_ACT, SEED_REL);
        return argmax;
    }

    private Tensor seedPoolBackward(SeedGolden g, Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, String dxName) {
        Tensor dx = backend.allocate(DType.F32, g.shape(dxName));
        backend.maxPool2x2Backward(dy, y, argmax, reluBefore, dx);
        g.assertMatches(dxName, download(dx), SEED_GRAD_ACT, SEED_REL);
        return dx;
    }

    private Tensor seedLinear(SeedGolden g, Tensor x, String layer, boolean relu, String act) {
        Tensor y = backend.allocate(DType.F32, g.shape(act));
        backend.linearForward(x, seedParam(g, layer + ".weight"), seedParam(g, layer + ".bias"), relu, y);
        g.assertMatches(act, download(y), SEED_ACT, SEED_REL);
        return y;
    }

    /** Linear backward from dy, checking dx against {@code dxName} and the parameter gradients; returns dx. */
    private Tensor seedLinearBackward(SeedGolden g, Tensor x, String layer, Tensor dy, boolean reluOnInput, String dxName) {
        Tensor w = seedParam(g, layer + ".weight");
        Tensor dx = backend.allocate(DType.F32, x.shape());
        Tensor dw = backend.allocate(DType.F32, w.shape());
        Tensor db = backend.allocate(DType.F32, w.dim(0));
        backend.linearBackward(x, w, dy, reluOnInput, dx, dw, db);
        g.assertMatches(dxName, download(dx), SEED_GRAD_ACT, SEED_REL);
        g.assertMatches("grad." + layer + ".weight", download(dw), SEED_GRAD, SEED_REL);
        g.assertMatches("grad." + layer + ".bias", download(db), SEED_GRAD, SEED_REL);
        return dx;
    }

    /** Conv backward (no padding) from dy, checking the parameter gradients and, unless dxName is null, dx. */
    private Tensor seedConvBackward(SeedGolden g, Tensor x, String layer, Tensor dy, String dxName) {
        Tensor w = seedParam(g, layer + ".weight");
        Tensor dx = dxName == null ? null : backend.allocate(DType.F32, x.shape());
        Tensor dw = backend.allocate(DType.F32, w.shape());
        Tensor db = backend.allocate(DType.F32, w.dim(0));
        backend.conv2dBackward(x, w, dy, 0, dx, dw, db);
        if (dx != null) {
            g.assertMatches(dxName, download(dx), SEED_GRAD_ACT, SEED_REL);
        }
        g.assertMatches("grad." + layer + ".weight", download(dw), SEED_GRAD, SEED_REL);
        g.assertMatches("grad." + layer + ".bias", download(db), SEED_GRAD, SEED_REL);
        return dx;
    }

    private Tensor seedReluBackward(SeedGolden g, Tensor dy, Tensor y, String dxName) {
        Tensor dx = backend.allocate(DType.F32, dy.shape());
        backend.reluBackward(dy, y, dx);
        g.assertMatches(dxName, download(dx), SEED_GRAD_ACT, SEED_REL);
        return dx;
    }

    private Tensor seedParam(SeedGolden g, String name) {
        return upload(g.full("param." + name), g.shape("param." + name));
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
