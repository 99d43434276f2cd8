package gpulenet.backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Checks a candidate backend against a reference one (the CPU backend is the oracle): every {@link Backend}
 * op on the same random inputs at LeNet-5's shapes and odd ones (ReLU and Dropout2d at cnn-dropout's),
 * each output compared element-wise with tolerance abs + rel*|reference|: the golden contracts' abs 1e-5 +
 * rel 1e-4 per op, and abs 1e-4 + rel 1e-3 for what several training steps leave (see
 * cli.TrainingComparison, which drives whole networks). Integer outputs (labels, pool argmax) must match
 * exactly.
 *
 * <p>Inputs have the scales of training (pixels in [-1, 1], weights within PyTorch's init bounds,
 * gradients of a batch-mean loss), so a long reduction is judged at the magnitudes it really has.
 */
public final class BackendComparison {
    public static final double OP_ABS = 1e-5;
    public static final double OP_REL = 1e-4;
    public static final double TRAIN_ABS = 1e-4;
    public static final double TRAIN_REL = 1e-3;

    /**
     * One compared output. {@code maxRel} is the largest |error| / max(|reference|, abs/rel): the relative
     * error where the relative term of the tolerance dominates, and the error in units of abs/rel elsewhere.
     */
    public record Row(String op, String shape, double maxAbs, double maxRel, boolean pass) {
    }

    /** A convolution: input [B,c,h,w], weights [k,c,r,r], padding, ReLU after the bias. */
    private record Conv(String name, int c, int h, int w, int k, int r, int pad, boolean relu) {
    }

    /** A linear layer: [B,in] to [B,out], ReLU on the output, ReLU mask on the input gradient. */
    private record Linear(String name, int in, int out, boolean relu, boolean reluOnInput) {
    }

    /** A 2x2 pool input [B,c,h,w]. */
    private record Pool(String name, int c, int h, int w) {
    }

    private static final Conv[] CONVS = {
            new Conv("conv1", 1, 28, 28, 6, 5, 2, true),
            new Conv("conv2", 6, 14, 14, 16, 5, 0, true),
            new Conv("odd", 3, 7, 9, 4, 3, 1, false),
    };
    /** The convolutions of the other tutorials' networks: cnn3's three 3x3, cnn-dropout's two 5x5. */
    private static final Conv[] TUTORIAL_CONVS = {
            new Conv("cnn3 conv0", 1, 28, 28, 32, 3, 0, true),
            new Conv("cnn3 conv2", 32, 26, 26, 16, 3, 0, true),
            new Conv("cnn3 conv4", 16, 24, 24, 8, 3, 0, true),
            new Conv("cnn-dropout conv1", 1, 28, 28, 10, 5, 0, true),
            new Conv("cnn-dropout conv2", 10, 24, 24, 20, 5, 0, true),
    };
    private static final Linear[] LINEARS = {
            new Linear("fc1", 400, 120, true, false),
            new Linear("fc2", 120, 84, true, true),
            new Linear("fc3", 84, 10, false, true),
            new Linear("odd", 13, 5, true, true),
    };
    private static final Pool[] POOLS = {
            new Pool("pool1", 6, 28, 28),
            new Pool("pool2", 16, 10, 10),
            new Pool("odd", 3, 6, 10),
            new Pool("odd size", 3, 7, 9),
    };

    /** The size of LeNet-5's flat parameter buffer, which the optimizer ops run over. */
    private static final int LENET5_PARAMETERS = 61_706;
    /** Images and classes of MNIST. */
    private static final int IMAGE = 28;
    private static final int CLASSES = 10;
    private static final float MEAN = 0.5f;
    private static final float STD = 0.5f;

    private final Backend reference;
    private final Backend candidate;
    private final SplittableRandom random;

    /** Both backends stay open and owned by the caller; {@code seed} fixes the random inputs. */
    public BackendComparison(Backend reference, Backend candidate, long seed) {
        this.reference = reference;
        this.candidate = candidate;
        this.random = new SplittableRandom(seed);
    }

    /** True when every row passed. */
    public static boolean allPass(List<Row> rows) {
        return rows.stream().allMatch(Row::pass);
    }

