package gpulenet.backend.cuda;

import gpulenet.backend.Tensor;
import gpulenet.backend.cuda.Cudnn.Algorithm;
import gpulenet.backend.cuda.Cudnn.Convolution;
import gpulenet.backend.cuda.Cudnn.Direction;
import gpulenet.backend.cuda.Cudnn.Filter4d;
import gpulenet.backend.cuda.Cudnn.Pooling;
import gpulenet.backend.cuda.Cudnn.Tensor4d;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * The convolutions, 2x2 max-pools and ReLUs of {@link CudaBackend} through cuDNN (`--conv cudnn`), on the
 * backend's stream, so they are captured into its graphs like its kernels. Each op is the cuDNN calls that
 * compute the Backend op's contract:
 * <ul>
 *   <li>conv forward: y = conv(x, w) (beta 0), then y += b broadcast from [1,K,1,1] (cudnnAddTensor, beta 1),
 *       then ReLU in place when fused;</li>
 *   <li>conv backward: dx from dy and w, dw from x and dy, db = dy summed over n, h, w (each beta 0);</li>
 *   <li>max-pool backward: cuDNN routes dy to the maxima of the pool's input x, which the Backend op does not
 *       take, so the forward records which input gave each output; the fused ReLU mask is then a ReLU
 *       backward on dx through x (x > 0 at a window's maximum exactly when the pooled value is);</li>
 *   <li>ReLU backward: through the ReLU's output, which is positive exactly where its input is.</li>
 * </ul>
 * Algorithms are chosen once per shape, deterministic ones only (the same bits on every run and on resume),
 * when the network is built ({@link #prepare}) or, for a smaller batch, at its first (eager) step; the
 * workspace they share is allocated then, never while a graph is captured.
 */
final class CudnnOps {
    private static final Pooling POOL_2X2 = new Pooling(2, 2);

    /** The three algorithms of one convolution shape. */
    private record Plan(Algorithm forward, Algorithm backwardData, Algorithm backwardFilter) {
        long workspaceBytes() {
            return Math.max(forward.workspaceBytes(), Math.max(backwardData.workspaceBytes(),
                    backwardFilter.workspaceBytes()));
        }
    }

    private record Shape(Tensor4d x, Filter4d w, Convolution conv) {
    }

    /** An address in device memory, comparable: the allocation's handle and the offset into it. */
    private record Address(Object allocation, long offset) {
        static Address of(DevicePtr p) {
            return new Address(p.allocation(), p.byteOffset());
        }
    }

    private final Cudnn cudnn;
    private final Function<Tensor, DevicePtr> address;
    private final LongFunction<DevicePtr> allocate;
    private final Map<Shape, Plan> plans = new HashMap<>();
    /** The pool input each pooled output was computed from (a network's buffers are fixed, so this is too). */
    private final Map<Address, DevicePtr> poolInputs = new HashMap<>();
    private DevicePtr workspace = DevicePtr.NULL;
    private long workspaceBytes;

    /**
     * @param address a backend tensor's device address (F32 checked)
     * @param allocate device memory of at least the bytes asked, kept until the backend closes
     */
    CudnnOps(Cudnn cudnn, Function<Tensor, DevicePtr> address, LongFunction<DevicePtr> allocate) {
        this.cudnn = cudnn;
        this.address = address;
        this.allocate = allocate;
    }

    /** "cuDNN 9.5.0 (deterministic algorithms)". */
    String describe() {
        return "cuDNN " + JCudnnLibrary.versionString(cudnn.version()) + " (deterministic algorithms)";
    }

    /** Chooses the algorithms of a convolution of x [B,C,H,W] by w [K,C,R,R] and sizes the workspace for them. */
    void prepare(int[] x, int[] w, int pad) {
        plan(new Tensor4d(x[0], x[1], x[2], x[3]), new Filter4d(w[0], w[1], w[2], w[3]), new Convolution(pad));
    }

    /** Each convolution shape seen so far and its algorithms, for reports. */
    List<String> algorithms() {
        return plans.entrySet().stream().map(e -> e.getKey().x() + " * " + e.getKey().w() + " pad "
                + e.getKey().conv().pad() + ": " + e.getValue().forward().name() + ", " + e.getValue().backwardData().name()
                + ", " + e.getValue().backwardFilter().name()).sorted().toList();
    }

    private Plan plan(Tensor4d x, Filter4d w, Convolution conv) {
        Plan plan = plans.computeIfAbsent(new Shape(x, w, conv), s -> new Plan(
                cudnn.algorithm(Direction.FORWARD, x, w, conv, true),
                cudnn.algorithm(Direction.BACKWARD_DATA, x, w, conv, true),
                cudnn.algorithm(Direction.BACKWARD_FILTER, x, w, conv, true)));
        if (plan.workspaceBytes() > workspaceBytes) {
            // the old workspace stays allocated: graphs captured earlier still use it
            workspace = allocate.apply(plan.workspaceBytes());
            workspaceBytes = plan.workspaceBytes();
        }
        return plan;
    }

    void convForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y) {
        Tensor4d xd = tensor4d(x);
        Filter4d wd = filter4d(w);
        Convolution conv = new Convolution(pad);
        Tensor4d yd = tensor4d(y);
        Plan plan = plan(xd, wd, conv);
        DevicePtr out = address.apply(y);
        cudnn.convolutionForward(1f, xd, address.apply(x), wd, address.apply(w), conv, plan.forward(), workspace,
                workspaceBytes, 0f, yd, out);
        cudnn.addTensor(1f, bias(wd.k()), address.apply(b), 1f, yd, out);
        if (relu) {
            cudnn.reluForward(1f, yd, out, 0f, yd, out);
        }
    }

    /** dx may be null (the first layer): its input gradient is then not computed. */
    void convBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db) {
        Tensor4d xd = tensor4d(x);
        Filter4d wd = filter4d(w);
        Convolution conv = new Convolution(pad);
        Tensor4d dyd = tensor4d(dy);
        Plan plan = plan(xd, wd, conv);
        DevicePtr g = address.apply(dy);
        if (dx != null) {
            cudnn.convolutionBackwardData(1f, wd, address.apply(w), dyd, g, conv, plan.backwardData(), workspace,
                    workspaceBytes, 0f, tensor4d(dx), address.apply(dx));
        }
        cudnn.convolutionBackwardFilter(1f, xd, address.apply(x), dyd, g, conv, plan.backwardFilter(), workspace,
                workspaceBytes, 0f, filter4d(dw), address.apply(dw));
        cudnn.convolutionBackwardBias(1f, dyd, g, 0f, bias(wd.k()), address.apply(db));
    }

    /** y = the 2x2 max-pool of x; the Backend op's argmax is not written (cuDNN keeps no indices). */
    void maxPoolForward(Tensor x, Tensor y) {
        DevicePtr in = address.apply(x);
        cudnn.poolingForward(POOL_2X2, 1f, tensor4d(x), in, 0f, tensor4d(y), address.apply(y));
        poolInputs.put(Address.of(address.apply(y)), in);
    }

    void maxPoolBackward(Tensor dy, Tensor y, boolean reluBefore, Tensor dx) {
        DevicePtr out = address.apply(y);
        DevicePtr in = poolInputs.get(Address.of(out));
        if (in == null) {
            throw new IllegalStateException("cuDNN max-pool backward of " + y + " before its forward: cuDNN needs the"
                    + " pool's input, which the forward records");
        }
        Tensor4d xd = tensor4d(dx);
        Tensor4d yd = tensor4d(y);
        DevicePtr g = address.apply(dx);
        cudnn.poolingBackward(POOL_2X2, 1f, yd, out, tensor4d(dy), address.apply(dy), xd, in, 0f, xd, g);
        if (reluBefore) {
            cudnn.reluBackward(1f, xd, in, xd, g, xd, in, 0f, xd, g);
        }
    }

    void reluForward(Tensor x, Tensor y) {
        cudnn.reluForward(1f, tensor4d(x), address.apply(x), 0f, tensor4d(y), address.apply(y));
    }

    /** y is the ReLU's output, passed as cuDNN's x too: y > 0 exactly where the input was. */
    void reluBackward(Tensor dy, Tensor y, Tensor dx) {
        Tensor4d yd = tensor4d(y);
        DevicePtr out = address.apply(y);
        cudnn.reluBackward(1f, yd, out, tensor4d(dy), address.apply(dy), yd, out, 0f, tensor4d(dx), address.apply(dx));
    }

    /** A bias of k channels as cuDNN broadcasts it over [N,K,H,W]. */
    private static Tensor4d bias(int k) {
        return new Tensor4d(1, k, 1, 1);
    }

    /** NCHW as it is; [B,N] as [B,N,1,1]; any other shape as one row. */
    private static Tensor4d tensor4d(Tensor t) {
        return switch (t.rank()) {
            case 4 -> new Tensor4d(t.dim(0), t.dim(1), t.dim(2), t.dim(3));
            case 2 -> new Tensor4d(t.dim(0), t.dim(1), 1, 1);
            default -> new Tensor4d(1, Math.toIntExact(t.size()), 1, 1);
        };
    }

    private static Filter4d filter4d(Tensor w) {
        if (w.rank() != 4) {
            throw new IllegalArgumentException("conv2d weight must be [K,C,R,S], got " + w);
        }
        return new Filter4d(w.dim(0), w.dim(1), w.dim(2), w.dim(3));
    }
}
