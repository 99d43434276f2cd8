package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.backend.BatchSource;
import gpulenet.backend.CaptureFailedException;
import gpulenet.backend.DType;
import gpulenet.backend.FreeMemory;
import gpulenet.backend.HeadLayer;
import gpulenet.backend.HostScalars;
import gpulenet.backend.Replay;
import gpulenet.backend.SizingBackend;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.io.InputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@link Backend} on a CUDA device, written against {@link CudaDriver}: tensors are device memory,
 * every op is one or a few kernel launches (through the {@link Kernel} table, with the launch
 * configurations the kernels' comments give) or a GEMM, queued without waiting; only downloads and
 * {@link #synchronize} wait for the device. Device memory is allocated only by {@link #allocate}: by
 * callers, and once here, when the backend opens, for the chunked convolution weight gradient's partial
 * sums (66 KiB).
 *
 * <p>Linear layers are row-major GEMMs. With cuBLAS (column-major) no transposing copy is needed: a
 * row-major matrix is the column-major view of its transpose, so row-major C = op(A) op(B) is
 * column-major C^T = op(B)^T op(A)^T, i.e. cublasSgemm with the operands swapped, M and N swapped and
 * the same transpose flags and leading dimensions (see {@link #gemmRowMajor}).
 *
 * <p>With {@link ConvChoice#CUDNN} the convolutions, max-pools and ReLUs run through cuDNN instead
 * ({@link CudnnOps}), on the same stream and in the same graphs, and the fusions of those ops with each other
 * and with the gather are declined (the Backend defaults run the plain ops in turn); the pool's argmax is
 * then not written, since cuDNN's pooling backward reads the pool's input instead.
 */
public final class CudaBackend implements Backend {

    /** Threads per block of the 1-D kernels (kernels' launch comments). */
    private static final int BLOCK = 256;
    /** Conv forward and backward-to-input: 16x16 output pixels and CONV_CPB channels per block (conv.cu). */
    private static final int CONV_TILE = 16;
    private static final int CONV_CPB = 4;
    private static final int CONV_MAX_R = 16;
    private static final int GEMM_TILE = 16;
    /**
     * The fused head (head.cu) runs while batch * (multiply-adds of one sample's forward pass) is at most
     * this: every block does the whole head for its samples, so the work per block grows with the batch
     * while the many-block GEMMs of the unfused ops do not. LeNet-5's head at batch 64 is 3.8 million.
     */
    static final long HEAD_FUSE_MACS = 8_000_000L;
    private static final int HEAD_MAX_LAYERS = 3;
    /** Blocks of the fused head: at most this many, of at least HEAD_MIN_GROUP samples each. */
    private static final int HEAD_MAX_GROUPS = 16;
    private static final int HEAD_MIN_GROUP = 4;
    /**
     * Blocks a convolution's weight gradient aims for: a small layer (conv1: 6 x 1 x (5+1) = 36 blocks of
     * (k, c, filter row)) splits its batch into chunks until about this many blocks run.
     */
    private static final int CONV_WEIGHT_BLOCKS = 512;

    private final CudaDriver driver;
    /** The argument blocks of the launch sites, each prepared once (see {@link LaunchSites}). */
    private final LaunchSites sites;
    private final boolean useCublas;
    private final String gemmDescription;
    private final List<DevicePtr> allocations = new ArrayList<>();
    private final List<CudaGraph> graphs = new ArrayList<>();
    /**
     * The chunked weight gradient's partial sums and tallies, shared by every convolution (launches run in
     * order and leave the tallies at zero): fewer than 2 * CONV_WEIGHT_BLOCKS (k, c, r, chunk) blocks of at
     * most CONV_MAX_R sums, and fewer than CONV_WEIGHT_BLOCKS tallies.
     */
    private final DevicePtr weightPartials;
    private final DevicePtr weightTallies;
    /** The convolutions, pools and ReLUs through cuDNN, or null for the kernels. */
    private final CudnnOps cudnn;
    private boolean closed;

    /**
     * Opens the first CUDA device through JCuda, or throws {@link CudaUnavailableException} with the
     * one-line reason why CUDA cannot be used on this host (no driver library, no device, cuInit failed,
     * PTX failed to load). With {@link GemmChoice#CUBLAS} where cuBLAS does not load, throws a plain
     * {@link InputException} instead: the user asked for something this host lacks.
     */
    public static CudaBackend open(GemmChoice gemm) throws CudaUnavailableException {
        return open(gemm, ConvChoice.KERNELS);
    }

    /**
     * {@link #open(GemmChoice)} with the convolutions on {@code conv}; with {@link ConvChoice#CUDNN} where cuDNN
     * cannot be used, throws a plain {@link InputException} naming what to install or set.
     */
    public static CudaBackend open(GemmChoice gemm, ConvChoice conv) throws CudaUnavailableException {
        CudaDriver driver = JCudaDriver.open(Kernel.values());
        try {
            return new CudaBackend(driver, gemm, conv);
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
    }

    /** A backend on {@code driver}, which it owns and closes. */
    public CudaBackend(CudaDriver driver, GemmChoice gemm) {
        this(driver, gemm, ConvChoice.KERNELS);
    }

    /** A backend on {@code driver}, which it owns and closes, with the convolutions on {@code conv}. */
    public CudaBackend(CudaDriver driver, GemmChoice gemm, ConvChoice conv) {
        this.driver = driver;
        if (conv == ConvChoice.CUDNN) {
            try {
                this.cudnn = new CudnnOps(driver.cudnn(), t -> ptr(t, DType.F32),
                        bytes -> ptr(allocate(DType.U8, Math.toIntExact(bytes)), DType.U8));
            } catch (CudnnUnavailableException e) {
                // like --gemm cublas: the user asked for something this host lacks; --device auto must not fall back
                throw new InputException("--conv cudnn: cuDNN is not usable: " + e.getMessage());
            }
        } else {
            this.cudnn = null;
        }
        this.sites = new LaunchSites(driver);
        this.weightPartials = ptr(allocate(DType.F32, 2 * CONV_WEIGHT_BLOCKS * CONV_MAX_R), DType.F32);
        this.weightTallies = ptr(allocate(DType.I32, CONV_WEIGHT_BLOCKS), DType.I32);
        Optional<String> noCublas = gemm == GemmChoice.KERNEL ? Optional.empty() : driver.gemmUnavailableReason();
        switch (gemm) {
            case CUBLAS -> {
                if (noCublas.isPresent()) {
                    // not a CudaUnavailableException: --device auto must not fall back to the CPU over it
                    throw new InputException("--gemm cublas: cuBLAS is not usable: " + noCublas.get());
                }
                useCublas = true;
                gemmDescription = "GEMM: cuBLAS";
            }
            case KERNEL -> {
                useCublas = false;
                gemmDescription = "GEMM: sgemm kernel (forced)";
            }
            default -> {
                useCublas = noCublas.isEmpty();
                gemmDescription = useCublas ? "GEMM: cuBLAS" : "GEMM: sgemm kernel (cuBLAS unavailable: " + noCublas.get() + ")";
            }
        }
    }

    /** True when the linear layers run on cuBLAS, false for the sgemm kernel. */
    public boolean usesCublas() {
        return useCublas;
    }

    /** Which GEMM the linear layers use and, when it is the sgemm kernel, why (e.g. "GEMM: cuBLAS"). */
    public String gemmDescription() {
        return gemmDescription;
    }

    public DeviceInfo deviceInfo() {
        return driver.info();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String describe() {
        return "cuda: " + driver.info() + ", " + gemmDescription + (cudnn == null ? "" : ", " + convDescription());
    }

    /** What runs the convolutions, pools and ReLUs: "conv: kernels" or "conv: cuDNN 9.5.0 (...)". */
    public String convDescription() {
        return "conv: " + (cudnn == null ? "kernels" : cudnn.describe());
    }

    /** The cuDNN algorithms chosen so far, one line per convolution shape; empty with the kernels. */
    public List<String> cudnnAlgorithms() {
        return cudnn == null ? List.of() : cudnn.algorithms();
    }

    @Override
    public void prepareConvolution(int[] x, int[] w, int pad) {
        if (cudnn != null) {
            cudnn.prepare(x, w, pad);
        }
    }

    // ---- memory ----

    @Override
    public FreeMemory freeMemory() {
        return new FreeMemory(driver.memGetInfo(), false, "GPU memory on " + driver.info().name());
    }

    /**
     * Nothing beyond the tensors: the kernels' one buffer of their own (the weight gradients' partial sums) is
     * allocated when the backend opens, before free memory is measured (cuBLAS's workspace is its own).
     */
    @Override
    public long workspaceBytes(SizingBackend plan) {
        return 0;
    }

    /** A convolution launches one grid z-slice per sample. */
    @Override
    public int maxBatch() {
        return LaunchConfig.MAX_GRID_YZ;
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        long bytes = Math.max(1, elements(shape) * dtype.bytes);
        DevicePtr ptr = driver.alloc(bytes);
        allocations.add(ptr);
        driver.memset(ptr, (byte) 0, bytes);
        return new CudaTensor(dtype, shape, ptr);
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        CudaTensor b = cuda(base);
        if (offset < 0 || offset + elements(shape) > b.size()) {
            throw new IllegalArgumentException("view " + Arrays.toString(shape) + " at offset " + offset
                    + " does not fit in " + base);
        }
        return new CudaTensor(b.dtype(), shape, b.ptr.withByteOffset(offset * b.dtype().bytes));
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        driver.copyToDevice(checked(dst, DType.F32, src.length).ptr, src, 0, src.length);
    }

    @Override
    public void upload(Tensor dst, int[] src) {
        driver.copyToDevice(checked(dst, DType.I32, src.length).ptr, src, 0, src.length);
    }

    @Override
    public void upload(Tensor dst, byte[] src) {
        driver.copyToDevice(checked(dst, DType.U8, src.length).ptr, src, 0, src.length);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        driver.copyToHost(checked(src, DType.F32, dst.length).ptr, dst, 0, dst.length);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        driver.copyToHost(checked(src, DType.I32, dst.length).ptr, dst, 0, dst.length);
    }

    @Override
    public void zero(Tensor t) {
        CudaTensor c = cuda(t);
        driver.memset(c.ptr, (byte) 0, c.size() * c.dtype().bytes);
    }

    // ---- ops ----

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, int start, float mean, float std, Tensor x, Tensor y) {
        gather(images, labels, order, null, start, 0, mean, std, x, y);
    }

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor counters, int stride, float mean,
                            float std, Tensor x, Tensor y) {
        gather(images, labels, order, counters, 0, stride, mean, std, x, y);
    }

    /** First sample start + (counters == null ? 0 : counters[0] * stride), the counter read by the kernel. */
    private void gather(Tensor images, Tensor labels, Tensor order, Tensor counters, int start, int stride, float mean,
                        float std, Tensor x, Tensor y) {
        int batch = x.dim(0);
        int hw = images.dim(1) * images.dim(2);
        if (x.size() != (long) batch * hw || y.size() != batch || start < 0 || start + batch > order.size()) {
            throw new IllegalArgumentException("gatherBatch: x " + x + ", y " + y + ", images " + images
                    + ", order " + order + ", start " + start);
        }
        // one thread per output pixel
        launch(Kernel.GATHER_NORMALIZE, LaunchConfig.cover((long) batch * hw, BLOCK),
                ptr(images, DType.U8), ptr(labels, DType.U8), ptr(order, DType.I32), counters(counters), start, stride,
                batch, hw, mean, std, ptr(x, DType.F32), ptr(y, DType.I32));
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y) {
        if (cudnn != null) {
            ConvShape.of(x, w, pad).checkOutput(y);
            cudnn.convForward(x, w, b, pad, relu, y);
            return;
        }
        convForward(x, w, b, pad, relu, y, null, null);
    }

    /** One launch: the pool is computed from the convolution's output tiles in shared memory. */
    @Override
    public void conv2dPoolForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y, Tensor pooled,
                                  Tensor argmax) {
        if (cudnn != null) {
            Backend.super.conv2dPoolForward(x, w, b, pad, relu, y, pooled, argmax);
            return;
        }
        poolDims(y, pooled);
        sameShape(argmax, pooled);
        convForward(x, w, b, pad, relu, y, pooled, argmax);
    }

    /** One launch: the convolution loads its input tiles from the data set and writes them to x. */
    @Override
    public void gatherConv2dForward(BatchSource source, Tensor x, Tensor labels, Tensor w, Tensor b, int pad,
                                    boolean relu, Tensor y, Tensor pooled, Tensor argmax) {
        if (cudnn != null) {
            Backend.super.gatherConv2dForward(source, x, labels, w, b, pad, relu, y, pooled, argmax);
            return;
        }
        ConvShape s = ConvShape.of(x, w, pad);
        s.checkOutput(y);
        int hw = source.images().dim(1) * source.images().dim(2);
        if (s.c != 1 || s.h * s.w != hw || labels.size() != s.b || source.stride() < 0) {
            throw new IllegalArgumentException("gathered conv2d: x " + x + ", images " + source.images() + ", labels "
                    + labels);
        }
        if (pooled != null) {
            poolDims(y, pooled);
            sameShape(argmax, pooled);
        }
        launch(Kernel.CONV2D_FORWARD_GATHER, convTiles(s.oh, s.ow, s.k, s.b),
                ptr(source.images(), DType.U8), ptr(source.labels(), DType.U8), ptr(source.order(), DType.I32),
                counters(source.counters()), 0, source.stride(), source.mean(), source.std(), ptr(x, DType.F32),
                ptr(labels, DType.I32), ptr(w, DType.F32), ptr(b, DType.F32), ptr(y, DType.F32),
                pooled == null ? DevicePtr.NULL : ptr(pooled, DType.F32),
                argmax == null ? DevicePtr.NULL : ptr(argmax, DType.I32), s.b, s.h, s.w, s.k, s.r, s.pad, flag(relu));
    }

    private void convForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y, Tensor pooled, Tensor argmax) {
        ConvShape s = ConvShape.of(x, w, pad);
        s.checkOutput(y);
        launch(Kernel.CONV2D_FORWARD, convTiles(s.oh, s.ow, s.k, s.b),
                ptr(x, DType.F32), ptr(w, DType.F32), ptr(b, DType.F32), ptr(y, DType.F32),
                pooled == null ? DevicePtr.NULL : ptr(pooled, DType.F32),
                argmax == null ? DevicePtr.NULL : ptr(argmax, DType.I32),
                s.b, s.c, s.h, s.w, s.k, s.r, s.pad, flag(relu));
    }

    @Override
    public void conv2dBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db) {
        ConvShape s = ConvShape.of(x, w, pad);
        s.checkOutput(dy);
        if (cudnn != null) {
            if (dx != null) {
                sameShape(dx, x);
            }
            sameShape(dw, w);
            cudnn.convBackward(x, w, dy, pad, dx, dw, db);
            return;
        }
        convBackward(s, x, w, dy, null, null, false, dx, dw, db);
    }

    /** The two backward kernels read the convolution's output gradient through the pool: dy is not written. */
    @Override
    public void conv2dPoolBackward(Tensor x, Tensor w, Tensor dPooled, Tensor pooled, Tensor argmax, boolean reluBefore,
                                   int pad, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        if (cudnn != null) {
            Backend.super.conv2dPoolBackward(x, w, dPooled, pooled, argmax, reluBefore, pad, dy, dx, dw, db);
            return;
        }
        ConvShape s = ConvShape.of(x, w, pad);
        s.checkOutput(dy);
        poolDims(dy, dPooled);
        sameShape(pooled, dPooled);
        sameShape(argmax, dPooled);
        convBackward(s, x, w, dPooled, pooled, argmax, reluBefore, dx, dw, db);
    }

    /**
     * One launch: the input gradient's blocks (when dx is wanted) and the weight gradient's blocks in one
     * grid. With pooled (and argmax), g is the pool's output gradient, read through the pool; else the conv
     * output's.
     */
    private void convBackward(ConvShape s, Tensor x, Tensor w, Tensor g, Tensor pooled, Tensor argmax,
                              boolean reluBefore, Tensor dx, Tensor dw, Tensor db) {
        if (dx != null) {
            sameShape(dx, x);
        }
        sameShape(dw, w);
        if (db.size() != s.k) {
            throw new IllegalArgumentException("conv2d bias gradient " + db + " should have " + s.k + " elements");
        }
        // the input gradient: tiles of 16x16 pixels x CONV_CPB channels per image; the weight gradient: one
        // block per (k*C + c, filter row r, or R for the bias) per chunk of the batch
        long inputBlocks = dx == null ? 0 : (long) LaunchConfig.blocks(s.w, CONV_TILE) * LaunchConfig.blocks(s.h, CONV_TILE)
                * LaunchConfig.blocks(s.c, CONV_CPB) * s.b;
        int groups = s.k * s.c * (s.r + 1);
        int chunks = Math.min(s.b, Math.max(1, (CONV_WEIGHT_BLOCKS + groups - 1) / groups));
        long blocks = inputBlocks + (long) groups * chunks;
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("conv2d backward of " + x + " needs " + blocks + " blocks");
        }
        launch(Kernel.CONV2D_BACKWARD, new LaunchConfig((int) blocks, 1, 1, BLOCK, 1, 1, 0),
                ptr(x, DType.F32), ptr(g, DType.F32), pooled == null ? DevicePtr.NULL : ptr(pooled, DType.F32),
                argmax == null ? DevicePtr.NULL : ptr(argmax, DType.I32), flag(reluBefore), ptr(w, DType.F32),
                dx == null ? DevicePtr.NULL : ptr(dx, DType.F32), ptr(dw, DType.F32), ptr(db, DType.F32),
                chunks == 1 ? DevicePtr.NULL : weightPartials, chunks == 1 ? DevicePtr.NULL : weightTallies, chunks,
                s.b, s.c, s.h, s.w, s.k, s.r, s.pad);
    }

    @Override
    public void maxPool2x2Forward(Tensor x, Tensor y, Tensor argmax) {
        int[] d = poolDims(x, y);
        sameShape(argmax, y);
        if (cudnn != null) {
            cudnn.maxPoolForward(x, y);
            return;
        }
        launch(Kernel.MAXPOOL2X2_FORWARD, LaunchConfig.cover(y.size(), BLOCK),
                ptr(x, DType.F32), ptr(y, DType.F32), ptr(argmax, DType.I32), d[0], d[1], d[2], d[3]);
    }

    @Override
    public void maxPool2x2Backward(Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, Tensor dx) {
        int[] d = poolDims(dx, dy);
        sameShape(y, dy);
        sameShape(argmax, dy);
        if (cudnn != null) {
            cudnn.maxPoolBackward(dy, y, reluBefore, dx);
            return;
        }
        // one thread per element of dx
        launch(Kernel.MAXPOOL2X2_BACKWARD, LaunchConfig.cover(dx.size(), BLOCK),
                ptr(dy, DType.F32), ptr(y, DType.F32), ptr(argmax, DType.I32), ptr(dx, DType.F32),
                d[0], d[1], d[2], d[3], flag(reluBefore));
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, boolean relu, Tensor y) {
        int batch = x.dim(0);
        int in = w.dim(1);
        int out = w.dim(0);
        checkLinear(x, w, b, y, batch, in, out);
        gemmRowMajor(false, true, batch, out, in, x, in, w, in, y, out);
        launch(Kernel.BIAS_FORWARD, LaunchConfig.cover((long) batch * out, BLOCK),
                ptr(y, DType.F32), ptr(b, DType.F32), batch, out, flag(relu));
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, boolean reluOnInput, Tensor dx, Tensor dw, Tensor db) {
        int batch = x.dim(0);
        int in = w.dim(1);
        int out = w.dim(0);
        checkLinear(x, w, db, dy, batch, in, out);
        sameShape(dw, w);
        gemmRowMajor(true, false, out, in, batch, dy, out, x, in, dw, in);
        // one block per column
        launch(Kernel.BIAS_BACKWARD, new LaunchConfig(out, 1, 1, BLOCK, 1, 1, 0), ptr(dy, DType.F32), ptr(db, DType.F32), batch, out);
        if (dx != null) {
            sameShape(dx, x);
            gemmRowMajor(false, false, batch, in, out, dy, out, w, in, dx, in);
            if (reluOnInput) {
                reluBackward(dx, x, dx);
            }
        }
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        int batch = logits.dim(0);
        int classes = logits.dim(1);
        if (labels.size() != batch || stats.size() != 2) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits " + logits + ", labels " + labels + ", stats " + stats);
        }
        if (dlogits != null) {
            sameShape(dlogits, logits);
        }
        // one block: the loss and correct-count reduction is in a fixed order, hence deterministic
        launch(Kernel.SOFTMAX_CROSS_ENTROPY, new LaunchConfig(1, 1, 1, BLOCK, 1, 1, 0),
                ptr(logits, DType.F32), ptr(labels, DType.I32), dlogits == null ? DevicePtr.NULL : ptr(dlogits, DType.F32),
                ptr(stats, DType.F32), batch, classes);
    }

    /** Partial weight gradients of up to HEAD_MAX_GROUPS blocks, then the per-sample loss rows. */
    @Override
    public long linearHeadWorkspace(int maxBatch, int[] in, int[] out) {
        if (!headFuses(maxBatch, in, out)) {
            return 0;
        }
        return HEAD_MAX_GROUPS * headParameters(in, out) + 2L * maxBatch;
    }

    private static boolean headFuses(int batch, int[] in, int[] out) {
        long macs = 0;
        for (int l = 0; l < in.length; l++) {
            macs += (long) in[l] * out[l];
        }
        return in.length >= 1 && in.length <= HEAD_MAX_LAYERS && (long) batch * macs <= HEAD_FUSE_MACS;
    }

    private static long headParameters(int[] in, int[] out) {
        long n = 0;
        for (int l = 0; l < in.length; l++) {
            n += (long) out[l] * in[l] + out[l];
        }
        return n;
    }

    /**
     * Two launches where the head is small enough ({@link #HEAD_FUSE_MACS}) and its weights and gradients lie
     * in order in one buffer each (the flat parameter buffers): linear_head_step, one block per group of
     * samples, and head_reduce, which adds the blocks' weight gradients and the loss rows in a fixed order.
     * Otherwise the ops one by one.
     */
    @Override
    public void linearHeadStep(Tensor x0, boolean x0IsReluOutput, Tensor dx0, List<HeadLayer> layers, Tensor labels,
                               Tensor stats, Tensor workspace) {
        int batch = x0.dim(0);
        int n = layers.size();
        int[] in = new int[n];
        int[] out = new int[n];
        for (int l = 0; l < n; l++) {
            in[l] = layers.get(l).w().dim(1);
            out[l] = layers.get(l).w().dim(0);
        }
        long parameters = headParameters(in, out);
        if (workspace == null || !headFuses(batch, in, out)
                || workspace.size() < HEAD_MAX_GROUPS * parameters + 2L * batch
                || !inOrder(layers, HeadLayer::w, HeadLayer::b) || !inOrder(layers, HeadLayer::dw, HeadLayer::db)) {
            Backend.super.linearHeadStep(x0, x0IsReluOutput, dx0, layers, labels, stats, workspace);
            return;
        }
        if (x0.rank() != 2 || x0.dim(1) != in[0] || labels.size() != batch || stats.size() != 2
                || (dx0 != null && !Arrays.equals(dx0.shape(), x0.shape()))) {
            throw new IllegalArgumentException("linear head: x0 " + x0 + ", dx0 " + dx0 + ", labels " + labels);
        }
        int group = Math.max(HEAD_MIN_GROUP, (batch + HEAD_MAX_GROUPS - 1) / HEAD_MAX_GROUPS);
        int groups = (batch + group - 1) / group;
        DevicePtr partials = ptr(workspace, DType.F32);
        DevicePtr rows = partials.withByteOffset(HEAD_MAX_GROUPS * parameters * Float.BYTES);
        Object[] args = new Object[Kernel.LINEAR_HEAD_STEP.params().size()];
        int a = 0;
        args[a++] = ptr(x0, DType.F32);
        args[a++] = in[0];
        args[a++] = flag(x0IsReluOutput);
        args[a++] = dx0 == null ? DevicePtr.NULL : ptr(dx0, DType.F32);
        DevicePtr base = ptr(layers.get(0).w(), DType.F32);
        args[a++] = base;
        args[a++] = partials;
        args[a++] = 0;
        args[a++] = (int) parameters;
        args[a++] = n;
        int offset = 0;
        for (int l = 0; l < HEAD_MAX_LAYERS; l++) {
            HeadLayer layer = l < n ? layers.get(l) : null;
            if (layer != null && (!Arrays.equals(layer.y().shape(), new int[] {batch, out[l]})
                    || !Arrays.equals(layer.g().shape(), layer.y().shape()))) {
                throw new IllegalArgumentException("linear head layer " + l + ": y " + layer.y() + ", g " + layer.g()
                        + " should be [" + batch + ", " + out[l] + "]");
            }
            args[a++] = layer == null ? 0 : offset;
            args[a++] = layer == null ? 0 : offset + out[l] * in[l];
            args[a++] = layer == null ? 0 : out[l];
            args[a++] = layer == null ? 0 : flag(layer.relu());
            args[a++] = layer == null ? DevicePtr.NULL : ptr(layer.y(), DType.F32);
            args[a++] = layer == null ? DevicePtr.NULL : ptr(layer.g(), DType.F32);
            offset += layer == null ? 0 : out[l] * in[l] + out[l];
        }
        args[a++] = ptr(labels, DType.I32);
        args[a++] = batch;
        args[a++] = group;
        args[a] = rows;
        launch(Kernel.LINEAR_HEAD_STEP, new LaunchConfig(groups, 1, 1, BLOCK, 1, 1, 0), args);
        launch(Kernel.HEAD_REDUCE, LaunchConfig.cover(parameters, BLOCK), partials, groups, (int) parameters,
                ptr(layers.get(0).dw(), DType.F32), rows, batch, ptr(stats, DType.F32));
    }

    /** True when each layer's {@code first} and {@code second} tensors follow each other in one allocation, layer after layer. */
    private static boolean inOrder(List<HeadLayer> layers, Function<HeadLayer, Tensor> first,
                                   Function<HeadLayer, Tensor> second) {
        DevicePtr start = cuda(first.apply(layers.get(0))).ptr;
        long next = start.byteOffset();
        for (HeadLayer l : layers) {
            for (Tensor t : List.of(first.apply(l), second.apply(l))) {
                DevicePtr p = cuda(t).ptr;
                if (p.allocation() != start.allocation() || p.byteOffset() != next) {
                    return false;
                }
                next += t.size() * Float.BYTES;
            }
        }
        return true;
    }

    @Override
    public void reluForward(Tensor x, Tensor y) {
        sameShape(y, x);
        if (cudnn != null) {
            cudnn.reluForward(x, y);
            return;
        }
        launch(Kernel.RELU_FORWARD, LaunchConfig.cover(x.size(), BLOCK), ptr(x, DType.F32), ptr(y, DType.F32),
                (int) x.size());
    }

    @Override
    public void reluBackward(Tensor dy, Tensor y, Tensor dx) {
        sameShape(y, dy);
        sameShape(dx, dy);
        if (cudnn != null) {
            cudnn.reluBackward(dy, y, dx);
            return;
        }
        launch(Kernel.RELU_BACKWARD, LaunchConfig.cover(dy.size(), BLOCK), ptr(dy, DType.F32), ptr(y, DType.F32),
                ptr(dx, DType.F32), (int) dy.size());
    }

    @Override
    public void dropout2dMask(Tensor mask, long seed, long step, float p) {
        dropoutMask(mask, seed, null, step, p);
    }

    @Override
    public void dropout2dMask(Tensor mask, long seed, Tensor counters, float p) {
        dropoutMask(mask, seed, counters, 0, p);
    }

    /** The mask of step {@code step} + (counters == null ? 0 : counters[1]), the counter read by the kernel. */
    private void dropoutMask(Tensor mask, long seed, Tensor counters, long step, float p) {
        if (mask.rank() != 2) {
            throw new IllegalArgumentException("dropout mask must be [B,C], got " + mask);
        }
        float scale = HostScalars.dropoutScale(p);
        launch(Kernel.DROPOUT2D_MASK, LaunchConfig.cover(mask.size(), BLOCK), ptr(mask, DType.F32), mask.dim(0),
                mask.dim(1), seed, counters(counters), step, p, scale);
    }

    @Override
    public void dropout2dForward(Tensor x, Tensor mask, Tensor y) {
        dropout2dApply(x, mask, y);
    }

    @Override
    public void dropout2dBackward(Tensor dy, Tensor mask, Tensor dx) {
        dropout2dApply(dy, mask, dx);
    }

    /** y[n,c,:,:] = x[n,c,:,:] * mask[n,c]: Dropout2d's forward and its backward are the same product. */
    private void dropout2dApply(Tensor x, Tensor mask, Tensor y) {
        if (x.rank() != 4 || !Arrays.equals(mask.shape(), new int[] {x.dim(0), x.dim(1)})) {
            throw new IllegalArgumentException("Dropout2d needs x [B,C,H,W] and mask [B,C], got " + x + " and " + mask);
        }
        sameShape(y, x);
        launch(Kernel.DROPOUT2D_APPLY, LaunchConfig.cover(x.size(), BLOCK), ptr(x, DType.F32), ptr(mask, DType.F32),
                ptr(y, DType.F32), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3));
    }

    @Override
    public void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                          boolean firstStep) {
        sgd(params, grads, momentumBuf, null, null, lr, momentum, weightDecay, firstStep);
    }

    @Override
    public void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, Tensor schedule, Tensor counters,
                          float momentum, float weightDecay) {
        sgd(params, grads, momentumBuf, schedule(schedule), counters, 0f, momentum, weightDecay, false);
    }

    /**
     * With counters, the kernel takes lr and the first-step flag from the schedule and the counters instead,
     * and its last block advances the counters.
     */
    private void sgd(Tensor params, Tensor grads, Tensor momentumBuf, Tensor schedule, Tensor counters, float lr,
                     float momentum, float weightDecay, boolean firstStep) {
        sameShape(grads, params);
        sameShape(momentumBuf, params);
        launch(Kernel.SGD_MOMENTUM, LaunchConfig.cover(params.size(), BLOCK),
                ptr(params, DType.F32), ptr(grads, DType.F32), ptr(momentumBuf, DType.F32), (int) params.size(),
                schedule == null ? DevicePtr.NULL : ptr(schedule, DType.F32), counters(counters), lr, momentum,
                weightDecay, flag(firstStep));
    }

    @Override
    public void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, HostScalars.Adam scalars) {
        adam(params, grads, expAvg, expAvgSq, null, null, scalars);
    }

    @Override
    public void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, Tensor schedule,
                           Tensor counters, float beta1, float beta2, float eps, float weightDecay) {
        adam(params, grads, expAvg, expAvgSq, schedule(schedule), counters,
                HostScalars.Adam.of(1f, beta1, beta2, eps, weightDecay, 1));
    }

    /**
     * With counters, the kernel takes the step size and sqrt(bias correction 2) from the schedule instead, and
     * its last block advances the counters.
     */
    private void adam(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, Tensor schedule, Tensor counters,
                      HostScalars.Adam s) {
        sameShape(grads, params);
        sameShape(expAvg, params);
        sameShape(expAvgSq, params);
        launch(Kernel.ADAM_UPDATE, LaunchConfig.cover(params.size(), BLOCK),
                ptr(params, DType.F32), ptr(grads, DType.F32), ptr(expAvg, DType.F32), ptr(expAvgSq, DType.F32),
                (int) params.size(), schedule == null ? DevicePtr.NULL : ptr(schedule, DType.F32), counters(counters),
                s.beta1(), s.oneMinusBeta1(), s.beta2(), s.oneMinusBeta2(), s.sqrtBiasCorrection2(), s.eps(),
                s.negStepSize(), s.weightDecay());
    }

    @Override
    public void advanceStep(Tensor counters) {
        launch(Kernel.STEP_ADVANCE, new LaunchConfig(1, 1, 1, 1, 1, 1, 0), counters(counters));
    }

    /**
     * Captures what {@code ops} queues into a CUDA graph. The ops' launch sites must exist already (an
     * eager run of the same ops makes them): making one allocates pinned memory, which a capture forbids.
     */
    @Override
    public Optional<Replay> capture(Runnable ops) {
        if (closed) {
            throw new IllegalStateException("CUDA backend is closed");
        }
        driver.beginCapture();
        CudaGraph graph;
        try {
            ops.run();
        } catch (RuntimeException e) {
            try {
                driver.endCapture().close();
            } catch (RuntimeException ended) {
                e.addSuppressed(ended);
            }
            throw new CaptureFailedException(e.getMessage(), e);
        }
        try {
            graph = driver.endCapture();
        } catch (RuntimeException e) {
            throw new CaptureFailedException(e.getMessage(), e);
        }
        graphs.add(graph);
        return Optional.of(new Replay() {
            @Override
            public void replay() {
                if (closed) {
                    throw new IllegalStateException("CUDA backend is closed");
                }
                driver.launch(graph);
            }

            @Override
            public void close() {
                if (graphs.remove(graph)) {
                    graph.close();
                }
            }
        });
    }

    @Override
    public void synchronize() {
        driver.synchronize();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            for (CudaGraph g : graphs) {
                g.close();
            }
            graphs.clear();
            for (DevicePtr p : allocations) {
                driver.free(p);
            }
            allocations.clear();
        } finally {
            driver.close();
        }
    }

    // ---- helpers ----

    /**
     * Row-major C[M,N] = op(A) op(B) (the sgemm kernel's contract; op(A) is [M,K], stored [K,M] when transA;
     * op(B) is [K,N], stored [N,K] when transB). On cuBLAS the same bytes read column-major are the
     * transposes, so C^T = op(B)^T op(A)^T: B and A swap places, and M and N swap.
     */
    private void gemmRowMajor(boolean transA, boolean transB, int m, int n, int k,
                              Tensor a, int lda, Tensor b, int ldb, Tensor c, int ldc) {
        DevicePtr pa = ptr(a, DType.F32);
        DevicePtr pb = ptr(b, DType.F32);
        DevicePtr pc = ptr(c, DType.F32);
        if (useCublas) {
            driver.gemm(transB, transA, n, m, k, 1f, pb, ldb, pa, lda, 0f, pc, ldc);
        } else {
            launch(Kernel.SGEMM, sgemmConfig(m, n), flag(transA), flag(transB), m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, ldc);
        }
    }

    /** The sgemm kernel: one 16x16 block per 16x16 tile of C, x over columns, y over rows. */
    private static LaunchConfig sgemmConfig(int m, int n) {
        return new LaunchConfig(LaunchConfig.blocks(n, GEMM_TILE), LaunchConfig.blocks(m, GEMM_TILE), 1, GEMM_TILE, GEMM_TILE, 1, 0);
    }

    /**
     * Conv forward and backward-to-input: grid (ceil(W/16) * ceil(H/16), ceil(channels/4), B) over the
     * written tensor's H x W pixels and channels, block 16x16.
     */
    private static LaunchConfig convTiles(int h, int w, int channels, int batch) {
        return new LaunchConfig(LaunchConfig.blocks(w, CONV_TILE) * LaunchConfig.blocks(h, CONV_TILE),
                LaunchConfig.blocks(channels, CONV_CPB), batch, CONV_TILE, CONV_TILE, 1, 0);
    }

    /**
     * Launches {@code kernel} from the argument block of its site (the same kernel and device pointers):
     * found again from the previous step, only the arguments that changed are written into it.
     */
    private void launch(Kernel kernel, LaunchConfig config, Object... args) {
        if (closed) {
            throw new IllegalStateException("CUDA backend is closed");
        }
        LaunchArguments block = sites.block(kernel, args);
        block.set(args);
        driver.launch(block, config);
    }

    private static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        return n;
    }

    private static int flag(boolean b) {
        return b ? 1 : 0;
    }

    private static CudaTensor cuda(Tensor t) {
        if (t instanceof CudaTensor c && c.ptr != null) {
            return c;
        }
        throw new IllegalArgumentException("not a CUDA tensor: " + t);
    }

    private static DevicePtr ptr(Tensor t, DType dtype) {
        CudaTensor c = cuda(t);
        if (c.dtype() != dtype) {
            throw new IllegalArgumentException("expected " + dtype + " tensor, got " + t);
        }
        return c.ptr;
    }

    /** A step-counter tensor's pointer (I32 [StepScalars.COUNTERS]), or NULL for none. */
    private static DevicePtr counters(Tensor counters) {
        if (counters == null) {
            return DevicePtr.NULL;
        }
        if (counters.size() != StepScalars.COUNTERS) {
            throw new IllegalArgumentException("step counters must be I32 [" + StepScalars.COUNTERS + "], got " + counters);
        }
        return ptr(counters, DType.I32);
    }

    /** A schedule tensor (F32 [steps, StepScalars.COLUMNS]), checked. */
    private static Tensor schedule(Tensor schedule) {
        if (schedule.rank() != 2 || schedule.dim(1) != StepScalars.COLUMNS) {
            throw new IllegalArgumentException("a step schedule must be F32 [steps, " + StepScalars.COLUMNS + "], got "
                    + schedule);
        }
        return schedule;
    }

    private static CudaTensor checked(Tensor t, DType dtype, int length) {
        CudaTensor c = cuda(t);
        if (c.dtype() != dtype || c.size() != length) {
            throw new IllegalArgumentException("host array of " + length + " " + dtype + " does not match tensor " + t);
        }
        return c;
    }

    private static void sameShape(Tensor a, Tensor like) {
        if (!Arrays.equals(a.shape(), like.shape())) {
            throw new IllegalArgumentException("shape " + a + " should be " + Arrays.toString(like.shape()));
        }
    }

    /** {B, C, H, W} of the pool input, checking the output is [B, C, H/2, W/2] (rounded down, as PyTorch). */
    private static int[] poolDims(Tensor in, Tensor out) {
        int[] d = in.shape();
        if (d.length != 4 || d[2] < 2 || d[3] < 2
                || !Arrays.equals(out.shape(), new int[] {d[0], d[1], d[2] / 2, d[3] / 2})) {
            throw new IllegalArgumentException("2x2 pool of " + in + " cannot give " + out);
        }
        return d;
    }

    private static void checkLinear(Tensor x, Tensor w, Tensor b, Tensor y, int batch, int in, int out) {
        if (x.rank() != 2 || w.rank() != 2 || x.dim(1) != in || b.size() != out
                || !Arrays.equals(y.shape(), new int[] {batch, out})) {
            throw new IllegalArgumentException("linear: x " + x + ", w " + w + ", b " + b + ", y " + y);
        }
    }

    /** Sizes of one convolution: x [b,c,h,w], weights [k,c,r,r], output [b,k,oh,ow]. */
    private record ConvShape(int b, int c, int h, int w, int k, int r, int pad, int oh, int ow) {
        static ConvShape of(Tensor x, Tensor weight, int pad) {
            if (x.rank() != 4 || weight.rank() != 4 || weight.dim(1) != x.dim(1) || weight.dim(2) != weight.dim(3)) {
                throw new IllegalArgumentException("conv2d: x " + x + ", w " + weight);
            }
            int r = weight.dim(2);
            if (r > CONV_MAX_R) {
                throw new IllegalArgumentException("conv2d kernels take filters up to " + CONV_MAX_R + "x" + CONV_MAX_R + ", got " + weight);
            }
            return new ConvShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), weight.dim(0), r, pad,
                    x.dim(2) + 2 * pad - r + 1, x.dim(3) + 2 * pad - r + 1);
        }

        void checkOutput(Tensor y) {
            if (!Arrays.equals(y.shape(), new int[] {b, k, oh, ow})) {
                throw new IllegalArgumentException("conv2d output " + y + " should be " + Arrays.toString(new int[] {b, k, oh, ow}));
            }
        }
    }

    /** Device memory plus shape; views share their base's allocation at a byte offset. */
    private static final class CudaTensor extends Tensor {
        final DevicePtr ptr;

        CudaTensor(DType dtype, int[] shape, DevicePtr ptr) {
            super(dtype, shape);
            this.ptr = ptr;
        }
    }
}