    /** Every op at every batch size in {@code batches}, on random inputs, with the op tolerances. */
    public List<Row> ops(int... batches) {
        List<Row> rows = new ArrayList<>();
        rows.addAll(transfers());
        rows.addAll(sgd(LENET5_PARAMETERS));
        rows.addAll(sgd(1001));
        rows.addAll(adam(LENET5_PARAMETERS));
        rows.addAll(adam(1001));
        for (int b : batches) {
            rows.addAll(gather(b));
            for (Conv c : CONVS) {
                rows.addAll(conv(b, c));
            }
            for (Pool p : POOLS) {
                rows.addAll(pool(b, p));
            }
            for (Linear l : LINEARS) {
                rows.addAll(linear(b, l));
            }
            rows.addAll(relu(b));
            rows.addAll(dropout(b));
            rows.addAll(softmax(b));
        }
        return rows;
    }

    /**
     * conv2dForward and conv2dBackward on the other tutorials' convolution shapes at each batch size, with
     * the op tolerances (kept apart from {@link #ops}: at batch 64 they are a few times LeNet-5's work).
     */
    public List<Row> tutorialConvolutions(int... batches) {
        List<Row> rows = new ArrayList<>();
        for (int b : batches) {
            for (Conv c : TUTORIAL_CONVS) {
                rows.addAll(conv(b, c));
            }
        }
        return rows;
    }

    // ---- the ops ----

    private List<Row> transfers() {
        int[] shape = {3, 5, 7};
        Tensor[] f = floats(uniform(105, 1f), shape);
        Tensor[] i = ints(randomInts(105, 1000), shape);
        List<Row> rows = new ArrayList<>();
        rows.add(compare("upload/download f32", shape, f, OP_ABS, OP_REL));
        rows.add(compareInts("upload/download i32", shape, i));
        Tensor[] view = {reference.view(f[0], 35, 2, 5, 7), candidate.view(f[1], 35, 2, 5, 7)};
        rows.add(compare("view", view[0].shape(), view, OP_ABS, OP_REL));
        reference.zero(view[0]);
        candidate.zero(view[1]);
        rows.add(compare("zero (a view)", shape, f, OP_ABS, OP_REL));
        return rows;
    }

    private List<Row> sgd(int n) {
        List<Row> rows = new ArrayList<>();
        for (boolean first : new boolean[]{true, false}) {
            Tensor[] p = floats(uniform(n, 0.2f), n);
            Tensor[] g = floats(uniform(n, 0.01f), n);
            Tensor[] buf = floats(uniform(n, 0.01f), n);
            reference.sgdUpdate(p[0], g[0], buf[0], 0.05f, 0.9f, 1e-4f, first);
            candidate.sgdUpdate(p[1], g[1], buf[1], 0.05f, 0.9f, 1e-4f, first);
            String what = "sgdUpdate" + (first ? " (first step)" : "");
            rows.add(compare(what + ": params", new int[]{n}, p, OP_ABS, OP_REL));
            rows.add(compare(what + ": momentum", new int[]{n}, buf, OP_ABS, OP_REL));
        }
        return rows;
    }

    /** Adam at step 3 (bias corrections well away from 1), moments at the scales training gives them. */
    private List<Row> adam(int n) {
        Tensor[] p = floats(uniform(n, 0.2f), n);
        Tensor[] g = floats(uniform(n, 0.01f), n);
        Tensor[] m = floats(uniform(n, 0.003f), n);
        float[] vs = uniform(n, 1e-5f);
        for (int i = 0; i < n; i++) {
            vs[i] = Math.abs(vs[i]);
        }
        Tensor[] v = floats(vs, n);
        reference.adamUpdate(p[0], g[0], m[0], v[0], 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, 3);
        candidate.adamUpdate(p[1], g[1], m[1], v[1], 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, 3);
        return List.of(compare("adamUpdate: params", new int[]{n}, p, OP_ABS, OP_REL),
                compare("adamUpdate: exp_avg", new int[]{n}, m, OP_ABS, OP_REL),
                compare("adamUpdate: exp_avg_sq", new int[]{n}, v, OP_ABS, OP_REL));
    }

    /** ReLU on cnn-dropout's pooled shape [B,20,10,10]; the backward gets the reference's forward output. */
    private List<Row> relu(int b) {
        int[] shape = {b, 20, 10, 10};
        int n = b * 2000;
        Tensor[] x = floats(uniform(n, 1f), shape);
        Tensor[] y = zeros(DType.F32, shape);
        reference.reluForward(x[0], y[0]);
        candidate.reluForward(x[1], y[1]);
        List<Row> rows = new ArrayList<>();
        rows.add(compare("reluForward", shape, y, OP_ABS, OP_REL));
        Tensor[] ySame = floats(download(reference, y[0]), shape);
        Tensor[] dy = floats(uniform(n, 1f / b), shape);
        Tensor[] dx = zeros(DType.F32, shape);
        reference.reluBackward(dy[0], ySame[0], dx[0]);
        candidate.reluBackward(dy[1], ySame[1], dx[1]);
        rows.add(compare("reluBackward", shape, dx, OP_ABS, OP_REL));
        return rows;
    }

