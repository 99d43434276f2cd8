package gpulenet.backend;

/**
 * The operations of one LeNet-5 training step, implemented by the CPU backend (the oracle) and the
 * CUDA backend. Every tensor argument must come from this backend. Shapes (NCHW, row-major):
 *
 * <ul>
 *   <li>conv: x [B,C,H,W], w [K,C,R,R], b [K], y [B,K,OH,OW] with OH = H + 2*pad - R + 1 (stride 1)</li>
 *   <li>pool: x [B,C,H,W] with even H and W, y and argmax [B,C,H/2,W/2]</li>
 *   <li>linear: x [B,IN], w [OUT,IN] (PyTorch layout), b [OUT], y [B,OUT]; y = x w^T + b</li>
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
     * PyTorch momentum SGD over flat buffers of equal size: g = grad + weightDecay * p;
     * buf = firstStep ? g : momentum * buf + g; p -= lr * buf.
     */
    void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                   boolean firstStep);

    /** Waits for queued work; a no-op on the CPU. */
    void synchronize();

    @Override
    void close();
}
