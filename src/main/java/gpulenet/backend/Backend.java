package gpulenet.backend;

/**
 * The operations of one training step of the small MNIST networks (conv, ReLU, max-pool, Dropout2d,
 * linear, softmax cross-entropy, SGD and Adam), implemented by the CPU backend (the oracle) and the
 * CUDA backend. Every tensor argument must come from this backend. Shapes (NCHW, row-major):
 *
 * <ul>
 *   <li>conv: x [B,C,H,W], w [K,C,R,R], b [K], y [B,K,OH,OW] with OH = H + 2*pad - R + 1 (stride 1)</li>
 *   <li>pool: x [B,C,H,W], y and argmax [B,C,H/2,W/2] rounded down, as PyTorch's MaxPool2d(2): an odd
 *       last row or column is in no window</li>
 *   <li>linear: x [B,IN], w [OUT,IN] (PyTorch layout), b [OUT], y [B,OUT]; y = x w^T + b</li>
 *   <li>dropout: x, y [B,C,H,W], mask [B,C]</li>
 * </ul>
 *
 * Outputs are overwritten, never accumulated into, so callers need not clear them. Reductions are
 * deterministic: the same inputs give the same bits on every run.
 */
public interface Backend extends AutoCloseable {

    /** "cpu" or "cuda". */
    String name();

    /** One line saying what runs: threads, device name, which GEMM. */
    String describe();

    /** What tensors allocated now could still take. */
    FreeMemory freeMemory();

    /**
     * Bytes of working memory, beyond its tensors, that this backend keeps for the ops {@code plan}
     * recorded (the CPU backend's reusable buffers grow with the batch).
     */
    long workspaceBytes(SizingBackend plan);

    /** The largest batch the ops can take (a GPU's grid limits one launch). */
    default int maxBatch() {
        return Integer.MAX_VALUE;
    }

    /**
     * Called once per convolution when a network is built, with x [B,C,H,W] at its largest batch and w
     * [K,C,R,R]: a backend that chooses algorithms and sizes workspaces per shape does it here, before any
     * step runs or is captured. Nothing by default.
     */
    default void prepareConvolution(int[] x, int[] w, int pad) {
    }

    /** A zero-filled tensor. */
    Tensor allocate(DType dtype, int... shape);

    /** A view of {@code shape} starting {@code offset} elements into {@code base} (same dtype, shares storage). */
    Tensor view(Tensor base, long offset, int... shape);

    void upload(Tensor dst, float[] src);

    void upload(Tensor dst, int[] src);

    void upload(Tensor dst, byte[] src);

    void download(Tensor src, float[] dst);

    void download(Tensor src, int[] dst);

    /** Sets every element to zero. */
    void zero(Tensor t);

    /**
     * Batch gather and normalise: for i in [0,B), n = order[start + i]:
     * x[i,0,:,:] = (images[n,:,:] / 255 - mean) / std and y[i] = labels[n].
     *
     * @param images U8 [N,H,W] the whole data set
     * @param labels U8 [N]
     * @param order I32 [M] the epoch's permutation of sample indices
     * @param x F32 [B,1,H,W]
     * @param y I32 [B]
     */
    void gatherBatch(Tensor images, Tensor labels, Tensor order, int start, float mean, float std, Tensor x, Tensor y);

