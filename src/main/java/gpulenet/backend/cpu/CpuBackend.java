package gpulenet.backend.cpu;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.HostScalars;
import gpulenet.backend.FreeMemory;
import gpulenet.backend.SizingBackend;
import gpulenet.backend.Tensor;

import java.util.Arrays;

/**
 * The pure-Java backend: the reference the CUDA backend is checked against, and the fallback where
 * there is no GPU. Work is split across a fixed pool of daemon threads created once and stopped by
 * {@link #close()}; buffers are kept per thread and reused, so a training step allocates no buffers
 * (only a few small objects per op: its task and, for convolution, its geometry).
 *
 * <p>Results are bit-identical for any thread count: parallel loops split over samples, planes,
 * output features or fixed-size chunks of the batch, every output element is summed by one task in
 * a fixed order, and per-chunk partial sums (convolution weight gradients) are added in chunk order.
 * The heavy loops are written so that the JIT turns them into SIMD code (see {@link Gemm}).
 *
 * <p>One caller thread at a time, like a device stream.
 */
public final class CpuBackend implements Backend {
    private final WorkerPool pool;
    /** Buffers private to each worker, indexed like the pool's workers. */
    private final Scratch[] scratch;
    /** Buffers written by all workers in one phase of an op and read in the next. */
    private final Scratch shared = new Scratch();
    /** The normalised value of each of the 256 pixel levels, rebuilt by every gather. */
    private final float[] pixelLevels = new float[256];