    /** Dropout2d(0.25) on [B,20,10,10]: the mask must match exactly (same counter-based draws). */
    private List<Row> dropout(int b) {
        int[] shape = {b, 20, 10, 10};
        Tensor[] mask = zeros(DType.F32, b, 20);
        long seed = random.nextLong();
        reference.dropout2dMask(mask[0], seed, 3, 0.25f);
        candidate.dropout2dMask(mask[1], seed, 3, 0.25f);
        List<Row> rows = new ArrayList<>();
        rows.add(compare("dropout2dMask", mask[0].shape(), mask, 0, 0));
        Tensor[] maskSame = floats(download(reference, mask[0]), b, 20);
        Tensor[] x = floats(uniform(b * 2000, 1f), shape);
        Tensor[] y = zeros(DType.F32, shape);
        reference.dropout2dForward(x[0], maskSame[0], y[0]);
        candidate.dropout2dForward(x[1], maskSame[1], y[1]);
        rows.add(compare("dropout2dForward", shape, y, OP_ABS, OP_REL));
        Tensor[] dy = floats(uniform(b * 2000, 1f / b), shape);
        Tensor[] dx = zeros(DType.F32, shape);
        reference.dropout2dBackward(dy[0], maskSame[0], dx[0]);
        candidate.dropout2dBackward(dy[1], maskSame[1], dx[1]);
        rows.add(compare("dropout2dBackward", shape, dx, OP_ABS, OP_REL));
        return rows;
    }

