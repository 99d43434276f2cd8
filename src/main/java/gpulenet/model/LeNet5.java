package gpulenet.model;

import gpulenet.InputException;
import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.data.Dataset;

import java.util.HashMap;
import java.util.Map;

/**
 * LeNet-5 as a sequence of {@link Backend} ops: conv1 (1->6, k5, pad 2) + ReLU, max-pool 2; conv2 (6->16, k5)
 * + ReLU, max-pool 2; flatten 400; fc1 120 + ReLU; fc2 84 + ReLU; fc3 10 logits; mean softmax
 * cross-entropy. Every activation and gradient buffer is allocated once for {@code maxBatch}; a smaller
 * batch uses views of their first rows, made once per distinct batch size, so a step allocates nothing.
 *
 * <p>Activations kept (names as in the PyTorch reference): relu1, pool1, relu2, pool2, fc1 and fc2 (after
 * their ReLU), logits. Gradients kept: logits, fc2 and fc1 (of the pre-ReLU outputs), pool2, conv2 (pre-ReLU),
 * pool1, conv1 (pre-ReLU).
 */
public final class LeNet5 {
    public static final int IMAGE = 28;
    public static final int CLASSES = 10;
    /** Input normalisation (x/255 - MEAN)/STD maps pixels to [-1, 1]. */
    public static final float MEAN = 0.5f;
    public static final float STD = 0.5f;

    private final Backend backend;
    private final Parameters params;
    private final int maxBatch;
    /** False for an inference-only network, which keeps no gradient buffers. */
    private final boolean training;
    private final Map<String, Tensor> full = new HashMap<>();
    private final Map<Integer, Views> viewsBySize = new HashMap<>();
    private final Tensor stats;
    private Views current;

    /** The views of every buffer for one batch size. */
    private final class Views {
        final int batch;
        final Tensor x, y, relu1, pool1, arg1, relu2, pool2, arg2, flat, fc1, fc2, logits;
        final Tensor dLogits, dFc2, dFc1, dPool2, dFlat, dConv2, dPool1, dConv1;
        final Map<String, Tensor> activations = new HashMap<>();
        final Map<String, Tensor> gradients = new HashMap<>();

        Views(int b) {
            batch = b;
            x = part("input", b, 1, IMAGE, IMAGE);
            y = part("labels", b);
            relu1 = part("relu1", b, 6, 28, 28);
            pool1 = part("pool1", b, 6, 14, 14);
            arg1 = part("pool1.argmax", b, 6, 14, 14);
            relu2 = part("relu2", b, 16, 10, 10);
            pool2 = part("pool2", b, 16, 5, 5);
            arg2 = part("pool2.argmax", b, 16, 5, 5);
            flat = part("pool2", b, 400);
            fc1 = part("fc1", b, 120);
            fc2 = part("fc2", b, 84);
            logits = part("logits", b, CLASSES);
            Tensor[] acts = {x, relu1, pool1, relu2, pool2, fc1, fc2, logits};
            String[] actNames = {"input", "relu1", "pool1", "relu2", "pool2", "fc1", "fc2", "logits"};
            for (int i = 0; i < acts.length; i++) {
                activations.put(actNames[i], acts[i]);
            }
            if (!training) {
                dLogits = dFc2 = dFc1 = dPool2 = dFlat = dConv2 = dPool1 = dConv1 = null;
                return;
            }
            dLogits = part("d.logits", b, CLASSES);
            dFc2 = part("d.fc2", b, 84);
            dFc1 = part("d.fc1", b, 120);
            dPool2 = part("d.pool2", b, 16, 5, 5);
            dFlat = part("d.pool2", b, 400);
            dConv2 = part("d.conv2", b, 16, 10, 10);
            dPool1 = part("d.pool1", b, 6, 14, 14);
            dConv1 = part("d.conv1", b, 6, 28, 28);
            Tensor[] grads = {dLogits, dFc2, dFc1, dPool2, dConv2, dPool1, dConv1};
            String[] gradNames = {"logits", "fc2", "fc1", "pool2", "conv2", "pool1", "conv1"};
            for (int i = 0; i < grads.length; i++) {
                gradients.put(gradNames[i], grads[i]);
            }
        }
    }

