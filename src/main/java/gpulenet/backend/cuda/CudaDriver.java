package gpulenet.backend.cuda;

import java.util.Optional;

/**
 * The narrow seam between {@link CudaBackend} and a CUDA device: memory, copies, kernel launches from
 * argument blocks prepared once per launch site, and a GEMM with cuBLAS's column-major semantics.
 * {@link JCudaDriver} talks to a real GPU; tests use a driver that runs the host-compiled kernels, so the
 * whole backend runs without a GPU.
 * Work is queued in order on one stream the driver creates; copies to the device, memsets and launches are
 * asynchronous, and only copies to the host and {@link #synchronize} wait for it. Between
 * {@link #beginCapture} and {@link #endCapture} the queued work is recorded into a graph instead of run,
 * and what CUDA forbids while a stream captures (waiting for the device, synchronous or pageable copies,
 * allocation) fails.
 * Errors throw {@link CudaOperationException} naming the operation or kernel.
 */
public interface CudaDriver extends AutoCloseable {

    DeviceInfo info();

    /** Allocates {@code bytes} bytes; running out of memory throws with the number of bytes asked for. */
    DevicePtr alloc(long bytes);

    void free(DevicePtr ptr);

    /** Free device memory in bytes now, as cuMemGetInfo reports it. */
    long memGetInfo();

    void copyToDevice(DevicePtr dst, float[] src, int srcOffset, int count);

    void copyToDevice(DevicePtr dst, int[] src, int srcOffset, int count);

    void copyToDevice(DevicePtr dst, byte[] src, int srcOffset, int count);

    void copyToHost(DevicePtr src, float[] dst, int dstOffset, int count);

    void copyToHost(DevicePtr src, int[] dst, int dstOffset, int count);

    void copyToHost(DevicePtr src, byte[] dst, int dstOffset, int count);

    /** Sets {@code bytes} bytes at {@code dst} to {@code value}. */
    void memset(DevicePtr dst, byte value, long bytes);

    /**
     * A native block for the arguments of one launch site of {@code kernel} (see {@link LaunchArguments}),
     * owned by this driver until it closes. Made once per site, written per launch only where values change.
     */
    LaunchArguments arguments(Kernel kernel);

    /**
     * Queues the kernel of {@code args}, a block this driver made, with the values it holds now. The values
     * are read before this returns, so the block may be rewritten for the next launch at once.
     */
    void launch(LaunchArguments args, LaunchConfig config);

    /** Why {@link #gemm} cannot be used here (e.g. no cuBLAS library), or empty when it can. */
    Optional<String> gemmUnavailableReason();

    /**
     * Exactly {@code cublasSgemm}: column-major C = alpha * op(A) op(B) + beta * C with op(A) m x k,
     * op(B) k x n, C m x n, leading dimensions in elements; when beta is 0, C is not read.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
              DevicePtr b, int ldb, float beta, DevicePtr c, int ldc);

    /**
     * cuDNN bound to this driver's stream, made at the first call (not while capturing) and closed with the
     * driver; throws {@link CudnnUnavailableException} with the reason when cuDNN cannot be used here.
     */
    Cudnn cudnn();

    /**
     * From now on, records the launches, GEMMs and memsets queued on the stream into a graph instead of
     * running them, until {@link #endCapture}.
     */
    void beginCapture();

    /**
     * Stops recording and returns the graph of what was queued since {@link #beginCapture}, ready to launch.
     * The stream leaves capture mode even when this throws (the capture was invalidated by a forbidden call).
     */
    CudaGraph endCapture();

    /** Queues the whole graph on the stream: one launch. */
    void launch(CudaGraph graph);

    /** Waits until all queued work has finished. */
    void synchronize();

    @Override
    void close();
}
