package gpulenet.backend.cuda;

import gpulenet.io.InputException;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * {@link CudaDriver} on a real GPU through JCuda's driver API: device 0, its primary context (the one
 * cuBLAS, which uses the runtime API, also binds to), the kernels' PTX loaded from the jar's
 * kernels/*.ptx resources and every function looked up once. cuBLAS (JCublas2) is loaded only when
 * first asked for, and its absence (JCublas 12.6 needs libcublas.so.12) is a recorded reason, not an
 * error. JCuda exceptions are enabled once; every failure is rethrown naming the call that failed.
 * Use it from one thread: the context is made current on the thread that opened it.
 *
 * <p>Everything runs on one non-blocking stream this driver creates (cuBLAS is bound to it, with its own
 * workspace, so a GEMM can be captured too): copies to the device go from the Java array straight into
 * cuMemcpyHtoDAsync, which stages pageable memory before it returns, memsets are asynchronous, and copies
 * to the host go through a pinned staging buffer, then wait for the stream. A capture records the stream
 * in CUDA's global mode, so any forbidden call fails as CUDA defines it.
 *
 * <p>A launch passes cuLaunchKernel the address of a {@link LaunchArguments} block: kernel parameters
 * live in pinned host memory this driver allocates in chunks and frees at close, so JCuda marshals one
 * pointer per launch instead of one Java object per argument. The GEMM's alpha and beta live there too.
 *
 * <p>Launches are asynchronous, so a kernel that faults is reported by a later call. With the
 * environment variable {@value #SYNC_ENV}=1 every launch is followed by a synchronisation, so the
 * failure names its kernel (slow; for debugging). With {@value #EVENTS_ENV}=FILE every launch and GEMM
 * is timed with CUDA events, and at every wait for the device (a copy to the host, a synchronisation)
 * one JSON line is appended to FILE with each kernel's launches and milliseconds since the previous
 * wait (for profiling; it adds two event records per launch).
 */
public final class JCudaDriver implements CudaDriver {

    public static final String SYNC_ENV = "GPULENET_CUDA_SYNC";
    public static final String EVENTS_ENV = "GPULENET_CUDA_EVENTS";
    /** Pinned host memory for argument blocks is allocated in chunks of this many bytes. */
    static final int HOST_CHUNK_BYTES = 64 << 10;
    /** Copies to the host go through pinned memory of at most this many bytes at a time. */
    static final int STAGING_BYTES = 4 << 20;
    /** cuBLAS's workspace, set before any capture so a captured GEMM allocates nothing (32 MiB: Hopper's advice). */
    static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    /**
     * Errors a kernel raises while it runs. They are sticky and reported by whichever call comes next,
     * so that call's name is not where the fault is.
     */
    private static final Set<String> ASYNC_ERRORS = Set.of("CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_LAUNCH_FAILED",
            "CUDA_ERROR_MISALIGNED_ADDRESS", "CUDA_ERROR_ILLEGAL_INSTRUCTION", "CUDA_ERROR_HARDWARE_STACK_ERROR",
            "CUDA_ERROR_INVALID_ADDRESS_SPACE", "CUDA_ERROR_INVALID_PC", "CUDA_ERROR_ASSERT", "CUDA_ERROR_LAUNCH_TIMEOUT");
    private static final Pattern NVCC_RELEASE = Pattern.compile("Cuda compilation tools, release (\\d+\\.\\d+)");

    private static String nativeLoadFailure;
    private static boolean nativeLoaded;

    private final CUdevice device;
    private final DeviceInfo info;
    private final Map<String, CUmodule> modules;
    /** Indexed by {@link Kernel#ordinal}; null for a kernel not loaded. */
    private final CUfunction[] functions;
    private final boolean syncEachLaunch = "1".equals(System.getenv(SYNC_ENV));
    private final List<HostMemory> hostChunks = new ArrayList<>();
    private ByteBuffer hostChunk;
    private long hostChunkAddress;
    private int hostChunkUsed;
    /** alpha and beta of the GEMM, in pinned memory: cuBLAS reads them when the call is made. */
    private ByteBuffer gemmScalars;
    private NativeAddress gemmAlpha;
    private NativeAddress gemmBeta;
    private final LaunchTimer timer;
    private final CUstream stream;
    private HostMemory staging;
    private ByteBuffer stagingBuffer;
    private int stagingBytes;
    private boolean capturing;
    private cublasHandle cublas;
    private DeviceMemory cublasWorkspace;
    private String cublasFailure;
    private boolean closed;
    private JCudnnLibrary cudnn;