    /** A network for training: forward, loss with gradient, backward and SGD steps. */
    public LeNet5(Backend backend, Parameters params, int maxBatch) {
        this(backend, params, maxBatch, true);
    }

    /** A network that only runs forward and the loss (evaluation): no gradient buffers, about half the memory. */
    public static LeNet5 forInference(Backend backend, Parameters params, int maxBatch) {
        return new LeNet5(backend, params, maxBatch, false);
    }

    private LeNet5(Backend backend, Parameters params, int maxBatch, boolean training) {
        if (maxBatch <= 0) {
            throw new IllegalArgumentException("maxBatch must be positive, got " + maxBatch);
        }
        this.backend = backend;
        this.params = params;
        this.maxBatch = maxBatch;
        this.training = training;
        allocate("input", DType.F32, 1, IMAGE, IMAGE);
        allocate("labels", DType.I32);
        allocate("relu1", DType.F32, 6, 28, 28);
        allocate("pool1", DType.F32, 6, 14, 14);
        allocate("pool1.argmax", DType.I32, 6, 14, 14);
        allocate("relu2", DType.F32, 16, 10, 10);
        allocate("pool2", DType.F32, 16, 5, 5);
        allocate("pool2.argmax", DType.I32, 16, 5, 5);
        allocate("fc1", DType.F32, 120);
        allocate("fc2", DType.F32, 84);
        allocate("logits", DType.F32, CLASSES);
        if (training) {
            allocate("d.logits", DType.F32, CLASSES);
            allocate("d.fc2", DType.F32, 84);
            allocate("d.fc1", DType.F32, 120);
            allocate("d.pool2", DType.F32, 16, 5, 5);
            allocate("d.conv2", DType.F32, 16, 10, 10);
            allocate("d.pool1", DType.F32, 6, 14, 14);
            allocate("d.conv1", DType.F32, 6, 28, 28);
        }
        stats = backend.allocate(DType.F32, 2);
        current = views(maxBatch);
    }

    /** Checks that a data set fits this network: 28x28 single-channel images. */
    public static void requireInputSize(Dataset data) {
        if (data.rows() != IMAGE || data.cols() != IMAGE) {
            throw new InputException(data.name() + ": images are " + data.rows() + "x" + data.cols()
                    + ", but LeNet-5 here takes " + IMAGE + "x" + IMAGE);
        }
    }

    private void allocate(String name, DType dtype, int... perSample) {
        int[] shape = new int[perSample.length + 1];
        shape[0] = maxBatch;
        System.arraycopy(perSample, 0, shape, 1, perSample.length);
        full.put(name, backend.allocate(dtype, shape));
    }

    private Tensor part(String name, int batch, int... perSample) {
        int[] shape = new int[perSample.length + 1];
        shape[0] = batch;
        System.arraycopy(perSample, 0, shape, 1, perSample.length);
        return backend.view(full.get(name), 0, shape);
    }

