package gpulenet.backend.cuda;

/**
 * The calls of cuDNN's legacy API that the convolutions, max-pools and ReLUs of the networks use, with
 * cuDNN's own semantics, behind the same seam as {@link CudaDriver}: {@link JCudaDriver} makes them through
 * JCudnn on its stream, and tests use an emulation written from the API's documentation. Descriptors are
 * values here (the driver keeps the native ones); every tensor is float32, NCHW and packed, so its strides
 * are (C*H*W, H*W, W, 1).
 *
 * <p>Every call computes {@code out = alpha * result + beta * out}: beta 0 overwrites (out is not read),
 * beta 1 accumulates. Work is queued on the driver's stream, and captured into a graph like a launch.
 */
public interface Cudnn extends AutoCloseable {

    /** A float32 NCHW tensor of [n, c, h, w], packed. */
    record Tensor4d(int n, int c, int h, int w) {
        public long elements() {
            return (long) n * c * h * w;
        }
    }

    /** A float32 filter of [k, c, r, s] (output channels, input channels, rows, columns), NCHW. */
    record Filter4d(int k, int c, int r, int s) {
        public long elements() {
            return (long) k * c * r * s;
        }
    }

    /**
     * A 2-D cross-correlation (what PyTorch's Conv2d computes) with zero padding {@code pad} on every side,
     * stride 1, dilation 1, float32 compute, no tensor-op math.
     */
    record Convolution(int pad) {
        /** The output of {@code x} through {@code w}: cudnnGetConvolution2dForwardOutputDim. */
        public Tensor4d output(Tensor4d x, Filter4d w) {
            return new Tensor4d(x.n(), w.k(), x.h() + 2 * pad - w.r() + 1, x.w() + 2 * pad - w.s() + 1);
        }
    }

    /** A max-pool (CUDNN_POOLING_MAX_DETERMINISTIC) of a window x window square with this stride, no padding. */
    record Pooling(int window, int stride) {
        /** The output of {@code x}: floor((H - window) / stride) + 1 rows, likewise columns. */
        public Tensor4d output(Tensor4d x) {
            return new Tensor4d(x.n(), x.c(), (x.h() - window) / stride + 1, (x.w() - window) / stride + 1);
        }
    }

    /** The three convolution kernels of cuDNN. */
    enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /** An algorithm for one direction and shape, its name, and the workspace it needs in bytes. */
    record Algorithm(Direction direction, int id, String name, long workspaceBytes) {
    }

    /** cudnnGetVersion: e.g. 90500 for 9.5.0. */
    long version();

    /**
     * The algorithm cuDNN's heuristics rank first for {@code direction} on these shapes among those that
     * succeed and, when {@code deterministic}, give the same bits on every run (cudnnGetConvolution*Algorithm_v7),
     * with its workspace size.
     */
    Algorithm algorithm(Direction direction, Tensor4d x, Filter4d w, Convolution conv, boolean deterministic);

    /** cudnnConvolutionForward: y = alpha * conv(x, w) + beta * y. */
    void convolutionForward(float alpha, Tensor4d xDesc, DevicePtr x, Filter4d wDesc, DevicePtr w, Convolution conv,
                            Algorithm algo, DevicePtr workspace, long workspaceBytes, float beta, Tensor4d yDesc,
                            DevicePtr y);

    /** cudnnConvolutionBackwardData: dx = alpha * (the gradient of x from dy through w) + beta * dx. */
    void convolutionBackwardData(float alpha, Filter4d wDesc, DevicePtr w, Tensor4d dyDesc, DevicePtr dy,
                                 Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes, float beta,
                                 Tensor4d dxDesc, DevicePtr dx);

    /** cudnnConvolutionBackwardFilter: dw = alpha * (the gradient of w from x and dy) + beta * dw. */
    void convolutionBackwardFilter(float alpha, Tensor4d xDesc, DevicePtr x, Tensor4d dyDesc, DevicePtr dy,
                                   Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                   float beta, Filter4d dwDesc, DevicePtr dw);

    /** cudnnConvolutionBackwardBias: db = alpha * (dy summed over n, h, w) + beta * db, db described as [1,K,1,1]. */
    void convolutionBackwardBias(float alpha, Tensor4d dyDesc, DevicePtr dy, float beta, Tensor4d dbDesc, DevicePtr db);

    /**
     * cudnnAddTensor: c = alpha * a + beta * c, where each dimension of a is that of c or 1 (broadcast): the
     * bias [1,K,1,1] added to a convolution's output with beta 1.
     */
    void addTensor(float alpha, Tensor4d aDesc, DevicePtr a, float beta, Tensor4d cDesc, DevicePtr c);

    /** cudnnPoolingForward: y = alpha * pool(x) + beta * y. */
    void poolingForward(Pooling pooling, float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc,
                        DevicePtr y);

    /**
     * cudnnPoolingBackward: dx = alpha * (dy routed to the maximum of each window of x, which gave y) + beta * dx.
     * y is the forward's output and dy its gradient; x the forward's input and dx its gradient.
     */
    void poolingBackward(Pooling pooling, float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc, DevicePtr dy,
                         Tensor4d xDesc, DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx);

    /** cudnnActivationForward with CUDNN_ACTIVATION_RELU: y = alpha * max(x, 0) + beta * y; y may be x. */
    void reluForward(float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc, DevicePtr y);

    /**
     * cudnnActivationBackward with CUDNN_ACTIVATION_RELU: dx = alpha * (x > 0 ? dy : 0) + beta * dx, where y is
     * the forward's output and x its input; dx may be dy.
     */
    void reluBackward(float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc, DevicePtr dy, Tensor4d xDesc,
                      DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx);

    @Override
    void close();
}
