package gpulenet.backend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each op on odd shapes (batch 1 and 3, and 5 and 17 for convolution, 7x7 and 7x5 images, padding 0/1/2,
 * several channels; convolution also on the tutorial networks' shapes, pooling on odd sizes):
 * forward against a plain double-precision reference, backward against central differences taken
 * in double on the op's own float outputs of the scalar L = sum(G * y) for a fixed random G.
 * Every tensor is a view at an odd offset into a larger buffer, so offsets must be honoured.
 */
public abstract class BackendGradientContract {
    /** Conv and linear layers are linear in each argument, so a large step has no truncation error. */
    private static final double LINEAR_EPS = 0.5;
    /** Pooled inputs are spaced 0.01 apart and 0.005 from 0; this step crosses no kink. */
    private static final double KINK_EPS = 1e-3;
    /** Masked linear inputs are at least 0.1 from 0; this step crosses no kink. */
    private static final double MASK_EPS = 0.05;

    private Backend backend;
    private final Random random = new Random(7);

    protected abstract Backend createBackend();

    @BeforeEach
    void open() {
        backend = createBackend();
    }

    @AfterEach
    void close() {
        backend.close();
    }

    @Test
    void convolutionOnOddShapes() {
        int[][] cases = {
                // B, C, H, W, K, R, pad
                {1, 1, 7, 7, 1, 3, 0},
                {3, 2, 7, 7, 3, 3, 1},
                {3, 3, 7, 7, 2, 5, 2},
                {1, 2, 7, 5, 4, 5, 0},
                {3, 2, 7, 5, 3, 3, 2},
                {1, 1, 7, 7, 2, 5, 1},
                {1, 2, 5, 5, 2, 3, 3},
                // batches larger than a backend may reduce in one piece
                {5, 3, 7, 7, 2, 5, 2},
                {17, 1, 7, 7, 2, 3, 1},
        };
        for (int[] c : cases) {
            checkConvolution(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true);
        }
    }

    @Test
    void convolutionOnTheTutorialNetworksShapes() {
        int[][] cases = {
                // B, C, H, W, K, R, pad: cnn3's three 3x3 convolutions, cnn-dropout's two 5x5 ones
                {5, 1, 28, 28, 32, 3, 0},
                {2, 32, 26, 26, 16, 3, 0},
                {3, 16, 24, 24, 8, 3, 0},
                {17, 1, 28, 28, 10, 5, 0},
                {2, 10, 24, 24, 20, 5, 0},
        };
        for (int[] c : cases) {
            checkConvolution(c[0], c[1], c[2], c[3], c[4], c[5], c[6], false);
        }
    }

    /**
     * Forward and every gradient element against plain double-precision sums, then the gradients against
     * central differences: at every element, or (on large shapes, where each element takes a forward
     * pass) at a sample of them.
     */
    private void checkConvolution(int batch, int channels, int h, int w, int k, int r, int pad, boolean everyElement) {
        String what = "conv B" + batch + " C" + channels + " " + h + "x" + w + " K" + k + " R" + r + " pad" + pad;
        int oh = h + 2 * pad - r + 1;
        int ow = w + 2 * pad - r + 1;
        float[] x = uniform(batch * channels * h * w);
        float[] wt = uniform(k * channels * r * r);
        float[] b = uniform(k);
        float[] g = uniform(batch * k * oh * ow);
        double[] y = new double[g.length];
        double[] dx = new double[x.length];
        double[] dw = new double[wt.length];
        double[] db = new double[k];
        for (int n = 0; n < batch; n++) {
            for (int kk = 0; kk < k; kk++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        int out = ((n * k + kk) * oh + i) * ow + j;
                        double s = b[kk];
                        db[kk] += g[out];
                        for (int cc = 0; cc < channels; cc++) {
                            for (int dr = 0; dr < r; dr++) {
                                for (int ds = 0; ds < r; ds++) {
                                    int ih = i + dr - pad;
                                    int iw = j + ds - pad;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                                        int in = ((n * channels + cc) * h + ih) * w + iw;
                                        int tap = ((kk * channels + cc) * r + dr) * r + ds;
                                        s += (double) x[in] * wt[tap];
                                        dx[in] += (double) g[out] * wt[tap];
                                        dw[tap] += (double) g[out] * x[in];
                                    }
                                }
                            }
                        }
                        y[out] = s;
                    }
                }
            }
        }
        Tensor xT = tensor(x, batch, channels, h, w);
        Tensor wT = tensor(wt, k, channels, r, r);
        Tensor bT = tensor(b, k);
        Tensor yT = tensor(nan(g.length), batch, k, oh, ow);
        backend.conv2dForward(xT, wT, bT, pad, false, yT);
        Tolerance.assertClose(y, download(yT), 1e-5, 1e-5, what + " forward");
        backend.conv2dForward(xT, wT, bT, pad, true, yT);
        Tolerance.assertClose(relu(y), download(yT), 1e-5, 1e-5, what + " forward with ReLU");

        Tensor dxT = tensor(nan(x.length), batch, channels, h, w);
        Tensor dwT = tensor(nan(wt.length), k, channels, r, r);
        Tensor dbT = tensor(nan(k), k);
        backend.conv2dBackward(xT, wT, tensor(g, batch, k, oh, ow), pad, dxT, dwT, dbT);
        float[] dxGot = download(dxT), dwGot = download(dwT), dbGot = download(dbT);
        Tolerance.assertClose(dx, dxGot, 1e-4, 1e-4, what + " dx");
        Tolerance.assertClose(dw, dwGot, 1e-4, 1e-4, what + " dw");
        Tolerance.assertClose(db, dbGot, 1e-4, 1e-4, what + " db");

        DoubleSupplier loss = () -> {
            backend.upload(xT, x);
            backend.upload(wT, wt);
            backend.upload(bT, b);
            backend.conv2dForward(xT, wT, bT, pad, false, yT);
            return dot(g, download(yT));
        };
        if (everyElement) {
            Tolerance.assertClose(centralDifferences(x, LINEAR_EPS, loss), dxGot, 1e-4, 1e-4, what + " dx vs differences");
            Tolerance.assertClose(centralDifferences(wt, LINEAR_EPS, loss), dwGot, 1e-4, 1e-4, what + " dw vs differences");
            Tolerance.assertClose(centralDifferences(b, LINEAR_EPS, loss), dbGot, 1e-4, 1e-4, what + " db vs differences");
        } else {
            assertSampledDifferences(x, dxGot, loss, what + " dx");
            assertSampledDifferences(wt, dwGot, loss, what + " dw");
            assertSampledDifferences(b, dbGot, loss, what + " db");
        }

        Tensor dw2 = tensor(nan(wt.length), k, channels, r, r);
        Tensor db2 = tensor(nan(k), k);
        backend.conv2dBackward(xT, wT, tensor(g, batch, k, oh, ow), pad, null, dw2, db2);
        assertArrayEquals(dwGot, download(dw2), what + " dw without dx");
        assertArrayEquals(dbGot, download(db2), what + " db without dx");
    }

    @Test
    void maxPoolOnOddShapes() {
        // odd H or W: PyTorch's floor, the last row or column is in no window and gets no gradient
        int[][] cases = {{1, 1, 2, 2}, {3, 2, 6, 8}, {1, 3, 8, 4}, {1, 2, 5, 7}, {3, 1, 7, 6}, {2, 3, 6, 9}, {1, 1, 3, 3}};
        for (int[] c : cases) {
            int batch = c[0], channels = c[1], h = c[2], w = c[3];
            String what = "pool B" + batch + " C" + channels + " " + h + "x" + w;
            int outSize = batch * channels * (h / 2) * (w / 2);
            float[] u = spaced(batch * channels * h * w);
            float[] g = uniform(outSize);
            Tensor uT = tensor(u, batch, channels, h, w);
            Tensor y = tensor(nan(outSize), batch, channels, h / 2, w / 2);
            Tensor argmax = intTensor(new int[outSize], batch, channels, h / 2, w / 2);

            double[] expected = new double[outSize];
            for (int o = 0; o < outSize; o++) {
                int plane = o / ((h / 2) * (w / 2));
                int i = o / (w / 2) % (h / 2);
                int j = o % (w / 2);
                int top = plane * h * w + 2 * i * w + 2 * j;
                expected[o] = Math.max(Math.max(u[top], u[top + 1]), Math.max(u[top + w], u[top + w + 1]));
            }
            backend.maxPool2x2Forward(uT, y, argmax);
            Tolerance.assertClose(expected, download(y), 0, 0, what + " forward");

            for (boolean reluBefore : new boolean[]{false, true}) {
                float[] input = reluBefore ? relu(u) : u;
                Tensor xT = tensor(input, batch, channels, h, w);
                backend.maxPool2x2Forward(xT, y, argmax);
                Tensor dx = tensor(nan(u.length), batch, channels, h, w);
                backend.maxPool2x2Backward(tensor(g, batch, channels, h / 2, w / 2), y, argmax, reluBefore, dx);
                float[] varied = u.clone();
                double[] num = centralDifferences(varied, KINK_EPS, () -> {
                    backend.upload(xT, reluBefore ? relu(varied) : varied);
                    backend.maxPool2x2Forward(xT, y, argmax);
                    return dot(g, download(y));
                });
                Tolerance.assertClose(num, download(dx), 1e-4, 1e-3, what + (reluBefore ? " backward through ReLU" : " backward"));
            }
        }
    }

    /**
     * Central differences at the first and last element and 2 random ones against the op's gradient (the
     * double-precision sums have checked every element; this ties them to the forward pass).
     */
    private void assertSampledDifferences(float[] values, float[] gradient, DoubleSupplier loss, String what) {
        int[] at = new int[4];
        at[1] = values.length - 1;
        for (int i = 2; i < at.length; i++) {
            at[i] = random.nextInt(values.length);
        }
        double[] expected = new double[at.length];
        float[] actual = new float[at.length];
        for (int i = 0; i < at.length; i++) {
            expected[i] = centralDifference(values, at[i], LINEAR_EPS, loss);
            actual[i] = gradient[at[i]];
        }
        loss.getAsDouble();
        Tolerance.assertClose(expected, actual, 1e-4, 1e-4, what + " at elements " + Arrays.toString(at));
    }

    @Test
    void reluOnOddShapes() {
        for (int[] shape : new int[][]{{1, 7}, {3, 5, 7}, {2, 3, 5, 5}}) {
            String what = "relu " + Arrays.toString(shape);
            int n = Arrays.stream(shape).reduce(1, (a, c) -> a * c);
            float[] x = awayFromZero(n);
            x[n / 2] = 0f;  // the boundary: output 0, no gradient
            float[] g = uniform(n);
            Tensor xT = tensor(x, shape);
            Tensor yT = tensor(nan(n), shape);
            backend.reluForward(xT, yT);
            assertArrayEquals(relu(x), download(yT), what + " forward");
            Tensor dx = tensor(nan(n), shape);
            Tensor gT = tensor(g, shape);
            backend.reluBackward(gT, yT, dx);
            double[] num = centralDifferences(x, MASK_EPS, () -> {
                backend.upload(xT, x);
                backend.reluForward(xT, yT);
                return dot(g, download(yT));
            });
            // at exactly 0 the differences see half a slope; PyTorch's rule gives 0 there
            num[n / 2] = 0;
            Tolerance.assertClose(num, download(dx), 1e-4, 1e-4, what + " backward");

            backend.reluForward(xT, xT);
            assertArrayEquals(relu(x), download(xT), what + " forward in place");
            backend.reluBackward(gT, yT, gT);
            assertArrayEquals(download(dx), download(gT), what + " backward in place");
        }
    }

    @Test
    void dropout2dOnOddShapes() {
        for (int[] shape : new int[][]{{1, 1, 1, 1}, {3, 5, 7, 5}, {7, 20, 3, 3}}) {
            String what = "dropout2d " + Arrays.toString(shape);
            int batch = shape[0], channels = shape[1], plane = shape[2] * shape[3];
            int n = batch * channels * plane;
            Tensor mask = tensor(nan(batch * channels), batch, channels);
            backend.dropout2dMask(mask, 42, 7, 0.25f);
            float[] m = download(mask);
            for (float v : m) {
                assertEquals(true, v == 0f || v == 4f / 3, what + ": mask values are 0 or float32(1/(1-p)), got " + v);
            }
            float[] x = uniform(n);
            float[] g = uniform(n);
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                expected[i] = x[i] * m[i / plane];
            }
            Tensor xT = tensor(x, shape);
            Tensor yT = tensor(nan(n), shape);
            backend.dropout2dForward(xT, mask, yT);
            Tolerance.assertClose(expected, download(yT), 0, 0, what + " forward");
            Tensor gT = tensor(g, shape);
            Tensor dx = tensor(nan(n), shape);
            backend.dropout2dBackward(gT, mask, dx);
            double[] num = centralDifferences(x, LINEAR_EPS, () -> {
                backend.upload(xT, x);
                backend.dropout2dForward(xT, mask, yT);
                return dot(g, download(yT));
            });
            Tolerance.assertClose(num, download(dx), 1e-4, 1e-4, what + " backward");

            backend.dropout2dForward(xT, mask, xT);
            Tolerance.assertClose(expected, download(xT), 0, 0, what + " forward in place");
            backend.dropout2dBackward(gT, mask, gT);
            assertArrayEquals(download(dx), download(gT), what + " backward in place");
        }
    }

    @Test
    void dropout2dMasksKeepOneMinusPOfTheChannelsAndChangeWithTheStep() {
        int batch = 64, channels = 20, steps = 50;
        Tensor mask = tensor(nan(batch * channels), batch, channels);
        for (float p : new float[]{0.25f, 0.5f, 0.1f}) {
            long kept = 0;
            float[] previous = null;
            for (int step = 1; step <= steps; step++) {
                backend.dropout2dMask(mask, 2026, step, p);
                float[] m = download(mask);
                for (float v : m) {
                    kept += v != 0f ? 1 : 0;
                }
                if (previous != null) {
                    assertEquals(false, Arrays.equals(previous, m), "p " + p + ": step " + step + " draws the mask of step " + (step - 1));
                }
                previous = m;
            }
            double draws = (double) batch * channels * steps;
            double sigma = Math.sqrt(draws * p * (1 - p));
            assertEquals((1 - p) * draws, kept, 4 * sigma, "p " + p + ": kept channels of " + draws);
        }
        backend.dropout2dMask(mask, 2026, 3, 0.25f);
        float[] first = download(mask);
        backend.dropout2dMask(mask, 2026, 3, 0.25f);
        assertArrayEquals(first, download(mask), "the same seed and step draw the same mask");
        backend.dropout2dMask(mask, 2027, 3, 0.25f);
        assertEquals(false, Arrays.equals(first, download(mask)), "another seed draws another mask");
        backend.dropout2dMask(mask, 2026, 3, 0f);
        float[] all = new float[batch * channels];
        Arrays.fill(all, 1f);
        assertArrayEquals(all, download(mask), "p = 0 keeps every channel, unscaled");
    }

    @Test
    void adamMatchesPyTorchsFormulaOverSeveralSteps() {
        int n = 10_001;
        double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, decay = 0.01;
        float[] p = uniform(n);
        double[] pRef = new double[n], m = new double[n], v = new double[n];
        for (int i = 0; i < n; i++) {
            pRef[i] = p[i];
        }
        Tensor pT = tensor(p, n);
        Tensor mT = tensor(new float[n], n);
        Tensor vT = tensor(new float[n], n);
        for (int step = 1; step <= 3; step++) {
            float[] g = uniform(n);
            for (int i = 0; i < n; i += 7) {
                g[i] *= 1e-8f;  // where eps matters
            }
            double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
            for (int i = 0; i < n; i++) {
                double grad = g[i] + decay * pRef[i];
                m[i] = beta1 * m[i] + (1 - beta1) * grad;
                v[i] = beta2 * v[i] + (1 - beta2) * grad * grad;
                pRef[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
            }
            backend.adamUpdate(pT, tensor(g, n), mT, vT, (float) lr, (float) beta1, (float) beta2, (float) eps,
                    (float) decay, step);
            Tolerance.assertClose(pRef, download(pT), 1e-6, 1e-6, "parameters after step " + step);
            // m's terms (about 0.9 m and 0.1 g, g up to 1) can cancel: a few float32 ulp of 0.1 each step
            Tolerance.assertClose(m, download(mT), 5e-8, 1e-5, "exp_avg after step " + step);
            Tolerance.assertClose(v, download(vT), 1e-10, 1e-5, "exp_avg_sq after step " + step);
        }
    }

    @Test
    void maxPoolTiesPickTheFirstInWindowOrder() {
        float[] x = {
                1, 1, 0, 2, 0, 1, -1, -2,
                1, 1, 1, 2, 3, 3, -3, -0.5f,
        };
        Tensor y = tensor(nan(4), 1, 1, 1, 4);
        Tensor argmax = intTensor(new int[4], 1, 1, 1, 4);
        backend.maxPool2x2Forward(tensor(x, 1, 1, 2, 8), y, argmax);
        int[] idx = new int[4];
        backend.download(argmax, idx);
        assertArrayEquals(new int[]{0, 3, 12, 15}, idx, "first maximum in order (0,0),(0,1),(1,0),(1,1)");
        assertArrayEquals(new float[]{1, 2, 3, -0.5f}, download(y));
    }

    @Test
    void linearOnOddShapes() {
        int[][] cases = {{1, 13, 3}, {3, 7, 5}, {3, 400, 11}};
        for (int[] c : cases) {
            int batch = c[0], in = c[1], out = c[2];
            String what = "linear B" + batch + " " + in + "->" + out;
            float[] x = uniform(batch * in);
            float[] w = uniform(out * in);
            float[] b = uniform(out);
            float[] g = uniform(batch * out);
            Tensor xT = tensor(x, batch, in);
            Tensor wT = tensor(w, out, in);
            Tensor bT = tensor(b, out);
            Tensor yT = tensor(nan(batch * out), batch, out);

            double[] expected = new double[batch * out];
            for (int n = 0; n < batch; n++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int i = 0; i < in; i++) {
                        s += (double) x[n * in + i] * w[o * in + i];
                    }
                    expected[n * out + o] = s;
                }
            }
            backend.linearForward(xT, wT, bT, false, yT);
            Tolerance.assertClose(expected, download(yT), 1e-5, 1e-5, what + " forward");
            backend.linearForward(xT, wT, bT, true, yT);
            Tolerance.assertClose(relu(expected), download(yT), 1e-5, 1e-5, what + " forward with ReLU");

            DoubleSupplier loss = () -> {
                backend.upload(xT, x);
                backend.upload(wT, w);
                backend.upload(bT, b);
                backend.linearForward(xT, wT, bT, false, yT);
                return dot(g, download(yT));
            };
            Tensor gT = tensor(g, batch, out);
            Tensor dx = tensor(nan(x.length), batch, in);
            Tensor dw = tensor(nan(w.length), out, in);
            Tensor db = tensor(nan(out), out);
            backend.linearBackward(xT, wT, gT, false, dx, dw, db);
            Tolerance.assertClose(centralDifferences(x, LINEAR_EPS, loss), download(dx), 1e-4, 1e-4, what + " dx");
            Tolerance.assertClose(centralDifferences(w, LINEAR_EPS, loss), download(dw), 1e-4, 1e-4, what + " dw");
            Tolerance.assertClose(centralDifferences(b, LINEAR_EPS, loss), download(db), 1e-4, 1e-4, what + " db");

            // x = relu(u): with the mask, dx is the gradient with respect to u.
            float[] u = awayFromZero(batch * in);
            Tensor reluU = tensor(relu(u), batch, in);
            backend.linearBackward(reluU, wT, gT, true, dx, dw, db);
            float[] varied = u.clone();
            double[] num = centralDifferences(varied, MASK_EPS, () -> {
                backend.upload(xT, relu(varied));
                backend.linearForward(xT, wT, bT, false, yT);
                return dot(g, download(yT));
            });
            Tolerance.assertClose(num, download(dx), 1e-4, 1e-4, what + " dx through ReLU mask");
        }
    }

    @Test
    void softmaxCrossEntropyOnOddShapes() {
        for (int[] c : new int[][]{{1, 10}, {3, 7}}) {
            int batch = c[0], classes = c[1];
            String what = "softmax xent B" + batch + " K" + classes;
            float[] z = uniform(batch * classes);
            for (int i = 0; i < z.length; i++) {
                z[i] *= 3;
            }
            int[] labels = new int[batch];
            for (int n = 0; n < batch; n++) {
                labels[n] = (n * 5 + 2) % classes;
            }
            Tensor zT = tensor(z, batch, classes);
            Tensor lT = intTensor(labels, batch);
            Tensor stats = tensor(new float[]{0.25f, 1f}, 2);
            Tensor dz = tensor(nan(z.length), batch, classes);
            backend.softmaxCrossEntropy(zT, lT, dz, stats);

            double lossSum = 0;
            int correct = 0;
            double[] grad = new double[z.length];
            for (int n = 0; n < batch; n++) {
                double max = Double.NEGATIVE_INFINITY;
                int best = 0;
                for (int j = 0; j < classes; j++) {
                    if (z[n * classes + j] > max) {
                        max = z[n * classes + j];
                        best = j;
                    }
                }
                double sum = 0;
                for (int j = 0; j < classes; j++) {
                    sum += Math.exp(z[n * classes + j] - max);
                }
                lossSum += Math.log(sum) + max - z[n * classes + labels[n]];
                correct += best == labels[n] ? 1 : 0;
                for (int j = 0; j < classes; j++) {
                    grad[n * classes + j] = (Math.exp(z[n * classes + j] - max) / sum - (j == labels[n] ? 1 : 0)) / batch;
                }
            }
            float[] s = download(stats);
            Tolerance.assertClose(new double[]{0.25 + lossSum, 1 + correct}, s, 1e-5, 1e-5, what + " stats");
            Tolerance.assertClose(grad, download(dz), 1e-6, 1e-5, what + " dlogits");

            Tensor scratch = tensor(new float[2], 2);
            double[] num = centralDifferences(z, 1e-2, () -> {
                backend.upload(zT, z);
                backend.zero(scratch);
                backend.softmaxCrossEntropy(zT, lT, null, scratch);
                return download(scratch)[0] / (double) batch;
            });
            Tolerance.assertClose(num, download(dz), 2e-4, 1e-3, what + " dlogits vs central differences");
        }
    }

    @Test
    void softmaxCorrectCountTakesFirstOfEqualLogits() {
        float[] z = {1, 1, 0, 0, 2, 2, 5, 5, 5};
        Tensor stats = tensor(new float[2], 2);
        backend.softmaxCrossEntropy(tensor(z, 3, 3), intTensor(new int[]{0, 2, 1}, 3), null, stats);
        assertEquals(1f, download(stats)[1], "only sample 0's label is the first maximum");
    }

    @Test
    void momentumSgdMatchesPyTorchOverSeveralSteps() {
        int n = 10_001;
        float lr = 0.1f, momentum = 0.9f, decay = 0.01f;
        float[] p = uniform(n);
        float[] buf = nan(n);
        Tensor pT = tensor(p, n);
        Tensor bufT = tensor(buf, n);
        for (int step = 0; step < 3; step++) {
            float[] g = uniform(n);
            for (int i = 0; i < n; i++) {
                float d = g[i] + decay * p[i];
                buf[i] = step == 0 ? d : momentum * buf[i] + d;
                p[i] = Math.fma(-lr, buf[i], p[i]);
            }
            backend.sgdUpdate(pT, tensor(g, n), bufT, lr, momentum, decay, step == 0);
            assertArrayEquals(p, download(pT), "parameters after step " + step + ", the step rounded once as PyTorch");
            assertArrayEquals(buf, download(bufT), "momentum after step " + step);
        }
    }

    @Test
    void viewsShareStorage() {
        Tensor base = backend.allocate(DType.F32, 10);
        Tensor v = backend.view(base, 3, 2, 2);
        backend.upload(v, new float[]{1, 2, 3, 4});
        assertArrayEquals(new float[]{0, 0, 0, 1, 2, 3, 4, 0, 0, 0}, download(base));
        backend.zero(backend.view(base, 4, 2));
        assertArrayEquals(new float[]{0, 0, 0, 1, 0, 0, 4, 0, 0, 0}, download(base));
    }

    // ---- helpers

    /** d L / d values[i] by central differences in double; the loss reads {@code values} each call. */
    private static double[] centralDifferences(float[] values, double eps, DoubleSupplier loss) {
        double[] grad = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            grad[i] = centralDifference(values, i, eps, loss);
        }
        loss.getAsDouble();
        return grad;
    }

    /** d L / d values[i] alone; leaves values as it was, but the backend's copy at the last evaluation. */
    private static double centralDifference(float[] values, int i, double eps, DoubleSupplier loss) {
        float original = values[i];
        values[i] = (float) (original + eps);
        float up = values[i];
        double plus = loss.getAsDouble();
        values[i] = (float) (original - eps);
        float down = values[i];
        double minus = loss.getAsDouble();
        values[i] = original;
        return (plus - minus) / ((double) up - down);
    }

    /** A tensor holding {@code values}, as a view at an odd offset into a larger buffer. */
    private Tensor tensor(float[] values, int... shape) {
        Tensor base = backend.allocate(DType.F32, values.length + 8);
        Tensor t = backend.view(base, 5, shape);
        backend.upload(t, values);
        return t;
    }

    private Tensor intTensor(int[] values, int... shape) {
        Tensor base = backend.allocate(DType.I32, values.length + 4);
        Tensor t = backend.view(base, 3, shape);
        backend.upload(t, values);
        return t;
    }

    private float[] download(Tensor t) {
        float[] out = new float[(int) t.size()];
        backend.download(t, out);
        return out;
    }

    private float[] uniform(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** Values in [-1, -0.1] and [0.1, 1]. */
    private float[] awayFromZero(int n) {
        float[] v = uniform(n);
        for (int i = 0; i < n; i++) {
            v[i] = Math.copySign(0.1f + 0.9f * Math.abs(v[i]), v[i]);
        }
        return v;
    }

    /** Distinct values 0.01 apart, none closer than 0.005 to zero, in random order. */
    private float[] spaced(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((i - n / 2) * 0.01 + 0.005);
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        return v;
    }

    private static float[] nan(int n) {
        float[] v = new float[n];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    private static float[] relu(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.max(v[i], 0f);
        }
        return out;
    }

    private static double[] relu(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.max(v[i], 0);
        }
        return out;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
