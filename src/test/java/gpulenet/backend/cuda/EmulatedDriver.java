package gpulenet.backend.cuda;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * {@link CudaDriver} without a GPU: kernels run in native-tests' host emulation library
 * (libgpulenet_emu.so, the shipped kernels/*.cu compiled by g++; loaded at the first launch), reading their
 * arguments from the same native argument blocks a real launch uses; device memory is native host memory,
 * and gemm is a plain-Java cublasSgemm (column-major, cuBLAS's argument checks). Launches run to
 * completion, so synchronisation is a no-op; it is still counted, as are allocations and every other call,
 * so tests can check that a training step neither allocates nor waits, and what an epoch asks of a driver.
 *
 * <p>Graphs are emulated as CUDA defines them: between beginCapture and endCapture, launches, GEMMs and
 * memsets are recorded, not run, each launch with a copy of its argument values taken then (so a block
 * rewritten afterwards does not change the graph); a graph launch runs the recorded work in order. What CUDA
 * forbids while a stream captures (a copy from or to pageable host memory, waiting for the device,
 * allocating or freeing, a new pinned argument block) throws and invalidates the capture, so endCapture
 * throws too, as cuStreamEndCapture does.
 *
 * <p>cuDNN is {@link EmulatedCudnn}, whose calls are queued and captured like launches.
 */
final class EmulatedDriver implements CudaDriver {

    static final Path LIBRARY = Path.of("native-tests", "build", "libgpulenet_emu.so");

    /** The C API of the emulation library. */
    interface EmuLibrary extends Library {
        int gl_emu_launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Pointer args);

        String gl_emu_last_error();
    }

    private static EmuLibrary library;

    private final boolean cublas;
    private final long capacityBytes;
    private final Map<Memory, Long> live = new IdentityHashMap<>();
    private final Set<Memory> argumentMemory = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<LaunchArguments> blocks = new ArrayList<>();
    private long liveBytes;
    private int allocations;
    private int synchronizations;
    private int launches;
    private int graphLaunches;
    private final Map<Kernel, Integer> launchesByKernel = new java.util.EnumMap<>(Kernel.class);
    private int gemms;
    private int memsets;
    private int copiesToDevice;
    private int copiesToHost;
    /** The work recorded by the capture under way, or null when the stream is not capturing. */
    private List<Runnable> capture;
    private String invalidatedBy;
    private final List<Memory> capturedArguments = new ArrayList<>();
    private EmulatedCudnn cudnn;
    /** Why cuDNN is not offered, or null when it is. */
    private String noCudnn;

    /**
     * @param cublas whether to offer the reference gemm (as cuBLAS) or report cuBLAS as unavailable
     * @param capacityBytes device memory size; allocations beyond it fail like cuMemAlloc does
     */
    EmulatedDriver(boolean cublas, long capacityBytes) {
        this.cublas = cublas;
        this.capacityBytes = capacityBytes;
    }

    EmulatedDriver(boolean cublas) {
        this(cublas, 1L << 32);
    }

    /** A planted kernel bug (see {@link #plant}), or null. */
    private record Plant(Kernel kernel, int argument, int value, IntPredicate launches) {
    }

    private Plant plant;
    private int plantedKernelLaunches;

    /**
     * Plants a kernel bug, for tests that must see a check fail: the {@code i}-th launch (from 0) of
     * {@code kernel} for which {@code launches} holds runs with its int argument {@code argument} set to
     * {@code value} (e.g. conv2d_backward's relu_before to 0: the ReLU mask forgotten).
     */
    EmulatedDriver plant(Kernel kernel, int argument, int value, IntPredicate launches) {
        if (kernel.params().get(argument) != Kernel.Arg.INT) {
            throw new IllegalArgumentException(kernel.symbol + " argument " + argument + " is not an int");
        }
        plant = new Plant(kernel, argument, value, launches);
        return this;
    }

    /** Loads the emulation library once, failing with the command that builds it when it is missing. */
    static synchronized EmuLibrary load() {
        if (library == null) {
            Path lib = LIBRARY.toAbsolutePath();
            if (!Files.isRegularFile(lib)) {
                throw new IllegalStateException(lib + " is missing: run `make emu-lib` (mvn test runs it in generate-test-resources)");
            }
            library = Native.load(lib.toString(), EmuLibrary.class);
        }
        return library;
    }

    int allocations() {
        return allocations;
    }

    int synchronizations() {
        return synchronizations;
    }

    /** Kernels run by launches outside graphs (captured launches count when they are recorded, not replayed). */
    int launches() {
        return launches;
    }

    /** Launches outside graphs, per kernel, so far. */
    Map<Kernel, Integer> launchesByKernel() {
        return Map.copyOf(launchesByKernel);
    }

    int graphLaunches() {
        return graphLaunches;
    }

    /** GEMM calls made outside graphs. */
    int gemms() {
        return gemms;
    }

    /** Memsets outside graphs. */
    int memsets() {
        return memsets;
    }

    int copiesToDevice() {
        return copiesToDevice;
    }

    /** Copies to the host: each is also a synchronisation. */
    int copiesToHost() {
        return copiesToHost;
    }

    boolean capturing() {
        return capture != null;
    }

    /** Throws as CUDA does for a call it forbids while capturing, and invalidates the capture. */
    private void forbiddenWhileCapturing(String call) {
        if (capture != null) {
            invalidatedBy = call;
            throw new CudaOperationException(call + " failed: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (not allowed while"
                    + " a CUDA graph is being captured)");
        }
    }

    int liveAllocations() {
        return live.size();
    }

    @Override
    public DeviceInfo info() {
        return new DeviceInfo("host emulation", 0, 0, capacityBytes, 0);
    }

    @Override
    public DevicePtr alloc(long bytes) {
        forbiddenWhileCapturing("cuMemAlloc");
        if (bytes <= 0 || liveBytes + bytes > capacityBytes) {
            throw new CudaOperationException(String.format("cuMemAlloc of %d bytes (%.1f MiB) failed: CUDA_ERROR_OUT_OF_MEMORY",
                    bytes, bytes / (1024.0 * 1024)));
        }
        Memory m = new Memory(bytes);
        live.put(m, bytes);
        liveBytes += bytes;
        allocations++;
        return new DevicePtr(m, 0);
    }

    /** The emulated device's capacity less what is allocated: what a real driver would call free. */
    @Override
    public long memGetInfo() {
        return capacityBytes - liveBytes;
    }

    @Override
    public void free(DevicePtr ptr) {
        forbiddenWhileCapturing("cuMemFree");
        Memory m = memory(ptr);
        if (ptr.byteOffset() != 0) {
            throw new CudaOperationException("cuMemFree of an offset pointer " + ptr + " failed: CUDA_ERROR_INVALID_VALUE");
        }
        liveBytes -= live.remove(m);
        m.close();
    }

    private Memory memory(DevicePtr p) {
        if (p.allocation() instanceof Memory m && live.containsKey(m)) {
            return m;
        }
        throw new CudaOperationException("not a live device allocation: " + p + " (CUDA_ERROR_INVALID_VALUE)");
    }

    /** The native address of {@code bytes} bytes at {@code p}, bounds-checked against its allocation. */
    private Pointer at(DevicePtr p, long bytes) {
        Memory m = memory(p);
        if (p.byteOffset() + bytes > m.size()) {
            throw new CudaOperationException("access of " + bytes + " bytes at " + p + " overruns its allocation of "
                    + m.size() + " bytes (CUDA_ERROR_INVALID_VALUE)");
        }
        return m.share(p.byteOffset());
    }

    @Override
    public void copyToDevice(DevicePtr dst, float[] src, int srcOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyHtoDAsync from pageable memory");
        copiesToDevice++;
        at(dst, 4L * count).write(0, src, srcOffset, count);
    }

    @Override
    public void copyToDevice(DevicePtr dst, int[] src, int srcOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyHtoDAsync from pageable memory");
        copiesToDevice++;
        at(dst, 4L * count).write(0, src, srcOffset, count);
    }

    @Override
    public void copyToDevice(DevicePtr dst, byte[] src, int srcOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyHtoDAsync from pageable memory");
        copiesToDevice++;
        at(dst, count).write(0, src, srcOffset, count);
    }

    @Override
    public void copyToHost(DevicePtr src, float[] dst, int dstOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyDtoHAsync and cuStreamSynchronize");
        copiesToHost++;
        synchronizations++;
        at(src, 4L * count).read(0, dst, dstOffset, count);
    }

    @Override
    public void copyToHost(DevicePtr src, int[] dst, int dstOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyDtoHAsync and cuStreamSynchronize");
        copiesToHost++;
        synchronizations++;
        at(src, 4L * count).read(0, dst, dstOffset, count);
    }

    @Override
    public void copyToHost(DevicePtr src, byte[] dst, int dstOffset, int count) {
        forbiddenWhileCapturing("cuMemcpyDtoHAsync and cuStreamSynchronize");
        copiesToHost++;
        synchronizations++;
        at(src, count).read(0, dst, dstOffset, count);
    }

    @Override
    public void memset(DevicePtr dst, byte value, long bytes) {
        Pointer target = at(dst, bytes);
        if (capture != null) {
            capture.add(() -> at(dst, bytes).setMemory(0, bytes, value));
            return;
        }
        memsets++;
        target.setMemory(0, bytes, value);
    }

    /**
     * A block in native memory, laid out as cuLaunchKernel's kernelParams (the table of pointers to the
     * values, then the values): the emulation library reads the kernel's arguments through that table,
     * as the CUDA driver would, so a value a launch site failed to write shows up as a wrong result.
     */
    @Override
    public LaunchArguments arguments(Kernel kernel) {
        forbiddenWhileCapturing("cuMemAllocHost (a new argument block)");
        int bytes = LaunchArguments.bytes(kernel);
        Memory block = new Memory(bytes);
        argumentMemory.add(block);
        LaunchArguments args = new LaunchArguments(kernel, block.getByteBuffer(0, bytes), Pointer.nativeValue(block),
                p -> Pointer.nativeValue(at(p, 0)), block);
        blocks.add(args);
        return args;
    }

    /** Runs the kernel on the values the block holds, after checking every pointer in it is a live allocation. */
    @Override
    public void launch(LaunchArguments args, LaunchConfig c) {
        if (!(args.handle() instanceof Memory block) || !argumentMemory.contains(block)) {
            throw new IllegalArgumentException(args + " was not made by this driver");
        }
        Kernel kernel = args.kernel();
        if (!args.complete()) {
            throw new IllegalStateException(args + " has arguments that were never set");
        }
        for (int i = 0; i < kernel.params().size(); i++) {
            if (kernel.params().get(i) == Kernel.Arg.PTR && !args.pointerAt(i).isNull()) {
                DevicePtr p = args.pointerAt(i);
                if (Pointer.nativeValue(at(p, 0)) != (long) args.valueAt(i)) {
                    throw new IllegalStateException(kernel.symbol + " argument " + i + " holds a stale address for " + p);
                }
            }
        }
        if (capture != null) {
            Memory copy = copyOfArguments(args);
            capture.add(() -> run(kernel, c, copy));
            return;
        }
        launches++;
        launchesByKernel.merge(kernel, 1, Integer::sum);
        if (plant != null && plant.kernel == kernel && plant.launches.test(plantedKernelLaunches++)) {
            Memory planted = copyOfArguments(args);
            planted.setInt((long) (kernel.params().size() + plant.argument) * LaunchArguments.SLOT, plant.value);
            run(kernel, c, planted);
            return;
        }
        run(kernel, c, block);
    }

    private static void run(Kernel kernel, LaunchConfig c, Pointer arguments) {
        EmuLibrary emu = load();
        int rc = emu.gl_emu_launch(kernel.symbol, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(),
                c.sharedBytes(), arguments);
        if (rc != 0) {
            throw new CudaOperationException("launch of kernel " + kernel.symbol + " (" + c + ") failed: " + emu.gl_emu_last_error());
        }
    }

    /** The block's values as they are now, in a table of their own: what a captured kernel node keeps. */
    private Memory copyOfArguments(LaunchArguments args) {
        int n = args.kernel().params().size();
        int bytes = LaunchArguments.bytes(args.kernel());
        Memory copy = new Memory(bytes);
        copy.write(0, ((Memory) args.handle()).getByteArray(0, bytes), 0, bytes);
        for (int i = 0; i < n; i++) {
            copy.setLong((long) i * LaunchArguments.SLOT, Pointer.nativeValue(copy) + (long) (n + i) * LaunchArguments.SLOT);
        }
        capturedArguments.add(copy);
        return copy;
    }

    /** From now on, {@link #cudnn} throws as a host without libcudnn.so.9 would, with this reason. */
    void withoutCudnn(String reason) {
        noCudnn = reason;
    }

    @Override
    public Cudnn cudnn() {
        if (noCudnn != null) {
            throw new CudnnUnavailableException(noCudnn);
        }
        if (cudnn == null) {
            forbiddenWhileCapturing("cudnnCreate");
            cudnn = new EmulatedCudnn(this);
        }
        return cudnn;
    }

    /** The cuDNN calls queued outside graphs so far (0 before the first). */
    int cudnnCalls() {
        return cudnn == null ? 0 : cudnn.calls();
    }

    /** Runs {@code work} now, or records it into the graph being captured. */
    void enqueue(Runnable work) {
        if (capture != null) {
            capture.add(work);
        } else {
            work.run();
        }
    }

    /** Fails as an out-of-bounds device access would when {@code elements} floats at p run past its allocation. */
    void requireFits(DevicePtr p, long elements) {
        requireFitsBytes(p, 4 * elements);
    }

    void requireFitsBytes(DevicePtr p, long bytes) {
        if (bytes > 0) {
            at(p, bytes);
        }
    }

    float[] read(DevicePtr p, long elements) {
        float[] out = new float[Math.toIntExact(elements)];
        at(p, 4 * elements).read(0, out, 0, out.length);
        return out;
    }

    void write(DevicePtr p, float[] values) {
        at(p, 4L * values.length).write(0, values, 0, values.length);
    }

    /** Fills {@code bytes} at p with NaNs: what a library's scratch leaves behind. */
    void scribble(DevicePtr p, long bytes) {
        if (bytes > 0) {
            at(p, bytes).setMemory(0, bytes, (byte) 0xff);
        }
    }

    @Override
    public void beginCapture() {
        if (capture != null) {
            throw new CudaOperationException("cuStreamBeginCapture failed: CUDA_ERROR_ILLEGAL_STATE (already capturing)");
        }
        capture = new ArrayList<>();
        invalidatedBy = null;
    }

    @Override
    public CudaGraph endCapture() {
        if (capture == null) {
            throw new CudaOperationException("cuStreamEndCapture failed: CUDA_ERROR_ILLEGAL_STATE (not capturing)");
        }
        List<Runnable> work = List.copyOf(capture);
        capture = null;
        if (invalidatedBy != null) {
            throw new CudaOperationException("cuStreamEndCapture failed: CUDA_ERROR_STREAM_CAPTURE_INVALIDATED (by "
                    + invalidatedBy + ")");
        }
        return new Graph(this, work);
    }

    /** The recorded work of one capture. */
    private static final class Graph implements CudaGraph {
        final EmulatedDriver owner;
        final List<Runnable> work;
        boolean closed;

        Graph(EmulatedDriver owner, List<Runnable> work) {
            this.owner = owner;
            this.work = work;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** Nodes recorded into {@code graph}: kernel launches, GEMMs and memsets. */
    static int nodes(CudaGraph graph) {
        return ((Graph) graph).work.size();
    }

    @Override
    public void launch(CudaGraph graph) {
        forbiddenWhileCapturing("cuGraphLaunch into a capturing stream");
        if (!(graph instanceof Graph g) || g.owner != this || g.closed) {
            throw new CudaOperationException("cuGraphLaunch failed: CUDA_ERROR_INVALID_VALUE (not a live graph of this driver)");
        }
        graphLaunches++;
        for (Runnable r : g.work) {
            r.run();
        }
    }

    /** Argument blocks made so far: one per launch site. */
    int argumentBlocks() {
        return blocks.size();
    }

    /** Values written into all argument blocks so far. */
    long argumentWrites() {
        long n = 0;
        for (LaunchArguments b : blocks) {
            n += b.writes();
        }
        return n;
    }

    @Override
    public Optional<String> gemmUnavailableReason() {
        return cublas ? Optional.empty() : Optional.of("cuBLAS switched off in this emulated driver");
    }

    /** cublasSgemm, column-major: element (i, j) of an ld-strided matrix X is X[i + j*ld]. */
    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
                     DevicePtr b, int ldb, float beta, DevicePtr c, int ldc) {
        if (!cublas) {
            throw new IllegalStateException("cuBLAS is not available");
        }
        if (capture != null) {
            capture.add(() -> referenceGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
            return;
        }
        gemms++;
        referenceGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    private void referenceGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
                               DevicePtr b, int ldb, float beta, DevicePtr c, int ldc) {
        int rowsA = transA ? k : m;
        int rowsB = transB ? n : k;
        if (m < 0 || n < 0 || k < 0 || lda < Math.max(1, rowsA) || ldb < Math.max(1, rowsB) || ldc < Math.max(1, m)) {
            throw new CudaOperationException("cublasSgemm(" + m + "x" + n + "x" + k + ", lda " + lda + ", ldb " + ldb
                    + ", ldc " + ldc + ") failed: CUBLAS_STATUS_INVALID_VALUE");
        }
        float[] av = read(a, (long) lda * (transA ? m : k), rowsA, lda);
        float[] bv = read(b, (long) ldb * (transB ? k : n), rowsB, ldb);
        float[] cv = read(c, (long) ldc * n, m, ldc);
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                float sum = 0;
                for (int l = 0; l < k; l++) {
                    float x = transA ? av[l + i * lda] : av[i + l * lda];
                    float y = transB ? bv[j + l * ldb] : bv[l + j * ldb];
                    sum += x * y;
                }
                // cuBLAS does not read C when beta is 0
                cv[i + j * ldc] = beta == 0 ? alpha * sum : alpha * sum + beta * cv[i + j * ldc];
            }
        }
        at(c, 4L * cv.length).write(0, cv, 0, cv.length);
    }

    /** A column-major matrix of {@code cols} columns, the last one only {@code rows} long (as cuBLAS reads it). */
    private float[] read(DevicePtr p, long span, int rows, int ld) {
        int cols = (int) (span / ld);
        int length = cols == 0 ? 0 : (cols - 1) * ld + rows;
        float[] out = new float[(int) span];
        at(p, 4L * length).read(0, out, 0, length);
        return out;
    }

    @Override
    public void synchronize() {
        forbiddenWhileCapturing("cuStreamSynchronize");
        synchronizations++;
    }

    @Override
    public void close() {
        for (Memory m : live.keySet()) {
            m.close();
        }
        live.clear();
        liveBytes = 0;
        for (Memory m : argumentMemory) {
            m.close();
        }
        argumentMemory.clear();
        for (Memory m : capturedArguments) {
            m.close();
        }
        capturedArguments.clear();
    }
}