    /** A backend using every available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend splitting its work across {@code threads} threads (the calling thread is one of them). */
    public CpuBackend(int threads) {
        KernelInlining.adviseInBackground();
        this.pool = new WorkerPool(threads);
        this.scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            scratch[i] = new Scratch();
        }
    }

    /**
     * Starts what the first CPU backend would start anyway (see {@link KernelInlining}), ahead of it,
     * so that it can run alongside other start-up work such as loading data.
     */
    public static void prepare() {
        KernelInlining.adviseInBackground();
    }

    public int threads() {
        return pool.threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return "CPU, " + pool.threads() + (pool.threads() == 1 ? " thread" : " threads");
    }

    @Override
    public FreeMemory freeMemory() {
        return FreeMemory.ofJavaHeap();
    }

    /** What the ops' reusable buffers ({@link Scratch}) grow to for the recorded ops, on every worker. */
    @Override
    public long workspaceBytes(SizingBackend plan) {
        Scratch.Sizes perWorker = new Scratch.Sizes();
        Scratch.Sizes sharedSizes = new Scratch.Sizes();
        for (SizingBackend.Convolution c : plan.convolutions()) {
            Conv2d.workspace(c.x(), c.w(), c.pad(), perWorker, sharedSizes);
        }
        for (SizingBackend.LinearLayer l : plan.linears()) {
            Linear.workspace(l.x(), l.w(), pool.threads(), perWorker, sharedSizes);
        }
        return pool.threads() * perWorker.bytes() + sharedSizes.bytes();
    }

    /** Bytes the scratch matrices of every worker and the shared ones take now (what workspaceBytes predicts). */
    long scratchMatrixBytes() {
        long total = shared.matrixBytes();
        for (Scratch s : scratch) {
            total += s.matrixBytes();
        }
        return total;
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return CpuTensor.allocate(dtype, shape);
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        return cpu(base).view(offset, shape);
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        CpuTensor t = cpu(dst);
        requireLength(t, src.length);
        System.arraycopy(src, 0, t.floats(), t.offset(), src.length);
    }

    @Override
    public void upload(Tensor dst, int[] src) {
        CpuTensor t = cpu(dst);
        requireLength(t, src.length);
        System.arraycopy(src, 0, t.ints(), t.offset(), src.length);
    }

    @Override
    public void upload(Tensor dst, byte[] src) {
        CpuTensor t = cpu(dst);
        requireLength(t, src.length);
        System.arraycopy(src, 0, t.bytes(), t.offset(), src.length);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        CpuTensor t = cpu(src);
        requireLength(t, dst.length);
        System.arraycopy(t.floats(), t.offset(), dst, 0, dst.length);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        CpuTensor t = cpu(src);
        requireLength(t, dst.length);
        System.arraycopy(t.ints(), t.offset(), dst, 0, dst.length);
    }

    @Override
    public void zero(Tensor t) {
        CpuTensor c = cpu(t);
        switch (c.dtype()) {
            case F32: Arrays.fill(c.floats(), c.offset(), c.offset() + c.count(), 0f); break;
            case I32: Arrays.fill(c.ints(), c.offset(), c.offset() + c.count(), 0); break;
            default: Arrays.fill(c.bytes(), c.offset(), c.offset() + c.count(), (byte) 0); break;
        }
    }

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, int start, float mean, float std, Tensor x,
                            Tensor y) {
        Gather.batch(pool, pixelLevels, cpu(images), cpu(labels), cpu(order), start, mean, std, cpu(x), cpu(y));
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y) {
        requireConvShapes(x, w, b, pad, y);
        Conv2d.forward(pool, scratch, cpu(x), cpu(w), cpu(b), pad, relu, cpu(y));
    }

    @Override
    public void conv2dBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db) {
        requireConvShapes(x, w, db, pad, dy);
        requireSameShape(dw, w);
        if (dx != null) {
            requireSameShape(dx, x);
        }
        Conv2d.backward(pool, scratch, shared, cpu(x), cpu(w), cpu(dy), pad, dx == null ? null : cpu(dx), cpu(dw), cpu(db));
    }

    @Override
    public void maxPool2x2Forward(Tensor x, Tensor y, Tensor argmax) {
        requirePoolShapes(x, y, argmax);
        MaxPool2x2.forward(pool, cpu(x), cpu(y), cpu(argmax));
    }

    @Override
    public void maxPool2x2Backward(Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, Tensor dx) {
        requirePoolShapes(dx, y, argmax);
        requireSameShape(dy, y);
        MaxPool2x2.backward(pool, cpu(dy), cpu(y), cpu(argmax), reluBefore, cpu(dx));
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, boolean relu, Tensor y) {
        requireLinearShapes(x, w, b, y);
        Linear.forward(pool, scratch, shared, cpu(x), cpu(w), cpu(b), relu, cpu(y));
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, boolean reluOnInput, Tensor dx, Tensor dw, Tensor db) {
        requireLinearShapes(x, w, db, dy);
        requireSameShape(dw, w);
        if (dx != null) {
            requireSameShape(dx, x);
        }
        Linear.backward(pool, scratch, shared, cpu(x), cpu(w), cpu(dy), reluOnInput, dx == null ? null : cpu(dx),
                cpu(dw), cpu(db));
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        if (logits.rank() != 2) {
            throw new IllegalArgumentException("logits must be [B,K], got " + logits);
        }
        requireShape(labels, logits.dim(0));
        requireShape(stats, 2);
        if (dlogits != null) {
            requireSameShape(dlogits, logits);
        }
        SoftmaxCrossEntropy.apply(cpu(logits), cpu(labels), dlogits == null ? null : cpu(dlogits), cpu(stats));
    }

    @Override
    public void reluForward(Tensor x, Tensor y) {
        requireSameShape(y, x);
        Relu.forward(pool, cpu(x), cpu(y));
    }

    @Override
    public void reluBackward(Tensor dy, Tensor y, Tensor dx) {
        requireSameShape(y, dy);
        requireSameShape(dx, dy);
        Relu.backward(pool, cpu(dy), cpu(y), cpu(dx));
    }

    @Override
    public void dropout2dMask(Tensor mask, long seed, long step, float p) {
        if (mask.rank() != 2) {
            throw new IllegalArgumentException("dropout mask must be [B,C], got " + mask);
        }
        Dropout2d.mask(cpu(mask), seed, step, p);
    }

    @Override
    public void dropout2dForward(Tensor x, Tensor mask, Tensor y) {
        requireDropoutShapes(x, mask, y);
        Dropout2d.apply(pool, cpu(x), cpu(mask), cpu(y));
    }

    @Override
    public void dropout2dBackward(Tensor dy, Tensor mask, Tensor dx) {
        requireDropoutShapes(dy, mask, dx);
        Dropout2d.apply(pool, cpu(dy), cpu(mask), cpu(dx));
    }

    @Override
    public void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                          boolean firstStep) {
        if (grads.size() != params.size() || momentumBuf.size() != params.size()) {
            throw new IllegalArgumentException("SGD buffers differ in size: " + params + ", " + grads + ", " + momentumBuf);
        }
        MomentumSgd.update(pool, cpu(params), cpu(grads), cpu(momentumBuf), lr, momentum, weightDecay, firstStep);
    }

    @Override
    public void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, HostScalars.Adam scalars) {
        if (grads.size() != params.size() || expAvg.size() != params.size() || expAvgSq.size() != params.size()) {
            throw new IllegalArgumentException("Adam buffers differ in size: " + params + ", " + grads + ", " + expAvg
                    + ", " + expAvgSq);
        }
        Adam.update(pool, cpu(params), cpu(grads), cpu(expAvg), cpu(expAvgSq), scalars);
    }

    @Override
    public void synchronize() {
    }

    @Override
    public void close() {
        pool.close();
    }

    private static CpuTensor cpu(Tensor t) {
        if (!(t instanceof CpuTensor)) {
            throw new IllegalArgumentException("tensor " + t + " does not belong to the CPU backend");
        }
        return (CpuTensor) t;
    }

    private static void requireLength(CpuTensor t, int length) {
        if (t.size() != length) {
            throw new IllegalArgumentException("tensor " + t + " holds " + t.size() + " elements, array has " + length);
        }
    }

    private static void requireShape(Tensor t, int... shape) {
        if (t.rank() != shape.length) {
            throw new IllegalArgumentException("expected shape " + Arrays.toString(shape) + ", got " + t);
        }
        for (int i = 0; i < shape.length; i++) {
            if (t.dim(i) != shape[i]) {
                throw new IllegalArgumentException("expected shape " + Arrays.toString(shape) + ", got " + t);
            }
        }
    }

    private static void requireSameShape(Tensor t, Tensor like) {
        boolean same = t.rank() == like.rank();
        for (int i = 0; same && i < t.rank(); i++) {
            same = t.dim(i) == like.dim(i);
        }
        if (!same) {
            throw new IllegalArgumentException("expected shape " + Arrays.toString(like.shape()) + ", got " + t);
        }
    }

    private static void requireConvShapes(Tensor x, Tensor w, Tensor b, int pad, Tensor y) {
        if (x.rank() != 4 || w.rank() != 4 || w.dim(1) != x.dim(1) || w.dim(2) != w.dim(3)) {
            throw new IllegalArgumentException("conv needs x [B,C,H,W] and w [K,C,R,R], got " + x + " and " + w);
        }
        int oh = x.dim(2) + 2 * pad - w.dim(2) + 1;
        int ow = x.dim(3) + 2 * pad - w.dim(2) + 1;
        if (pad < 0 || oh < 1 || ow < 1) {
            throw new IllegalArgumentException("conv padding " + pad + " does not fit " + x + " and " + w);
        }
        requireShape(b, w.dim(0));
        requireShape(y, x.dim(0), w.dim(0), oh, ow);
    }

    private static void requirePoolShapes(Tensor x, Tensor y, Tensor argmax) {
        if (x.rank() != 4 || x.dim(2) < 2 || x.dim(3) < 2) {
            throw new IllegalArgumentException("max-pool input must be [B,C,H,W] with H and W at least 2, got " + x);
        }
        requireShape(y, x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2);
        requireSameShape(argmax, y);
        if (argmax.dtype() != DType.I32) {
            throw new IllegalArgumentException("argmax must be I32, got " + argmax);
        }
    }

    private static void requireDropoutShapes(Tensor x, Tensor mask, Tensor y) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("Dropout2d input must be [B,C,H,W], got " + x);
        }
        requireShape(mask, x.dim(0), x.dim(1));
        requireSameShape(y, x);
    }

    private static void requireLinearShapes(Tensor x, Tensor w, Tensor b, Tensor y) {
        if (x.rank() != 2 || w.rank() != 2 || x.dim(1) != w.dim(1)) {
            throw new IllegalArgumentException("linear needs x [B,IN] and w [OUT,IN], got " + x + " and " + w);
        }
        requireShape(b, w.dim(0));
        requireShape(y, x.dim(0), w.dim(0));
    }
}
