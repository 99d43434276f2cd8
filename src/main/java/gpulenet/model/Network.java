package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.BatchSource;
import gpulenet.backend.DType;
import gpulenet.backend.HeadLayer;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Model} built on a backend for one input size: its layers as {@link Backend} ops, with every
 * activation and gradient buffer allocated once for {@code maxBatch}; a smaller batch uses views of their
 * first rows, made once per distinct batch size, so a step allocates nothing.
 *
 * <p>Fusion is decided here, from the layer list, for every network alike:
 * <ul>
 *   <li>a Conv2d or Linear followed by a ReLU runs as one op, which keeps only the ReLU's output;</li>
 *   <li>the ReLU's backward is folded into the next op's backward where that op can do it (max-pool's
 *       backward masks by the pooled value, Linear's by its input, through a Flatten), else it runs in
 *       place on the gradient;</li>
 *   <li>Flatten is a view, and Dropout2d and a ReLU that follows anything else run in place;</li>
 *   <li>a Conv2d followed by a MaxPool2d runs as one op forward and one backward, and the first Conv2d
 *       of a pass that gathers its batch takes the gather with it;</li>
 *   <li>in a training pass, the Linear layers at the end of the network (the head) run with the loss and
 *       their backward as one {@link Backend#linearHeadStep};</li>
 * </ul>
 * Those last ops have defaults that run the plain ops in turn; a backend may fuse them (the CUDA backend does).
 * After {@link #backward}, the gradient kept for a Conv2d or Linear is that of its output before its ReLU.
 */
public final class Network {
    private enum Kind { CONV, LINEAR, POOL, DROPOUT, RELU, FLATTEN }

    /** One op of the forward pass: a layer, or a Conv2d/Linear with the ReLU after it. */
    private static final class Unit {
        final Kind kind;
        final Layer layer;
        final String activationName;
        final int[] shape;
        /** Writes its output into its input's buffer (Flatten as a view, Dropout2d and ReLU in place). */
        final boolean aliasesInput;
        /** A ReLU (its own or fused) produced this output. */
        boolean reluOutput;
        /** The next unit's backward applies this unit's ReLU mask. */
        boolean reluMaskedByNext;
        /** MaxPool: its input is a ReLU output whose mask it applies; Linear: the same for its input. */
        boolean masksInput;
        /** Conv2d and Linear: views of the weight, bias and their gradients, looked up once. */
        Tensor weight, bias, weightGrad, biasGrad;

        Unit(Kind kind, Layer layer, String activationName, int[] shape) {
            this.kind = kind;
            this.layer = layer;
            this.activationName = activationName;
            this.shape = shape;
            this.aliasesInput = kind == Kind.FLATTEN || kind == Kind.DROPOUT || kind == Kind.RELU;
        }
    }

    private final Backend backend;
    private final Model model;
    private final Parameters params;
    private final int maxBatch;
    private final int height;
    private final int width;
    private final boolean training;
    private final List<Unit> units = new ArrayList<>();
    /** Index of the first unit with parameters: nothing before it needs a gradient. */
    private final int firstTrainable;
    /** Index of the first of the Linear units that end a training network (its head), or -1 for none. */
    private final int headStart;
    private final Tensor headWorkspace;
    private final Tensor fullInput;
    private final Tensor fullLabels;
    private final Tensor[] fullActivation;
    private final Tensor[] fullGradient;
    private final Tensor[] fullArgmax;
    private final Tensor[] fullMask;
    private final Map<Integer, Views> viewsBySize = new HashMap<>();
    private final Tensor stats;
    private Views current;

    /** A network for training: forward, loss with gradient, backward. */
    public static Network forTraining(Backend backend, Model model, Parameters params, int height, int width, int maxBatch) {
        return new Network(backend, model, params, height, width, maxBatch, true);
    }

    /** A network that only runs forward and the loss (evaluation): no gradient buffers, about half the memory. */
    public static Network forInference(Backend backend, Model model, Parameters params, int height, int width, int maxBatch) {
        return new Network(backend, model, params, height, width, maxBatch, false);
    }

    private Network(Backend backend, Model model, Parameters params, int height, int width, int maxBatch,
                    boolean training) {
        if (maxBatch <= 0) {
            throw new IllegalArgumentException("maxBatch must be positive, got " + maxBatch);
        }
        this.backend = backend;
        this.model = model;
        this.params = params;
        this.maxBatch = maxBatch;
        this.height = height;
        this.width = width;
        this.training = training;
        plan(model.layers(), model.outputShapes(height, width));
        for (Unit u : units) {
            if (u.kind == Kind.CONV || u.kind == Kind.LINEAR) {
                u.weight = params.value(u.layer.name() + ".weight");
                u.bias = params.value(u.layer.name() + ".bias");
                u.weightGrad = params.grad(u.layer.name() + ".weight");
                u.biasGrad = params.grad(u.layer.name() + ".bias");
            }
        }
        int first = 0;
        while (units.get(first).layer.parameters().isEmpty()) {
            first++;
        }
        firstTrainable = first;
        int head = units.size();
        while (head > 0 && units.get(head - 1).kind == Kind.LINEAR) {
            head--;
        }
        // the head's input must be a unit's output (a Flatten's view of it for these networks)
        headStart = training && head >= 1 && head < units.size() ? head : -1;

        int n = units.size();
        fullInput = backend.allocate(DType.F32, maxBatch, 1, height, width);
        fullLabels = backend.allocate(DType.I32, maxBatch);
        fullActivation = new Tensor[n];
        fullGradient = new Tensor[n];
        fullArgmax = new Tensor[n];
        fullMask = new Tensor[n];
        for (int i = 0; i < n; i++) {
            Unit u = units.get(i);
            if (!u.aliasesInput) {
                fullActivation[i] = backend.allocate(DType.F32, batchShape(maxBatch, u.shape));
                if (training && i >= firstTrainable) {
                    fullGradient[i] = backend.allocate(DType.F32, batchShape(maxBatch, u.shape));
                }
            }
            if (u.kind == Kind.POOL) {
                fullArgmax[i] = backend.allocate(DType.I32, batchShape(maxBatch, u.shape));
            }
            if (u.kind == Kind.DROPOUT && training) {
                fullMask[i] = backend.allocate(DType.F32, maxBatch, u.shape[0]);
            }
        }
        int[] input = {maxBatch, 1, height, width};
        for (int i = 0; i < n; i++) {
            Unit u = units.get(i);
            if (u.kind == Kind.CONV) {
                backend.prepareConvolution(i == 0 ? input : batchShape(maxBatch, units.get(i - 1).shape),
                        u.weight.shape(), ((Conv2d) u.layer).padding());
            }
        }
        stats = backend.allocate(DType.F32, 2);
        headWorkspace = headStart < 0 ? null : allocateHeadWorkspace();
        current = views(maxBatch);
    }

    /** What the backend's fused head needs beyond the network's own buffers, or null for nothing. */
    private Tensor allocateHeadWorkspace() {
        int n = units.size() - headStart;
        int[] in = new int[n];
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            Linear l = (Linear) units.get(headStart + k).layer;
            in[k] = l.in();
            out[k] = l.out();
        }
        long elements = backend.linearHeadWorkspace(maxBatch, in, out);
        if (elements > Tensor.MAX_ELEMENTS) {
            throw new IllegalStateException("head workspace of " + elements + " elements");
        }
        return elements == 0 ? null : backend.allocate(DType.F32, (int) elements);
    }

    /** Groups the layers into units and decides which ReLU masks the next op applies. */
    private void plan(List<Layer> layers, List<int[]> shapes) {
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            boolean reluNext = i + 1 < layers.size() && layers.get(i + 1) instanceof ReLU;
            Unit u;
            if (l instanceof Conv2d || l instanceof Linear) {
                Kind kind = l instanceof Conv2d ? Kind.CONV : Kind.LINEAR;
                if (reluNext) {
                    u = new Unit(kind, l, layers.get(i + 1).name(), shapes.get(i + 1));
                    u.reluOutput = true;
                    i++;
                } else {
                    u = new Unit(kind, l, l.name(), shapes.get(i));
                }
            } else if (l instanceof MaxPool2d) {
                u = new Unit(Kind.POOL, l, l.name(), shapes.get(i));
            } else if (l instanceof Dropout2d) {
                u = new Unit(Kind.DROPOUT, l, l.name(), shapes.get(i));
            } else if (l instanceof ReLU) {
                u = new Unit(Kind.RELU, l, l.name(), shapes.get(i));
                u.reluOutput = true;
            } else if (l instanceof Flatten) {
                u = new Unit(Kind.FLATTEN, l, l.name(), shapes.get(i));
            } else {
                throw new IllegalStateException("no op for " + l);
            }
            units.add(u);
        }
        for (int i = 1; i < units.size(); i++) {
            Unit u = units.get(i);
            if (u.kind == Kind.POOL && units.get(i - 1).reluOutput) {
                u.masksInput = true;
                units.get(i - 1).reluMaskedByNext = true;
            } else if (u.kind == Kind.LINEAR) {
                int p = i - 1;
                while (p > 0 && units.get(p).kind == Kind.FLATTEN) {
                    p--;
                }
                if (units.get(p).reluOutput && units.get(p).kind != Kind.FLATTEN) {
                    u.masksInput = true;
                    units.get(p).reluMaskedByNext = true;
                }
            }
        }
    }

    private static int[] batchShape(int batch, int[] perSample) {
        int[] shape = new int[perSample.length + 1];
        shape[0] = batch;
        System.arraycopy(perSample, 0, shape, 1, perSample.length);
        return shape;
    }

    /** The views of every buffer for one batch size. */
    private final class Views {
        final int batch;
        final Tensor x, y;
        final Tensor[] act, grad, argmax, mask;
        final Map<String, Tensor> activations = new HashMap<>();
        final Map<String, Tensor> gradients = new HashMap<>();
        final Map<String, Tensor> masks = new HashMap<>();
        /** The head's layers as {@link Backend#linearHeadStep} takes them, when the network has a head. */
        final List<HeadLayer> head = new ArrayList<>();

        Views(int b) {
            batch = b;
            int n = units.size();
            x = backend.view(fullInput, 0, b, 1, height, width);
            y = backend.view(fullLabels, 0, b);
            act = new Tensor[n];
            grad = new Tensor[n];
            argmax = new Tensor[n];
            mask = new Tensor[n];
            activations.put("input", x);
            for (int i = 0; i < n; i++) {
                Unit u = units.get(i);
                int[] shape = batchShape(b, u.shape);
                Tensor inputAct = i == 0 ? x : act[i - 1];
                act[i] = u.aliasesInput ? backend.view(inputAct, 0, shape) : backend.view(fullActivation[i], 0, shape);
                activations.put(u.activationName, act[i]);
                if (training && i >= firstTrainable) {
                    grad[i] = u.aliasesInput ? backend.view(grad[i - 1], 0, shape) : backend.view(fullGradient[i], 0, shape);
                    if (!u.aliasesInput) {
                        gradients.put(u.layer.name(), grad[i]);
                    }
                }
                if (fullArgmax[i] != null) {
                    argmax[i] = backend.view(fullArgmax[i], 0, shape);
                }
                if (fullMask[i] != null) {
                    mask[i] = backend.view(fullMask[i], 0, b, u.shape[0]);
                    masks.put(u.layer.name(), mask[i]);
                }
                if (headStart >= 0 && i >= headStart) {
                    head.add(new HeadLayer(u.weight, u.bias, u.reluOutput, act[i], grad[i], u.weightGrad, u.biasGrad));
                }
            }
        }
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

    public Model model() {
        return model;
    }

    public Parameters parameters() {
        return params;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Gathers and normalises samples order[start .. start+batch) of a device-resident data set into the input. */
    public void gather(Tensor images, Tensor labels, Tensor order, int start, int batch) {
        Views v = views(batch);
        InputTransform t = model.transform();
        backend.gatherBatch(images, labels, order, start, t.mean(), t.std(), v.x, v.y);
    }

    /** {@link #drawDropoutMasks(int, long, long)} at the step the counters of {@code scalars} hold when it runs. */
    public void drawDropoutMasks(int batch, long seed, StepScalars scalars) {
        forEachDropout(batch, seed, (mask, layerSeed, p) -> backend.dropout2dMask(mask, layerSeed, scalars.counters(), p));
    }

    /**
     * Draws the Dropout2d masks of a training step from (seed, step): the same on every backend and in a
     * resumed run. Each Dropout2d layer after the first mixes its index into the seed.
     */
    public void drawDropoutMasks(int batch, long seed, long step) {
        forEachDropout(batch, seed, (mask, layerSeed, p) -> backend.dropout2dMask(mask, layerSeed, step, p));
    }

    /** How one Dropout2d layer's mask is drawn: its tensor, its seed, its p. */
    private interface MaskDraw {
        void draw(Tensor mask, long layerSeed, float p);
    }

    private void forEachDropout(int batch, long seed, MaskDraw draw) {
        Views v = views(batch);
        int k = 0;
        for (int i = 0; i < units.size(); i++) {
            if (v.mask[i] != null) {
                draw.draw(v.mask[i], seed ^ (k * 0x9E3779B97F4A7C15L), ((Dropout2d) units.get(i).layer).p());
                k++;
            }
        }
    }

    /**
     * Runs the layers. With {@code train}, Dropout2d applies the masks last drawn (or uploaded into
     * {@link #dropoutMask}); without, it is the identity, as in PyTorch's eval mode.
     */
    public void forward(int batch, boolean train) {
        if (train) {
            requireTraining();
        }
        forwardUnits(views(batch), train, units.size(), null);
    }

    /**
     * {@link #forward} in eval mode on the batch the step counter of {@code scalars} is at: samples
     * order[c*stride .. c*stride+batch) with c = counters[0], read on the backend when the ops run, gathered
     * and normalised into the input by the first op (or by a gather of its own where the network does not
     * start with a convolution).
     */
    public void forward(Tensor images, Tensor labels, Tensor order, StepScalars scalars, int stride, int batch) {
        forwardUnits(views(batch), false, units.size(), source(images, labels, order, scalars, stride));
    }

    private BatchSource source(Tensor images, Tensor labels, Tensor order, StepScalars scalars, int stride) {
        InputTransform t = model.transform();
        return new BatchSource(images, labels, order, scalars.counters(), stride, t.mean(), t.std());
    }

    /** Runs units [0, end); with a source, on the batch it gathers first (into the first convolution when there is one). */
    private void forwardUnits(Views v, boolean train, int end, BatchSource source) {
        int i = 0;
        if (source != null) {
            Unit u = units.get(0);
            if (u.kind == Kind.CONV && end > 0) {
                boolean pooled = pooledConv(0) && 1 < end;
                backend.gatherConv2dForward(source, v.x, v.y, u.weight, u.bias, ((Conv2d) u.layer).padding(),
                        u.reluOutput, v.act[0], pooled ? v.act[1] : null, pooled ? v.argmax[1] : null);
                i = pooled ? 2 : 1;
            } else {
                backend.gatherBatch(source.images(), source.labels(), source.order(), source.counters(), source.stride(),
                        source.mean(), source.std(), v.x, v.y);
            }
        }
        for (; i < end; i++) {
            Unit u = units.get(i);
            Tensor in = i == 0 ? v.x : v.act[i - 1];
            if (pooledConv(i) && i + 1 < end) {
                backend.conv2dPoolForward(in, u.weight, u.bias, ((Conv2d) u.layer).padding(), u.reluOutput, v.act[i],
                        v.act[i + 1], v.argmax[i + 1]);
                i++;
                continue;
            }
            switch (u.kind) {
                case CONV -> backend.conv2dForward(in, u.weight, u.bias, ((Conv2d) u.layer).padding(), u.reluOutput,
                        v.act[i]);
                case LINEAR -> backend.linearForward(in, u.weight, u.bias, u.reluOutput, v.act[i]);
                case POOL -> backend.maxPool2x2Forward(in, v.act[i], v.argmax[i]);
                case DROPOUT -> {
                    if (train) {
                        backend.dropout2dForward(in, v.mask[i], v.act[i]);
                    }
                }
                case RELU -> backend.reluForward(in, v.act[i]);
                case FLATTEN -> { }
            }
        }
    }

    /**
     * The forward pass in training mode, the loss and its gradient added to {@link #stats()}, and every
     * parameter gradient: what {@link #forward}, {@link #loss} and {@link #backward} do in turn, with the
     * head (the Linear layers at the end) handed to the backend as one {@link Backend#linearHeadStep}.
     */
    public void trainingPass(int batch) {
        trainingPass(views(batch), null);
    }

    /**
     * {@link #trainingPass(int)} on the batch the step counter of {@code scalars} is at, gathered as
     * {@link #forward(Tensor, Tensor, Tensor, StepScalars, int, int)} gathers it.
     */
    public void trainingPass(Tensor images, Tensor labels, Tensor order, StepScalars scalars, int stride, int batch) {
        trainingPass(views(batch), source(images, labels, order, scalars, stride));
    }

    private void trainingPass(Views v, BatchSource source) {
        requireTraining();
        if (headStart < 0) {
            forwardUnits(v, true, units.size(), source);
            loss(v.batch, true);
            backward(v.batch);
            return;
        }
        forwardUnits(v, true, headStart, source);
        Tensor dx0 = headStart - 1 >= firstTrainable ? v.grad[headStart - 1] : null;
        backend.linearHeadStep(v.act[headStart - 1], units.get(headStart).masksInput, dx0, v.head, v.y, stats,
                headWorkspace);
        backwardUnits(v, headStart - 1);
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
        int last = units.size() - 1;
        backend.softmaxCrossEntropy(v.act[last], v.y, gradient ? v.grad[last] : null, stats);
    }

    /** Every parameter gradient, from the logits gradient written by {@link #loss}. */
    public void backward(int batch) {
        requireTraining();
        backwardUnits(views(batch), units.size() - 1);
    }

    /** The backward pass of units [firstTrainable, from], from the gradient of unit {@code from}'s output. */
    private void backwardUnits(Views v, int from) {
        for (int i = from; i >= firstTrainable; i--) {
            Unit u = units.get(i);
            Tensor g = v.grad[i];
            if (u.reluOutput && !u.reluMaskedByNext) {
                backend.reluBackward(g, v.act[i], g);
            }
            if (u.kind == Kind.POOL && pooledConv(i - 1)) {
                Unit conv = units.get(i - 1);
                Tensor in = i - 1 == 0 ? v.x : v.act[i - 2];
                Tensor dx = i - 1 == firstTrainable ? null : v.grad[i - 2];
                backend.conv2dPoolBackward(in, conv.weight, g, v.act[i], v.argmax[i], u.masksInput,
                        ((Conv2d) conv.layer).padding(), v.grad[i - 1], dx, conv.weightGrad, conv.biasGrad);
                i--;
                continue;
            }
            Tensor in = i == 0 ? v.x : v.act[i - 1];
            Tensor dx = i == firstTrainable ? null : v.grad[i - 1];
            switch (u.kind) {
                case CONV -> backend.conv2dBackward(in, u.weight, g, ((Conv2d) u.layer).padding(), dx, u.weightGrad,
                        u.biasGrad);
                case LINEAR -> backend.linearBackward(in, u.weight, g, u.masksInput && dx != null, dx, u.weightGrad,
                        u.biasGrad);
                case POOL -> backend.maxPool2x2Backward(g, v.act[i], v.argmax[i], u.masksInput, dx);
                case DROPOUT -> backend.dropout2dBackward(g, v.mask[i], g);
                case RELU, FLATTEN -> { }
            }
        }
    }

    /** Unit i is a Conv2d with a max-pool right after it: the two run as one forward op and one backward op. */
    private boolean pooledConv(int i) {
        return i >= 0 && i + 1 < units.size() && units.get(i).kind == Kind.CONV && units.get(i + 1).kind == Kind.POOL;
    }

    private void requireTraining() {
        if (!training) {
            throw new IllegalStateException("this network was built for inference and keeps no gradient buffers");
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

    /**
     * The output of the named layer for a batch of {@code batch} ("input" for the gathered input). A Conv2d
     * or Linear fused with the ReLU after it keeps only the ReLU's output, under the ReLU's name; a layer
     * that runs in place (Dropout2d, a ReLU after anything else) shares its input's buffer.
     */
    public Tensor activation(String name, int batch) {
        return lookup(views(batch).activations, name, "activation");
    }

    /** The output of the last layer, F32 [batch, 10]: what the loss sees. */
    public Tensor logits(int batch) {
        return views(batch).act[units.size() - 1];
    }

    /** The I32 labels of the current input. */
    public Tensor labels(int batch) {
        return views(batch).y;
    }

    /**
     * The gradient of the named Conv2d, Linear or MaxPool2d layer's output after {@link #trainingPass} or
     * {@link #backward} (before the ReLU for a Conv2d or Linear fused with one).
     */
    public Tensor gradient(String name, int batch) {
        Views v = views(batch);
        Tensor g = lookup(v.gradients, name, "gradient");
        for (int i = 0; i < units.size(); i++) {
            if (pooledConv(i) && units.get(i).layer.name().equals(name)) {
                // its backward may have read this gradient through the pool without writing it
                backend.maxPool2x2Backward(v.grad[i + 1], v.act[i + 1], v.argmax[i + 1], units.get(i + 1).masksInput, g);
            }
        }
        return g;
    }

    /** The F32 [B,C] mask of the named Dropout2d layer: 1/(1-p) for a kept channel, 0 for a dropped one. */
    public Tensor dropoutMask(String name, int batch) {
        return lookup(views(batch).masks, name, "dropout mask");
    }

    private static Tensor lookup(Map<String, Tensor> map, String name, String what) {
        Tensor t = map.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the network keeps no " + what + " named " + name + "; it keeps " + map.keySet());
        }
        return t;
    }
}