    private Views views(int batch) {
        if (current != null && current.batch == batch) {
            return current;
        }
        if (batch <= 0 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " outside [1, " + maxBatch + "]");
        }
        current = viewsBySize.computeIfAbsent(batch, Views::new);
        return current;
    }

    public Backend backend() {
        return backend;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Gathers and normalises samples order[start .. start+batch) of a device-resident data set into the input. */
    public void gather(Tensor images, Tensor labels, Tensor order, int start, int batch) {
        Views v = views(batch);
        backend.gatherBatch(images, labels, order, start, MEAN, STD, v.x, v.y);
    }

    public void forward(int batch) {
        Views v = views(batch);
        backend.conv2dForward(v.x, params.value("conv1.weight"), params.value("conv1.bias"), 2, true, v.relu1);
        backend.maxPool2x2Forward(v.relu1, v.pool1, v.arg1);
        backend.conv2dForward(v.pool1, params.value("conv2.weight"), params.value("conv2.bias"), 0, true, v.relu2);
        backend.maxPool2x2Forward(v.relu2, v.pool2, v.arg2);
        backend.linearForward(v.flat, params.value("fc1.weight"), params.value("fc1.bias"), true, v.fc1);
        backend.linearForward(v.fc1, params.value("fc2.weight"), params.value("fc2.bias"), true, v.fc2);
        backend.linearForward(v.fc2, params.value("fc3.weight"), params.value("fc3.bias"), false, v.logits);
    }

    /**
     * Adds the batch's loss sum and correct count to {@link #stats()}; with {@code gradient}, also writes
     * d(mean loss)/d logits for {@link #backward}.
     */
    public void loss(int batch, boolean gradient) {
        if (gradient) {
            requireTraining();
        }
        Views v = views(batch);
        backend.softmaxCrossEntropy(v.logits, v.y, gradient ? v.dLogits : null, stats);
    }

    /** Every parameter gradient, from the logits gradient written by {@link #loss}. */
    public void backward(int batch) {
        requireTraining();
        Views v = views(batch);
        backend.linearBackward(v.fc2, params.value("fc3.weight"), v.dLogits, true, v.dFc2,
                params.grad("fc3.weight"), params.grad("fc3.bias"));
        backend.linearBackward(v.fc1, params.value("fc2.weight"), v.dFc2, true, v.dFc1,
                params.grad("fc2.weight"), params.grad("fc2.bias"));
        backend.linearBackward(v.flat, params.value("fc1.weight"), v.dFc1, false, v.dFlat,
                params.grad("fc1.weight"), params.grad("fc1.bias"));
        backend.maxPool2x2Backward(v.dPool2, v.pool2, v.arg2, true, v.dConv2);
        backend.conv2dBackward(v.pool1, params.value("conv2.weight"), v.dConv2, 0, v.dPool1,
                params.grad("conv2.weight"), params.grad("conv2.bias"));
        backend.maxPool2x2Backward(v.dPool1, v.pool1, v.arg1, true, v.dConv1);
        backend.conv2dBackward(v.x, params.value("conv1.weight"), v.dConv1, 2, null,
                params.grad("conv1.weight"), params.grad("conv1.bias"));
    }

    /** Forward, loss, backward and one momentum-SGD update on the current input. */
    public void trainStep(int batch, float lr, float momentum, float weightDecay, boolean firstStep) {
        forward(batch);
        loss(batch, true);
        backward(batch);
        params.sgdStep(lr, momentum, weightDecay, firstStep);
    }

    private void requireTraining() {
        if (!training) {
            throw new IllegalStateException("this LeNet5 was built for inference and keeps no gradient buffers");
        }
    }

    /** F32 [2]: summed loss and correct count since the last {@link #resetStats()}. */
    public Tensor stats() {
        return stats;
    }

    /** Downloads the stats (a synchronisation point on a GPU): {loss sum, correct count}. */
    public float[] readStats() {
        float[] out = new float[2];
        backend.download(stats, out);
        return out;
    }

    public void resetStats() {
        backend.zero(stats);
    }

    /** The named activation (see the class comment, plus "input") for a batch of {@code batch}. */
    public Tensor activation(String name, int batch) {
        return lookup(views(batch).activations, name);
    }

    /** The I32 labels of the current input. */
    public Tensor labels(int batch) {
        return views(batch).y;
    }

    /** The named gradient (see the class comment) for a batch of {@code batch}. */
    public Tensor gradient(String name, int batch) {
        return lookup(views(batch).gradients, name);
    }

    private static Tensor lookup(Map<String, Tensor> map, String name) {
        Tensor t = map.get(name);
        if (t == null) {
            throw new IllegalArgumentException("LeNet5 keeps no tensor named " + name + "; it keeps " + map.keySet());
        }
        return t;
    }
}