    /** y = conv(x, w) + b, then ReLU when {@code relu}. */
    void conv2dForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y);

    /**
     * Given dy = dL/dy of the pre-activation conv output, writes dw, db, and dx (dL/dx) unless dx is null
     * (the first layer needs no input gradient).
     */
    void conv2dBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db);

    /**
     * The first convolution of a pass, on the batch it gathers: {@link #gatherBatch(Tensor, Tensor, Tensor, Tensor,
     * int, float, float, Tensor, Tensor)} from {@code source} into x and labels, then on x
     * {@link #conv2dPoolForward} (pooled and argmax given) or {@link #conv2dForward} (both null). A backend may
     * read the convolution's input straight from the data set; x and labels are written either way.
     */
    default void gatherConv2dForward(BatchSource source, Tensor x, Tensor labels, Tensor w, Tensor b, int pad,
                                     boolean relu, Tensor y, Tensor pooled, Tensor argmax) {
        gatherBatch(source.images(), source.labels(), source.order(), source.counters(), source.stride(), source.mean(),
                source.std(), x, labels);
        if (pooled == null) {
            conv2dForward(x, w, b, pad, relu, y);
        } else {
            conv2dPoolForward(x, w, b, pad, relu, y, pooled, argmax);
        }
    }

    /**
     * A convolution followed by a 2x2 max-pool: {@link #conv2dForward} into y, then {@link #maxPool2x2Forward}
     * of y into pooled and argmax. A backend may do both in one pass; the results are the same.
     */
    default void conv2dPoolForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y, Tensor pooled,
                                   Tensor argmax) {
        conv2dForward(x, w, b, pad, relu, y);
        maxPool2x2Forward(y, pooled, argmax);
    }

    /**
     * The backward pass of a convolution followed by a 2x2 max-pool, from the pool's output gradient
     * dPooled: {@link #maxPool2x2Backward}(dPooled, pooled, argmax, reluBefore) into dy, the gradient of the
     * convolution's output, then {@link #conv2dBackward} from dy. A backend may read dy through the pool
     * instead of writing it, so afterwards dy holds it or is left as it was.
     */
    default void conv2dPoolBackward(Tensor x, Tensor w, Tensor dPooled, Tensor pooled, Tensor argmax,
                                    boolean reluBefore, int pad, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        maxPool2x2Backward(dPooled, pooled, argmax, reluBefore, dy);
        conv2dBackward(x, w, dy, pad, dx, dw, db);
    }

    /** 2x2 max-pool, stride 2. argmax (I32) gets the flat index into x of each maximum (first one on ties). */
    void maxPool2x2Forward(Tensor x, Tensor y, Tensor argmax);

    /**
     * dx = 0 except dx[argmax[i]] = dy[i]. With {@code reluBefore} (x was a ReLU output) the ReLU's
     * backward is fused in: positions whose pooled value y[i] is not positive get 0, so dx is the
     * gradient of the pre-ReLU tensor.
     */
    void maxPool2x2Backward(Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, Tensor dx);

    /** y = x w^T + b, then ReLU when {@code relu}. */
    void linearForward(Tensor x, Tensor w, Tensor b, boolean relu, Tensor y);

    /**
     * Given dy = dL/dy of the pre-activation output: dw = dy^T x, db = sum over the batch of dy, and,
     * unless dx is null, dx = dy w; with {@code reluOnInput} (x is a ReLU output) dx is masked by x > 0,
     * giving the gradient of the previous layer's pre-activation.
     */
    void linearBackward(Tensor x, Tensor w, Tensor dy, boolean reluOnInput, Tensor dx, Tensor dw, Tensor db);

    /**
     * Fused, numerically stable softmax + cross-entropy over logits [B,K] and labels I32 [B]. Adds the
     * batch's summed loss to stats[0] and its number of correct argmax predictions to stats[1] (stats is
     * F32 [2], kept on the device between log lines). Unless dlogits is null, writes
     * dlogits = (softmax - onehot) / B, the gradient of the batch-mean loss.
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats);

    /**
     * The training pass of a network's head: the Linear layers at its end, the loss, and the backward pass
     * through them, as these ops compute it one by one: for each layer in order, {@link #linearForward}
     * (its input x0 for the first, the previous y after); {@link #softmaxCrossEntropy} of the last y into
     * the last g and {@code stats}, then that g masked by the last y when the last layer has a ReLU; for
     * each layer from the last, {@link #linearBackward} into dw, db and the previous layer's g, masked by
     * that layer's y when it has a ReLU (for the first layer: into dx0, masked by x0 when
     * {@code x0IsReluOutput}; skipped when dx0 is null). A backend may run the whole of it as one fused
     * pass; the results agree within the ops' tolerances.
     *
     * @param workspace F32 of at least {@link #linearHeadWorkspace} elements for this head, or null when
     *                  that is 0
     */
    default void linearHeadStep(Tensor x0, boolean x0IsReluOutput, Tensor dx0, java.util.List<HeadLayer> layers,
                                Tensor labels, Tensor stats, Tensor workspace) {
        Tensor in = x0;
        for (HeadLayer l : layers) {
            linearForward(in, l.w(), l.b(), l.relu(), l.y());
            in = l.y();
        }
        HeadLayer last = layers.get(layers.size() - 1);
        softmaxCrossEntropy(last.y(), labels, last.g(), stats);
        if (last.relu()) {
            reluBackward(last.g(), last.y(), last.g());
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            HeadLayer l = layers.get(i);
            Tensor input = i == 0 ? x0 : layers.get(i - 1).y();
            Tensor dx = i == 0 ? dx0 : layers.get(i - 1).g();
            boolean mask = i == 0 ? x0IsReluOutput : layers.get(i - 1).relu();
            linearBackward(input, l.w(), l.g(), mask && dx != null, dx, l.dw(), l.db());
        }
    }

    /**
     * Elements of F32 workspace {@link #linearHeadStep} needs for a head of Linear layers with these input
     * and output sizes at batches up to {@code maxBatch}: 0 where it runs the ops one by one (the default).
     */
    default long linearHeadWorkspace(int maxBatch, int[] in, int[] out) {
        return 0;
    }

    /** y = max(x, 0) over tensors of any equal shape; y may be x (in place). */
    void reluForward(Tensor x, Tensor y);

    /**
     * dx = y > 0 ? dy : 0, where y is the ReLU's output; dy, y and dx of any equal shape, dx may be dy
     * (in place).
     */
    void reluBackward(Tensor dy, Tensor y, Tensor dx);

    /**
     * Draws a Dropout2d channel mask, F32 [B,C]: mask[n,c] = float32(1/(1-p)) where channel c of sample
     * n is kept, else 0. Kept iff u(seed, step, n, c) >= p for a counter-based uniform u in [0,1) (defined
     * in the implementations), so both backends draw the same mask, and a step's mask depends only on
     * (seed, step), not on what ran before. 0 <= p < 1.
     */
    void dropout2dMask(Tensor mask, long seed, long step, float p);

    /** Dropout2d forward: y[n,c,:,:] = x[n,c,:,:] * mask[n,c]; y may be x. */
    void dropout2dForward(Tensor x, Tensor mask, Tensor y);

    /** Dropout2d backward: dx[n,c,:,:] = dy[n,c,:,:] * mask[n,c]; dx may be dy. */
    void dropout2dBackward(Tensor dy, Tensor mask, Tensor dx);

    /**
     * PyTorch momentum SGD over flat buffers of equal size: g = grad (+ weightDecay * p when weightDecay
     * != 0); buf = firstStep ? g : momentum * buf + g; p = p - lr * buf rounded once (a fused
     * multiply-add, as PyTorch). With momentum 0 this is plain SGD, p - lr * grad (buf, if finite,
     * then holds g).
     */
    void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                   boolean firstStep);

    /**
     * torch.optim.Adam (torch 1.13, amsgrad off) over flat buffers of equal size, bitwise on the CPU.
     * {@code step} is the 1-based step count t after this step's increment. Per element, in float32:
     * g = grad (+ weightDecay * p when weightDecay != 0); m = b1*m + (1-b1)*g; v = b2*v + ((1-b2)*g)*g;
     * p = p + (-lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps), the bias corrections and the step size
     * in double (from the decimal values the float arguments stand for), each operation rounded on
     * its own. expAvg (m) and expAvgSq (v) start at zero.
     */
    default void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, float lr, float beta1,
                            float beta2, float eps, float weightDecay, long step) {
        adamUpdate(params, grads, expAvg, expAvgSq, HostScalars.Adam.of(lr, beta1, beta2, eps, weightDecay, step));
    }

    // ---- the same ops with their per-step scalars read from a StepScalars' tensors on the backend ----
    // The defaults read the tensors back and call the ops above, which defines what they compute; the CUDA
    // backend reads them in its kernels instead, so a captured step replays with the values of its step.

    /**
     * {@link #gatherBatch(Tensor, Tensor, Tensor, int, float, float, Tensor, Tensor)} of the batch the step
     * counter is at: start = counters[0] * stride (counters: {@link StepScalars#counters}).
     */
    default void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor counters, int stride, float mean,
                             float std, Tensor x, Tensor y) {
        gatherBatch(images, labels, order, StepScalars.stepInEpoch(this, counters) * stride, mean, std, x, y);
    }

    /** {@link #dropout2dMask(Tensor, long, long, float)} at step counters[1], the steps done in the run. */
    default void dropout2dMask(Tensor mask, long seed, Tensor counters, float p) {
        dropout2dMask(mask, seed, StepScalars.stepsDone(this, counters), p);
    }

    /**
     * {@link #sgdUpdate(Tensor, Tensor, Tensor, float, float, float, boolean)} with lr = schedule[counters[0]][0]
     * and the first step when counters[1] is 0, then {@link #advanceStep}: the update ends the step.
     */
    default void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, Tensor schedule, Tensor counters,
                           float momentum, float weightDecay) {
        float[] row = StepScalars.scheduleRow(this, schedule, counters);
        sgdUpdate(params, grads, momentumBuf, row[0], momentum, weightDecay, StepScalars.stepsDone(this, counters) == 0);
        advanceStep(counters);
    }

    /**
     * {@link #adamUpdate} with the step's scalars of {@link HostScalars.Adam} from the schedule:
     * schedule[counters[0]] = {negStepSize, sqrtBiasCorrection2}; the others as {@link HostScalars.Adam#of}
     * makes them from beta1, beta2, eps and weightDecay; then {@link #advanceStep}: the update ends the step.
     */
    default void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, Tensor schedule,
                            Tensor counters, float beta1, float beta2, float eps, float weightDecay) {
        float[] row = StepScalars.scheduleRow(this, schedule, counters);
        HostScalars.Adam s = HostScalars.Adam.of(1f, beta1, beta2, eps, weightDecay, 1);
        adamUpdate(params, grads, expAvg, expAvgSq, s.withStep(row[0], row[1]));
        advanceStep(counters);
    }

    /**
     * One Adam step with every scalar given as the kernel takes it; {@link #adamUpdate(Tensor, Tensor, Tensor,
     * Tensor, float, float, float, float, float, long)} is this with {@link HostScalars.Adam#of}.
     */
    void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, HostScalars.Adam scalars);

    /** Ends a step that has no optimizer update (evaluation): counters[0] and counters[1] each grow by one. */
    default void advanceStep(Tensor counters) {
        int[] c = StepScalars.readCounters(this, counters);
        c[0]++;
        c[1]++;
        upload(counters, c);
    }

    /**
     * Records the ops that {@code ops} queues, without running them, so that {@link Replay#replay} queues
     * them again as a whole; empty on a backend that runs ops as they are called (the CPU), where there is
     * nothing to save. A replay repeats every argument as recorded, so the ops must take whatever changes
     * between replays from backend tensors ({@link StepScalars}), and must neither wait for the backend
     * nor allocate. Throws {@link CaptureFailedException} when recording fails; nothing has run then.
     */
    default java.util.Optional<Replay> capture(Runnable ops) {
        return java.util.Optional.empty();
    }

    /** Waits for queued work; a no-op on the CPU. */
    void synchronize();

    @Override
    void close();
}