    private JCudaDriver(CUdevice device, DeviceInfo info, Map<String, CUmodule> modules, CUfunction[] functions,
                        CUstream stream) {
        this.device = device;
        this.info = info;
        this.modules = modules;
        this.functions = functions;
        this.stream = stream;
        String events = System.getenv(EVENTS_ENV);
        this.timer = events == null || events.isEmpty() ? null : new LaunchTimer(Path.of(events), stream);
    }

    /** Device memory from cuMemAlloc, whose address the argument blocks need. */
    private static final class DeviceMemory extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    /** Pinned host memory from cuMemAllocHost: its address and a direct buffer over it. */
    private static final class HostMemory extends Pointer {
        long address() {
            return getNativePointer();
        }
    }

    /** A bare native address, which JCuda passes on as it is (no buffer or array to marshal). */
    private static class NativeAddress extends Pointer {
        NativeAddress(long address) {
            super(address);
        }
    }

    /** What a launch passes as kernelParams: the block's pointer table, with the function it launches. */
    private static final class KernelParams extends NativeAddress {
        final JCudaDriver owner;
        final CUfunction function;

        KernelParams(long address, JCudaDriver owner, CUfunction function) {
            super(address);
            this.owner = owner;
            this.function = function;
        }
    }

    /**
     * Opens device 0 and loads the modules of {@code kernels}, or throws with the one-line reason why CUDA
     * cannot be used on this host.
     */
    public static JCudaDriver open(Kernel... kernels) throws CudaUnavailableException {
        loadNatives();
        try {
            cuInit(0);
        } catch (CudaException e) {
            throw new CudaUnavailableException(cuInitFailure(e.getMessage()));
        }
        int[] count = {0};
        CUdevice device = new CUdevice();
        CUcontext context = new CUcontext();
        try {
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                throw new CudaUnavailableException("no CUDA device (the driver reports 0 devices)");
            }
            cuDeviceGet(device, 0);
            cuDevicePrimaryCtxRetain(context, device);
        } catch (CudaException e) {
            throw new CudaUnavailableException("cannot open CUDA device 0: " + e.getMessage());
        }
        Map<String, CUmodule> modules = new LinkedHashMap<>();
        CUfunction[] functions = new CUfunction[Kernel.values().length];
        try {
            try {
                cuCtxSetCurrent(context);
            } catch (CudaException e) {
                throw new CudaUnavailableException("cannot make the context of CUDA device 0 current: " + e.getMessage());
            }
            for (Kernel k : kernels) {
                CUmodule module = modules.get(k.module);
                if (module == null) {
                    module = loadModule(k.module, readPtx(k.module), device);
                    modules.put(k.module, module);
                }
                CUfunction f = new CUfunction();
                try {
                    cuModuleGetFunction(f, module, k.symbol);
                } catch (CudaException e) {
                    throw new CudaUnavailableException("kernel " + k.symbol + " not found in kernels/" + k.module
                            + ".ptx: " + e.getMessage());
                }
                functions[k.ordinal()] = f;
            }
            CUstream stream = new CUstream();
            try {
                // non-blocking: no implicit synchronisation with the legacy default stream, and capturable
                cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            } catch (CudaException e) {
                throw new CudaUnavailableException("cannot create a stream on CUDA device 0: " + e.getMessage());
            }
            return new JCudaDriver(device, readInfo(device), modules, functions, stream);
        } catch (RuntimeException e) {
            modules.values().forEach(m -> cuModuleUnload(m));
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /** Without libcuda.so.1: a host without the NVIDIA driver, or a container started without the GPUs. */
    static final String NO_DRIVER_LIBRARY = "no CUDA driver: libcuda.so.1 (the NVIDIA driver library) is not installed"
            + " (install the NVIDIA driver; in a container: docker run --gpus all, on a host with the NVIDIA Container Toolkit)";
    /** cuInit's CUDA_ERROR_SYSTEM_DRIVER_MISMATCH: libcuda.so.1 and the kernel module are from two driver versions. */
    static final String DRIVER_MISMATCH_FIX = "libcuda.so.1 and the loaded NVIDIA kernel module come from different"
            + " driver versions: reboot after a driver update; in a container, use the host's libcuda.so.1 (which"
            + " --gpus mounts), not one installed in the image";

    /** The one-line reason for a failed cuInit, given the error's name. */
    static String cuInitFailure(String code) {
        if (code.contains("CUDA_ERROR_NO_DEVICE")) {
            return "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)";
        }
        return "the CUDA driver is installed but cuInit failed with " + code
                + (code.contains("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH") ? ": " + DRIVER_MISMATCH_FIX : "");
    }

    /** Loads JCuda's native library once; without libcuda.so.1 (no NVIDIA driver) that is where it fails. */
    private static synchronized void loadNatives() {
        if (!nativeLoaded && nativeLoadFailure == null) {
            try {
                jcuda.driver.JCudaDriver.setExceptionsEnabled(true);
                nativeLoaded = true;
            } catch (LinkageError e) {
                nativeLoadFailure = describeLinkFailure(e, "libcuda.so",
                        NO_DRIVER_LIBRARY,
                        "JCuda's native library failed to load");
            }
        }
        if (nativeLoadFailure != null) {
            throw new CudaUnavailableException(nativeLoadFailure);
        }
    }

    /**
     * One line for a native library that failed to link: {@code missingLibLine} when the message names
     * {@code missingLib}, otherwise {@code otherLine} with the first line of the deepest message.
     */
    static String describeLinkFailure(Throwable e, String missingLib, String missingLibLine, String otherLine) {
        String last = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null) {
                if (m.contains(missingLib)) {
                    return missingLibLine;
                }
                last = m;
            }
        }
        return otherLine + (last == null ? "" : ": " + last.lines().findFirst().orElse("").trim());
    }

    /** The first reason JCublas failed to link in this JVM, see {@link #cublasLinkFailure}. */
    private static String firstCublasLinkFailure;

    /**
     * Why JCublas did not link. Once JCublas2's static initialiser has failed, every later attempt in the same
     * JVM (a backend opened again, as bench does per batch size) fails only with "NoClassDefFoundError: Could
     * not initialize class", which no longer names the library; so the first reason is kept and given again.
     */
    static synchronized String cublasLinkFailure(LinkageError e) {
        if (firstCublasLinkFailure == null) {
            firstCublasLinkFailure = describeLinkFailure(e, "libcublas.so",
                    "libcublas.so.12 (CUDA 12 cuBLAS, which JCublas 12.6 needs) is not installed",
                    "JCublas' native library failed to load");
        }
        return firstCublasLinkFailure;
    }

    private static byte[] readPtx(String module) {
        String resource = "/kernels/" + module + ".ptx";
        try (InputStream in = JCudaDriver.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new CudaUnavailableException("PTX load failed: resource " + resource + " is missing from the jar");
            }
            byte[] text = in.readAllBytes();
            // cuModuleLoadData reads PTX as a NUL-terminated string
            return Arrays.copyOf(text, text.length + 1);
        } catch (IOException e) {
            throw new CudaUnavailableException("PTX load failed: cannot read " + resource + ": " + e.getMessage());
        }
    }

    private static CUmodule loadModule(String name, byte[] ptx, CUdevice device) {
        CUmodule module = new CUmodule();
        try {
            cuModuleLoadData(module, ptx);
        } catch (CudaException e) {
            String hint = e.getMessage().contains("UNSUPPORTED_PTX_VERSION")
                    ? " (" + ptxVersionHint(new String(ptx, StandardCharsets.US_ASCII), readInfo(device).driverApi()) + ")"
                    : "";
            throw new CudaUnavailableException("PTX load failed for kernels/" + name + ".ptx: " + e.getMessage() + hint);
        }
        return module;
    }

    /**
     * Why a driver refuses PTX as too new: a driver loads PTX from an nvcc no newer than its own CUDA
     * version, and the PTX's banner names the nvcc release that wrote it.
     */
    static String ptxVersionHint(String ptx, String driverCuda) {
        Matcher m = NVCC_RELEASE.matcher(ptx);
        String writer = m.find() ? "nvcc " + m.group(1) : "a newer nvcc";
        return "the PTX was written by " + writer + " and needs a driver for that CUDA version or newer; this driver"
                + " supports CUDA " + driverCuda + ": update the NVIDIA driver, or rebuild the jar (make jar) with an nvcc"
                + " no newer than CUDA " + driverCuda;
    }

    private static DeviceInfo readInfo(CUdevice device) {
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        int[] major = {0};
        int[] minor = {0};
        cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        long[] memory = {0};
        cuDeviceTotalMem(memory, device);
        int[] version = {0};
        cuDriverGetVersion(version);
        return new DeviceInfo(new String(name, 0, len, StandardCharsets.UTF_8), major[0], minor[0], memory[0], version[0]);
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    @Override
    public DevicePtr alloc(long bytes) {
        requireNotCapturing("cuMemAlloc");
        DeviceMemory p = new DeviceMemory();
        try {
            cuMemAlloc(p, bytes);
        } catch (CudaException e) {
            throw new CudaOperationException(String.format("cuMemAlloc of %d bytes (%.1f MiB) failed: %s",
                    bytes, bytes / (1024.0 * 1024), e.getMessage()), e);
        }
        return new DevicePtr(p, 0);
    }

    @Override
    public long memGetInfo() {
        long[] free = {0};
        long[] total = {0};
        try {
            cuMemGetInfo(free, total);
        } catch (CudaException e) {
            throw failed("cuMemGetInfo", e);
        }
        return free[0];
    }

    @Override
    public void free(DevicePtr ptr) {
        requireNotCapturing("cuMemFree");
        try {
            cuMemFree(base(ptr));
        } catch (CudaException e) {
            throw failed("cuMemFree", e);
        }
    }

    @Override
    public void copyToDevice(DevicePtr dst, float[] src, int srcOffset, int count) {
        copyIn(dst, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.FLOAT), (long) count * Sizeof.FLOAT, srcOffset, count, src.length);
    }

    @Override
    public void copyToDevice(DevicePtr dst, int[] src, int srcOffset, int count) {
        copyIn(dst, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.INT), (long) count * Sizeof.INT, srcOffset, count, src.length);
    }

    @Override
    public void copyToDevice(DevicePtr dst, byte[] src, int srcOffset, int count) {
        copyIn(dst, Pointer.to(src).withByteOffset(srcOffset), count, srcOffset, count, src.length);
    }

    @Override
    public void copyToHost(DevicePtr src, float[] dst, int dstOffset, int count) {
        checkRange(dstOffset, count, dst.length);
        copyOut(src, (long) count * Sizeof.FLOAT,
                (staged, done, bytes) -> staged.asFloatBuffer().get(dst, dstOffset + (int) (done / Sizeof.FLOAT), bytes / Sizeof.FLOAT));
    }

    @Override
    public void copyToHost(DevicePtr src, int[] dst, int dstOffset, int count) {
        checkRange(dstOffset, count, dst.length);
        copyOut(src, (long) count * Sizeof.INT,
                (staged, done, bytes) -> staged.asIntBuffer().get(dst, dstOffset + (int) (done / Sizeof.INT), bytes / Sizeof.INT));
    }

    @Override
    public void copyToHost(DevicePtr src, byte[] dst, int dstOffset, int count) {
        checkRange(dstOffset, count, dst.length);
        copyOut(src, count, (staged, done, bytes) -> staged.get(dst, dstOffset + (int) done, bytes));
    }

    /** Pageable memory: cuMemcpyHtoDAsync stages it before it returns, so the array may change at once. */
    private void copyIn(DevicePtr dst, Pointer host, long bytes, int offset, int count, int length) {
        checkRange(offset, count, length);
        requireNotCapturing("cuMemcpyHtoDAsync from pageable memory");
        try {
            cuMemcpyHtoDAsync(at(dst), host, bytes, stream);
        } catch (CudaException e) {
            throw failed("cuMemcpyHtoDAsync of " + bytes + " bytes", e);
        }
    }

    /** Where one staged piece of a copy to the host goes: {@code bytes} bytes, {@code done} bytes into the copy. */
    @FunctionalInterface
    private interface Unstage {
        void take(ByteBuffer staged, long done, int bytes);
    }

    /** Through the pinned staging buffer, a piece at a time: an asynchronous copy, then a wait for the stream. */
    private void copyOut(DevicePtr src, long bytes, Unstage unstage) {
        requireNotCapturing("a copy to the host");
        for (long done = 0; done < bytes; ) {
            int piece = (int) Math.min(bytes - done, STAGING_BYTES);
            ByteBuffer staged = staging(piece);
            try {
                cuMemcpyDtoHAsync(staging, at(src).withByteOffset(done), piece, stream);
                cuStreamSynchronize(stream);
            } catch (CudaException e) {
                throw failed("cuMemcpyDtoHAsync of " + bytes + " bytes", e);
            }
            unstage.take(staged.limit(piece), done, piece);
            done += piece;
        }
        if (timer != null) {
            timer.endWindow();
        }
    }

    /** The pinned staging buffer, grown to at least {@code bytes}. */
    private ByteBuffer staging(int bytes) {
        if (stagingBytes < bytes) {
            if (staging != null) {
                cuMemFreeHost(staging);
            }
            HostMemory grown = new HostMemory();
            int size = Math.max(bytes, 64 << 10);
            try {
                cuMemAllocHost(grown, size);
            } catch (CudaException e) {
                staging = null;
                stagingBytes = 0;
                throw failed("cuMemAllocHost of " + size + " bytes", e);
            }
            staging = grown;
            stagingBytes = size;
            stagingBuffer = grown.getByteBuffer(0, size);
        }
        return stagingBuffer.duplicate().order(ByteOrder.nativeOrder()).clear();
    }

    private static void checkRange(int offset, int count, int length) {
        if (offset < 0 || count < 0 || offset + count > length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + count + " outside host array of " + length);
        }
    }

    @Override
    public void memset(DevicePtr dst, byte value, long bytes) {
        try {
            cuMemsetD8Async(at(dst), value, bytes, stream);
        } catch (CudaException e) {
            throw failed("cuMemsetD8Async of " + bytes + " bytes", e);
        }
    }

    @Override
    public LaunchArguments arguments(Kernel kernel) {
        CUfunction f = functions[kernel.ordinal()];
        if (f == null) {
            throw new IllegalArgumentException("kernel " + kernel.symbol + " was not loaded");
        }
        requireNotCapturing("a new launch site (cuMemAllocHost)");
        HostSlice block = hostSlice(LaunchArguments.bytes(kernel));
        return new LaunchArguments(kernel, block.buffer(), block.address(), JCudaDriver::deviceAddress,
                new KernelParams(block.address(), this, f));
    }

    @Override
    public void launch(LaunchArguments args, LaunchConfig c) {
        if (!(args.handle() instanceof KernelParams params) || params.owner != this) {
            throw new IllegalArgumentException(args + " was not made by this driver");
        }
        // events and synchronisation have no place in a graph: a captured launch is timed and checked when it replays
        boolean eager = !capturing;
        try {
            if (timer != null && eager) {
                timer.before();
            }
            cuLaunchKernel(params.function, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(),
                    c.sharedBytes(), stream, params, null);
            if (timer != null && eager) {
                timer.after(args.kernel().symbol);
            }
            if (syncEachLaunch && eager) {
                cuStreamSynchronize(stream);
            }
        } catch (CudaException e) {
            throw failed("launch of kernel " + args.kernel().symbol + " (" + c + ")", e);
        }
    }

    /** The device address of {@code p}: its allocation's address plus its offset. */
    private static long deviceAddress(DevicePtr p) {
        if (p.isNull()) {
            return 0;
        }
        if (p.allocation() instanceof DeviceMemory m) {
            return m.address() + p.byteOffset();
        }
        throw new IllegalArgumentException("not a device pointer of this driver: " + p);
    }

    /** Bytes of pinned host memory: a native-order buffer over them and their address. */
    private record HostSlice(ByteBuffer buffer, long address) {
    }

    /** {@code bytes} bytes of pinned host memory, 8-aligned, from the current chunk or a new one. */
    private HostSlice hostSlice(int bytes) {
        if (bytes > HOST_CHUNK_BYTES) {
            throw new IllegalArgumentException(bytes + " bytes of arguments");
        }
        if (hostChunk == null || hostChunkUsed + bytes > HOST_CHUNK_BYTES) {
            HostMemory chunk = new HostMemory();
            try {
                cuMemAllocHost(chunk, HOST_CHUNK_BYTES);
            } catch (CudaException e) {
                throw failed("cuMemAllocHost of " + HOST_CHUNK_BYTES + " bytes", e);
            }
            hostChunks.add(chunk);
            hostChunk = chunk.getByteBuffer(0, HOST_CHUNK_BYTES);
            hostChunkAddress = chunk.address();
            hostChunkUsed = 0;
            if (hostChunk == null || hostChunkAddress == 0) {
                throw new CudaOperationException("cuMemAllocHost gave no host memory");
            }
        }
        HostSlice slice = new HostSlice(hostChunk.slice(hostChunkUsed, bytes).order(ByteOrder.nativeOrder()),
                hostChunkAddress + hostChunkUsed);
        hostChunkUsed += (bytes + 7) & ~7;
        return slice;
    }

    @Override
    public synchronized Optional<String> gemmUnavailableReason() {
        if (cublas == null && cublasFailure == null) {
            try {
                JCublas2.setExceptionsEnabled(true);
                requireNotCapturing("cublasCreate");
                cublasHandle h = new cublasHandle();
                JCublas2.cublasCreate(h);
                cublas = h;
                JCublas2.cublasSetStream(h, new cudaStream_t(stream));
                DeviceMemory workspace = new DeviceMemory();
                cuMemAlloc(workspace, CUBLAS_WORKSPACE_BYTES);
                cublasWorkspace = workspace;
                JCublas2.cublasSetWorkspace(h, workspace, CUBLAS_WORKSPACE_BYTES);
            } catch (LinkageError e) {
                cublasFailure = cublasLinkFailure(e);
            } catch (CudaException e) {
                cublasFailure = "cublasCreate failed: " + e.getMessage();
            }
        }
        return Optional.ofNullable(cublasFailure);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
                     DevicePtr b, int ldb, float beta, DevicePtr c, int ldc) {
        if (gemmUnavailableReason().isPresent()) {
            throw new IllegalStateException("cuBLAS is not available: " + cublasFailure);
        }
        if (gemmScalars == null) {
            HostSlice scalars = hostSlice(2 * Float.BYTES);
            gemmScalars = scalars.buffer();
            gemmAlpha = new NativeAddress(scalars.address());
            gemmBeta = new NativeAddress(scalars.address() + Float.BYTES);
        }
        gemmScalars.putFloat(0, alpha).putFloat(Float.BYTES, beta);
        boolean eager = !capturing;
        try {
            if (timer != null && eager) {
                timer.before();
            }
            JCublas2.cublasSgemm(cublas, op(transA), op(transB), m, n, k, gemmAlpha, at(a), lda, at(b), ldb, gemmBeta,
                    at(c), ldc);
            if (timer != null && eager) {
                timer.after("cublasSgemm");
            }
        } catch (CudaException e) {
            throw failed("cublasSgemm(" + m + "x" + n + "x" + k + ")", e);
        }
    }

    private static int op(boolean trans) {
        return trans ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
    }

    @Override
    public synchronized Cudnn cudnn() {
        if (cudnn == null) {
            requireNotCapturing("cudnnCreate");
            cudnn = JCudnnLibrary.open(stream, JCudaDriver::at);
        }
        return cudnn;
    }

    /** The cuDNN version this process loads, or why none does, without creating a handle (for {@code info}). */
    public static String cudnnVersion() {
        return JCudnnLibrary.probe();
    }

    @Override
    public void beginCapture() {
        if (capturing) {
            throw new IllegalStateException("already capturing");
        }
        try {
            cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_GLOBAL);
        } catch (CudaException e) {
            throw failed("cuStreamBeginCapture", e);
        }
        capturing = true;
    }

    @Override
    public CudaGraph endCapture() {
        if (!capturing) {
            throw new IllegalStateException("not capturing");
        }
        capturing = false;
        CUgraph graph = new CUgraph();
        try {
            cuStreamEndCapture(stream, graph);
        } catch (CudaException e) {
            throw failed("cuStreamEndCapture", e);
        }
        CUgraphExec exec = new CUgraphExec();
        try {
            cuGraphInstantiate(exec, graph, 0);
        } catch (CudaException e) {
            cuGraphDestroy(graph);
            throw failed("cuGraphInstantiate", e);
        }
        return new Graph(this, graph, exec);
    }

    /** A captured graph and its executable instance. */
    private static final class Graph implements CudaGraph {
        final JCudaDriver owner;
        final CUgraph graph;
        final CUgraphExec exec;
        boolean closed;

        Graph(JCudaDriver owner, CUgraph graph, CUgraphExec exec) {
            this.owner = owner;
            this.graph = graph;
            this.exec = exec;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                cuGraphExecDestroy(exec);
                cuGraphDestroy(graph);
            }
        }
    }

    @Override
    public void launch(CudaGraph graph) {
        if (!(graph instanceof Graph g) || g.owner != this || g.closed) {
            throw new IllegalArgumentException("not a live graph of this driver: " + graph);
        }
        try {
            cuGraphLaunch(g.exec, stream);
            if (syncEachLaunch) {
                cuStreamSynchronize(stream);
            }
        } catch (CudaException e) {
            throw failed("cuGraphLaunch", e);
        }
    }

    /** What CUDA forbids while the stream captures fails here first, with a message that says so. */
    private void requireNotCapturing(String what) {
        if (capturing) {
            throw new CudaOperationException(what + " is not allowed while a CUDA graph is being captured");
        }
    }

    @Override
    public void synchronize() {
        requireNotCapturing("cuStreamSynchronize");
        try {
            cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw failed("cuStreamSynchronize", e);
        }
        if (timer != null) {
            timer.endWindow();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // after a kernel fault every call fails with it; each step still runs, so the context is released
        List<Runnable> steps = new ArrayList<>();
        if (timer != null) {
            steps.add(timer::close);
        }
        if (cudnn != null) {
            steps.add(cudnn::close);
        }
        if (cublas != null) {
            steps.add(() -> JCublas2.cublasDestroy(cublas));
        }
        if (cublasWorkspace != null) {
            steps.add(() -> cuMemFree(cublasWorkspace));
        }
        if (staging != null) {
            steps.add(() -> cuMemFreeHost(staging));
        }
        steps.add(() -> cuStreamDestroy(stream));
        modules.values().forEach(m -> steps.add(() -> cuModuleUnload(m)));
        hostChunks.forEach(h -> steps.add(() -> cuMemFreeHost(h)));
        steps.add(() -> cuDevicePrimaryCtxRelease(device));
        CudaException first = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (CudaException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw failed("closing the CUDA device", first);
        }
    }

    private static CUdeviceptr base(DevicePtr p) {
        if (p.allocation() instanceof CUdeviceptr d) {
            return d;
        }
        throw new IllegalArgumentException("not a JCuda device pointer: " + p);
    }

    private static CUdeviceptr at(DevicePtr p) {
        CUdeviceptr base = base(p);
        return p.byteOffset() == 0 ? base : base.withByteOffset(p.byteOffset());
    }

    /**
     * {@value #EVENTS_ENV}: every launch and GEMM between two CUDA events, and at each wait for the device
     * (when all of them have completed) one JSON line per window with each kernel's launches and summed
     * milliseconds: {"window":N,"kernels":{"conv2d_forward":{"launches":200,"ms":1.234},...}}.
     */
    private static final class LaunchTimer {
        private final Path file;
        private final BufferedWriter writer;
        private final ArrayDeque<CUevent> pool = new ArrayDeque<>();
        private final List<CUevent> starts = new ArrayList<>();
        private final List<CUevent> ends = new ArrayList<>();
        private final List<String> names = new ArrayList<>();
        private final CUstream stream;
        private CUevent start;
        private int window;

        LaunchTimer(Path file, CUstream stream) {
            this.file = file;
            this.stream = stream;
            try {
                writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new InputException(EVENTS_ENV + "=" + file + ": cannot write it: " + e.getMessage());
            }
        }

        void before() {
            start = event();
            cuEventRecord(start, stream);
        }

        void after(String name) {
            CUevent end = event();
            cuEventRecord(end, stream);
            starts.add(start);
            ends.add(end);
            names.add(name);
        }

        private CUevent event() {
            CUevent e = pool.poll();
            if (e == null) {
                e = new CUevent();
                cuEventCreate(e, 0);
            }
            return e;
        }

        /** The device has caught up: sums the window's times per kernel and writes its line. */
        void endWindow() {
            if (names.isEmpty()) {
                return;
            }
            cuEventSynchronize(ends.get(ends.size() - 1));
            Map<String, double[]> sums = new LinkedHashMap<>();
            float[] ms = {0};
            for (int i = 0; i < names.size(); i++) {
                cuEventElapsedTime(ms, starts.get(i), ends.get(i));
                double[] sum = sums.computeIfAbsent(names.get(i), k -> new double[2]);
                sum[0]++;
                sum[1] += ms[0];
            }
            pool.addAll(starts);
            pool.addAll(ends);
            starts.clear();
            ends.clear();
            names.clear();
            StringBuilder line = new StringBuilder("{\"window\":").append(++window).append(",\"kernels\":{");
            String sep = "";
            for (Map.Entry<String, double[]> e : sums.entrySet()) {
                line.append(sep).append('"').append(e.getKey()).append("\":{\"launches\":").append((long) e.getValue()[0])
                        .append(",\"ms\":").append(String.format(Locale.ROOT, "%.6f", e.getValue()[1])).append('}');
                sep = ",";
            }
            line.append("}}\n");
            try {
                writer.write(line.toString());
                writer.flush();
            } catch (IOException e) {
                throw new CudaOperationException(EVENTS_ENV + "=" + file + ": cannot write it: " + e.getMessage());
            }
        }

        void close() {
            try {
                writer.close();
            } catch (IOException e) {
                // the lines written so far are flushed; nothing else to keep
            }
            starts.forEach(JCudaDriver::destroy);
            ends.forEach(JCudaDriver::destroy);
            pool.forEach(JCudaDriver::destroy);
        }
    }

    private static void destroy(CUevent e) {
        try {
            cuEventDestroy(e);
        } catch (CudaException ignored) {
            // closing: the context goes next
        }
    }

    private static CudaOperationException failed(String what, CudaException e) {
        return new CudaOperationException(failureMessage(what, e.getMessage()), e);
    }

    /**
     * "{@code what} failed: {@code code}"; for an error raised by a running kernel, also that it may come
     * from any earlier launch, and how to find which.
     */
    static String failureMessage(String what, String code) {
        String message = what + " failed: " + code;
        if (ASYNC_ERRORS.contains(code)) {
            message += " (raised by a kernel of this or an earlier launch, since launches are asynchronous; "
                    + SYNC_ENV + "=1 synchronises after every launch to name the kernel)";
        }
        return message;
    }
}
