package gpulenet.backend;

import java.util.ArrayList;
import java.util.List;

/**
 * A backend that computes nothing and stores nothing: it adds up what a network, its parameters and its
 * data sets allocate and records the shapes of the ops a step runs, so that a real backend can say what
 * a run needs before it allocates anything ({@link Backend#workspaceBytes}). Its tensors are shapes
 * alone; downloads read zeros.
 */
public final class SizingBackend implements Backend {
    /** One convolution as the network calls it: x [B,C,H,W], w [K,C,R,R]. */
    public record Convolution(int[] x, int[] w, int pad) {
    }

    /** One fully connected layer: x [B,IN], w [OUT,IN]. */
    public record LinearLayer(int[] x, int[] w) {
    }

    private static final class Shape extends Tensor {
        Shape(DType dtype, int... shape) {
            super(dtype, shape);
        }
    }

    private final Backend target;
    private final List<Convolution> convolutions = new ArrayList<>();
    private final List<LinearLayer> linears = new ArrayList<>();
    private long allocatedBytes;
    private Tensor largest;

    /** A plan of its own: workspaces the ops ask for are 0. */
    public SizingBackend() {
        this(null);
    }

    /** A plan for {@code target}: a network built on it allocates the workspaces target's ops ask for. */
    public SizingBackend(Backend target) {
        this.target = target;
    }

    @Override
    public long linearHeadWorkspace(int maxBatch, int[] in, int[] out) {
        return target == null ? 0 : target.linearHeadWorkspace(maxBatch, in, out);
    }

    /** Bytes of every tensor allocated so far (views are free). */
    public long allocatedBytes() {
        return allocatedBytes;
    }

    /** The allocated tensor with the most elements, or null before the first. */
    public Tensor largest() {
        return largest;
    }

    /** Each convolution run so far, forward and backward, in call order. */
    public List<Convolution> convolutions() {
        return convolutions;
    }

    /** Each linear layer run so far, forward and backward, in call order. */
    public List<LinearLayer> linears() {
        return linears;
    }

    @Override
    public String name() {
        return "sizing";
    }

    @Override
    public String describe() {
        return "sizes only, computes nothing";
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        Tensor t = new Shape(dtype, shape);
        allocatedBytes += t.size() * dtype.bytes;
        if (largest == null || t.size() > largest.size()) {
            largest = t;
        }
        return t;
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        return new Shape(base.dtype(), shape);
    }

    @Override
    public FreeMemory freeMemory() {
        return new FreeMemory(Long.MAX_VALUE, false, "nothing");
    }

    @Override
    public long workspaceBytes(SizingBackend plan) {
        return 0;
    }

    @Override
    public void upload(Tensor dst, float[] src) {
    }

    @Override
    public void upload(Tensor dst, int[] src) {
    }

    @Override
    public void upload(Tensor dst, byte[] src) {
    }

    @Override
    public void download(Tensor src, float[] dst) {
    }

    @Override
    public void download(Tensor src, int[] dst) {
    }

    @Override
    public void zero(Tensor t) {
    }

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, int start, float mean, float std, Tensor x, Tensor y) {
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y) {
        convolutions.add(new Convolution(x.shape(), w.shape(), pad));
    }

    @Override
    public void conv2dBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db) {
        convolutions.add(new Convolution(x.shape(), w.shape(), pad));
    }

    @Override
    public void maxPool2x2Forward(Tensor x, Tensor y, Tensor argmax) {
    }

    @Override
    public void maxPool2x2Backward(Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, Tensor dx) {
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, boolean relu, Tensor y) {
        linears.add(new LinearLayer(x.shape(), w.shape()));
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, boolean reluOnInput, Tensor dx, Tensor dw, Tensor db) {
        linears.add(new LinearLayer(x.shape(), w.shape()));
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
    }

    @Override
    public void reluForward(Tensor x, Tensor y) {
    }

    @Override
    public void reluBackward(Tensor dy, Tensor y, Tensor dx) {
    }

    @Override
    public void dropout2dMask(Tensor mask, long seed, long step, float p) {
    }

    @Override
    public void dropout2dForward(Tensor x, Tensor mask, Tensor y) {
    }

    @Override
    public void dropout2dBackward(Tensor dy, Tensor mask, Tensor dx) {
    }

    @Override
    public void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, HostScalars.Adam scalars) {
    }

    @Override
    public void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                          boolean firstStep) {
    }

    @Override
    public void synchronize() {
    }

    @Override
    public void close() {
    }
}