    private List<Row> gather(int b) {
        int samples = 2 * b + 3;
        byte[] pixels = new byte[samples * IMAGE * IMAGE];
        byte[] labels = new byte[samples];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < samples; i++) {
            labels[i] = (byte) random.nextInt(CLASSES);
        }
        int[] order = new int[samples];
        for (int i = 0; i < samples; i++) {
            int j = random.nextInt(i + 1);
            order[i] = order[j];
            order[j] = i;
        }
        Tensor[] images = {reference.allocate(DType.U8, samples, IMAGE, IMAGE),
                candidate.allocate(DType.U8, samples, IMAGE, IMAGE)};
        Tensor[] labelsT = {reference.allocate(DType.U8, samples), candidate.allocate(DType.U8, samples)};
        reference.upload(images[0], pixels);
        candidate.upload(images[1], pixels);
        reference.upload(labelsT[0], labels);
        candidate.upload(labelsT[1], labels);
        Tensor[] orderT = ints(order, samples);
        Tensor[] x = zeros(DType.F32, b, 1, IMAGE, IMAGE);
        Tensor[] y = zeros(DType.I32, b);
        reference.gatherBatch(images[0], labelsT[0], orderT[0], 3, MEAN, STD, x[0], y[0]);
        candidate.gatherBatch(images[1], labelsT[1], orderT[1], 3, MEAN, STD, x[1], y[1]);
        return List.of(compare("gatherBatch: x", x[0].shape(), x, OP_ABS, OP_REL),
                compareInts("gatherBatch: y", y[0].shape(), y));
    }

    private List<Row> conv(int b, Conv c) {
        int oh = c.h + 2 * c.pad - c.r + 1;
        int ow = c.w + 2 * c.pad - c.r + 1;
        float bound = (float) (1 / Math.sqrt(c.c * c.r * c.r));
        Tensor[] x = floats(uniform(b * c.c * c.h * c.w, 1f), b, c.c, c.h, c.w);
        Tensor[] w = floats(uniform(c.k * c.c * c.r * c.r, bound), c.k, c.c, c.r, c.r);
        Tensor[] bias = floats(uniform(c.k, bound), c.k);
        Tensor[] y = zeros(DType.F32, b, c.k, oh, ow);
        reference.conv2dForward(x[0], w[0], bias[0], c.pad, c.relu, y[0]);
        candidate.conv2dForward(x[1], w[1], bias[1], c.pad, c.relu, y[1]);
        String shape = String.format("%s x%s w%s pad %d%s", c.name, dims(x[0]), dims(w[0]), c.pad, c.relu ? " relu" : "");
        List<Row> rows = new ArrayList<>();
        rows.add(compare("conv2dForward", shape, y, OP_ABS, OP_REL));

        Tensor[] dy = floats(uniform(b * c.k * oh * ow, 1f / b), b, c.k, oh, ow);
        Tensor[] dx = zeros(DType.F32, b, c.c, c.h, c.w);
        Tensor[] dw = zeros(DType.F32, c.k, c.c, c.r, c.r);
        Tensor[] db = zeros(DType.F32, c.k);
        reference.conv2dBackward(x[0], w[0], dy[0], c.pad, dx[0], dw[0], db[0]);
        candidate.conv2dBackward(x[1], w[1], dy[1], c.pad, dx[1], dw[1], db[1]);
        rows.add(compare("conv2dBackward: dx", shape, dx, OP_ABS, OP_REL));
        rows.add(compare("conv2dBackward: dw", shape, dw, OP_ABS, OP_REL));
        rows.add(compare("conv2dBackward: db", shape, db, OP_ABS, OP_REL));
        return rows;
    }

    private List<Row> pool(int b, Pool p) {
        int[] in = {b, p.c, p.h, p.w};
        int[] out = {b, p.c, p.h / 2, p.w / 2};
        // post-ReLU values with exact ties (zeros), as the pool sees them in LeNet-5
        float[] xs = uniform(b * p.c * p.h * p.w, 1f);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = Math.max(0f, xs[i]);
        }
        Tensor[] x = floats(xs, in);
        Tensor[] y = zeros(DType.F32, out);
        Tensor[] argmax = zeros(DType.I32, out);
        reference.maxPool2x2Forward(x[0], y[0], argmax[0]);
        candidate.maxPool2x2Forward(x[1], y[1], argmax[1]);
        String shape = p.name + " x" + dims(x[0]);
        List<Row> rows = new ArrayList<>();
        rows.add(compare("maxPool2x2Forward: y", shape, y, OP_ABS, OP_REL));
        rows.add(compareInts("maxPool2x2Forward: argmax", shape, argmax));

        // the backward gets the reference's forward results on both sides, so it is judged on its own
        float[] yRef = download(reference, y[0]);
        int[] argRef = downloadInts(reference, argmax[0]);
        Tensor[] ySame = floats(yRef, out);
        Tensor[] argSame = ints(argRef, out);
        int outSize = yRef.length;
        for (boolean reluBefore : new boolean[]{true, false}) {
            Tensor[] dy = floats(uniform(outSize, 1f / b), out);
            Tensor[] dx = floats(uniform(xs.length, 1f), in);
            reference.maxPool2x2Backward(dy[0], ySame[0], argSame[0], reluBefore, dx[0]);
            candidate.maxPool2x2Backward(dy[1], ySame[1], argSame[1], reluBefore, dx[1]);
            rows.add(compare("maxPool2x2Backward" + (reluBefore ? " (relu before)" : ""), shape, dx, OP_ABS, OP_REL));
        }
        return rows;
    }

    private List<Row> linear(int b, Linear l) {
        float bound = (float) (1 / Math.sqrt(l.in));
        float[] xs = uniform(b * l.in, 1f);
        if (l.reluOnInput) {
            for (int i = 0; i < xs.length; i++) {
                xs[i] = Math.max(0f, xs[i]);
            }
        }
        Tensor[] x = floats(xs, b, l.in);
        Tensor[] w = floats(uniform(l.out * l.in, bound), l.out, l.in);
        Tensor[] bias = floats(uniform(l.out, bound), l.out);
        Tensor[] y = zeros(DType.F32, b, l.out);
        reference.linearForward(x[0], w[0], bias[0], l.relu, y[0]);
        candidate.linearForward(x[1], w[1], bias[1], l.relu, y[1]);
        String shape = String.format("%s x%s w%s%s", l.name, dims(x[0]), dims(w[0]), l.relu ? " relu" : "");
        List<Row> rows = new ArrayList<>();
        rows.add(compare("linearForward", shape, y, OP_ABS, OP_REL));

        Tensor[] dy = floats(uniform(b * l.out, 1f / b), b, l.out);
        Tensor[] dx = zeros(DType.F32, b, l.in);
        Tensor[] dw = zeros(DType.F32, l.out, l.in);
        Tensor[] db = zeros(DType.F32, l.out);
        reference.linearBackward(x[0], w[0], dy[0], l.reluOnInput, dx[0], dw[0], db[0]);
        candidate.linearBackward(x[1], w[1], dy[1], l.reluOnInput, dx[1], dw[1], db[1]);
        String backShape = shape + (l.reluOnInput ? " relu-masked dx" : "");
        rows.add(compare("linearBackward: dx", backShape, dx, OP_ABS, OP_REL));
        rows.add(compare("linearBackward: dw", backShape, dw, OP_ABS, OP_REL));
        rows.add(compare("linearBackward: db", backShape, db, OP_ABS, OP_REL));
        return rows;
    }

    private List<Row> softmax(int b) {
        int k = CLASSES;
        Tensor[] logits = floats(uniform(b * k, 4f), b, k);
        Tensor[] labels = ints(randomInts(b, k), b);
        Tensor[] dlogits = zeros(DType.F32, b, k);
        Tensor[] stats = floats(new float[]{1.5f, 2f}, 2);
        reference.softmaxCrossEntropy(logits[0], labels[0], dlogits[0], stats[0]);
        candidate.softmaxCrossEntropy(logits[1], labels[1], dlogits[1], stats[1]);
        String shape = "logits" + dims(logits[0]);
        return List.of(compare("softmaxCrossEntropy: dlogits", shape, dlogits, OP_ABS, OP_REL),
                compare("softmaxCrossEntropy: stats", shape + ", added to [1.5, 2]", stats, OP_ABS, OP_REL));
    }

    // ---- comparison ----

    private Row compare(String op, int[] shape, Tensor[] pair, double abs, double rel) {
        return compare(op, dims(shape), pair, abs, rel);
    }

    private Row compare(String op, String shape, Tensor[] pair, double abs, double rel) {
        return compare(op, shape, download(reference, pair[0]), download(candidate, pair[1]), abs, rel);
    }

    private Row compareInts(String op, int[] shape, Tensor[] pair) {
        return compareInts(op, dims(shape), pair);
    }

    private Row compareInts(String op, String shape, Tensor[] pair) {
        return compare(op, shape, toFloats(downloadInts(reference, pair[0])), toFloats(downloadInts(candidate, pair[1])), 0, 0);
    }

    /** Element-wise errors of {@code actual} against {@code expected}; NaN anywhere fails. */
    public static Row compare(String op, String shape, float[] expected, float[] actual, double abs, double rel) {
        if (expected.length != actual.length) {
            return new Row(op, shape, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, false);
        }
        double floor = rel > 0 ? abs / rel : 1;
        double maxAbs = 0;
        double maxRel = 0;
        boolean pass = true;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) expected[i] - actual[i]);
            if (!(err <= abs + rel * Math.abs(expected[i]))) {
                pass = false;
            }
            if (Double.isNaN(err)) {
                err = Double.POSITIVE_INFINITY;
            }
            maxAbs = Math.max(maxAbs, err);
            maxRel = Math.max(maxRel, err / Math.max(Math.abs(expected[i]), floor));
        }
        return new Row(op, shape, maxAbs, maxRel, pass);
    }

    // ---- data on both backends ----

    private Tensor[] floats(float[] data, int... shape) {
        Tensor[] pair = zeros(DType.F32, shape);
        reference.upload(pair[0], data);
        candidate.upload(pair[1], data);
        return pair;
    }

    private Tensor[] ints(int[] data, int... shape) {
        Tensor[] pair = zeros(DType.I32, shape);
        reference.upload(pair[0], data);
        candidate.upload(pair[1], data);
        return pair;
    }

    private Tensor[] zeros(DType dtype, int... shape) {
        return new Tensor[]{reference.allocate(dtype, shape), candidate.allocate(dtype, shape)};
    }

    private float[] uniform(int n, float bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((2 * random.nextDouble() - 1) * bound);
        }
        return v;
    }

    private int[] randomInts(int n, int bound) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextInt(bound);
        }
        return v;
    }

    private static float[] download(Backend backend, Tensor t) {
        float[] v = new float[(int) t.size()];
        backend.download(t, v);
        return v;
    }

    private static int[] downloadInts(Backend backend, Tensor t) {
        int[] v = new int[(int) t.size()];
        backend.download(t, v);
        return v;
    }

    private static float[] toFloats(int[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = v[i];
        }
        return f;
    }

    private static String dims(Tensor t) {
        return dims(t.shape());
    }

    private static String dims(int[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }
}
