package gpulenet.backend;

import java.util.Random;

/**
 * One LeNet-5 training step written against {@link Backend} alone (gather, forward, loss, backward,
 * momentum SGD) on a synthetic data set, so tests can run whole steps on any backend.
 */
public final class LeNetStep {
    private static final int[][] PARAM_SHAPES = {
            {6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 400}, {120}, {84, 120}, {84}, {10, 84}, {10}};

    private final Backend be;
    private final int batch;
    private final int samples;
    private final Tensor params, grads, momentum;
    private final Tensor[] p = new Tensor[PARAM_SHAPES.length];
    private final Tensor[] g = new Tensor[PARAM_SHAPES.length];
    private final Tensor images, labels, order, x, y, stats;
    private final Tensor conv1, pool1, arg1, conv2, pool2, arg2, fc1, fc2, logits;
    private final Tensor dLogits, dFc2, dFc1, dPool2, dConv2, dPool1, dConv1;
    private int steps;

    public LeNetStep(Backend backend, int batch, long seed) {
        this.be = backend;
        this.batch = batch;
        this.samples = 4 * batch;
        Random random = new Random(seed);
        int total = 0;
        for (int[] s : PARAM_SHAPES) {
            total += count(s);
        }
        params = be.allocate(DType.F32, total);
        grads = be.allocate(DType.F32, total);
        momentum = be.allocate(DType.F32, total);
        float[] init = new float[total];
        int at = 0;
        for (int i = 0; i < PARAM_SHAPES.length; i++) {
            int[] shape = PARAM_SHAPES[i];
            p[i] = be.view(params, at, shape);
            g[i] = be.view(grads, at, shape);
            int fanIn = i % 2 == 0 ? count(shape) / shape[0] : count(PARAM_SHAPES[i - 1]) / shape[0];
            float bound = (float) (1 / Math.sqrt(fanIn));
            for (int j = 0; j < count(shape); j++) {
                init[at + j] = (random.nextFloat() * 2 - 1) * bound;
            }
            at += count(shape);
        }
        be.upload(params, init);

        byte[] pixels = new byte[samples * 28 * 28];
        random.nextBytes(pixels);
        byte[] classes = new byte[samples];
        int[] permutation = new int[samples];
        for (int i = 0; i < samples; i++) {
            classes[i] = (byte) random.nextInt(10);
            permutation[i] = (i * 7 + 3) % samples;
        }
        images = be.allocate(DType.U8, samples, 28, 28);
        be.upload(images, pixels);
        labels = be.allocate(DType.U8, samples);
        be.upload(labels, classes);
        order = be.allocate(DType.I32, samples);
        be.upload(order, permutation);

        x = be.allocate(DType.F32, batch, 1, 28, 28);
        y = be.allocate(DType.I32, batch);
        stats = be.allocate(DType.F32, 2);
        conv1 = be.allocate(DType.F32, batch, 6, 28, 28);
        pool1 = be.allocate(DType.F32, batch, 6, 14, 14);
        arg1 = be.allocate(DType.I32, batch, 6, 14, 14);
        conv2 = be.allocate(DType.F32, batch, 16, 10, 10);
        pool2 = be.allocate(DType.F32, batch, 16, 5, 5);
        arg2 = be.allocate(DType.I32, batch, 16, 5, 5);
        fc1 = be.allocate(DType.F32, batch, 120);
        fc2 = be.allocate(DType.F32, batch, 84);
        logits = be.allocate(DType.F32, batch, 10);
        dLogits = be.allocate(DType.F32, batch, 10);
        dFc2 = be.allocate(DType.F32, batch, 84);
        dFc1 = be.allocate(DType.F32, batch, 120);
        dPool2 = be.allocate(DType.F32, batch, 16, 5, 5);
        dConv2 = be.allocate(DType.F32, batch, 16, 10, 10);
        dPool1 = be.allocate(DType.F32, batch, 6, 14, 14);
        dConv1 = be.allocate(DType.F32, batch, 6, 28, 28);
    }

    private static int count(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** Runs one step: gather, forward, loss, backward, SGD (lr 0.05, momentum 0.9). */
    public void step() {
        be.gatherBatch(images, labels, order, (steps * batch) % samples, 0.5f, 0.5f, x, y);
        be.conv2dForward(x, p[0], p[1], 2, true, conv1);
        be.maxPool2x2Forward(conv1, pool1, arg1);
        be.conv2dForward(pool1, p[2], p[3], 0, true, conv2);
        be.maxPool2x2Forward(conv2, pool2, arg2);
        Tensor flat = be.view(pool2, 0, batch, 400);
        be.linearForward(flat, p[4], p[5], true, fc1);
        be.linearForward(fc1, p[6], p[7], true, fc2);
        be.linearForward(fc2, p[8], p[9], false, logits);
        be.softmaxCrossEntropy(logits, y, dLogits, stats);
        be.linearBackward(fc2, p[8], dLogits, true, dFc2, g[8], g[9]);
        be.linearBackward(fc1, p[6], dFc2, true, dFc1, g[6], g[7]);
        be.linearBackward(flat, p[4], dFc1, false, be.view(dPool2, 0, batch, 400), g[4], g[5]);
        be.maxPool2x2Backward(dPool2, pool2, arg2, true, dConv2);
        be.conv2dBackward(pool1, p[2], dConv2, 0, dPool1, g[2], g[3]);
        be.maxPool2x2Backward(dPool1, pool1, arg1, true, dConv1);
        be.conv2dBackward(x, p[0], dConv1, 2, null, g[0], g[1]);
        be.sgdUpdate(params, grads, momentum, 0.05f, 0.9f, 0f, steps == 0);
        steps++;
    }

    public float[] parameters() {
        float[] out = new float[(int) params.size()];
        be.download(params, out);
        return out;
    }

    /** Summed loss and correct count of every step so far. */
    public float[] stats() {
        float[] out = new float[2];
        be.download(stats, out);
        return out;
    }
}
