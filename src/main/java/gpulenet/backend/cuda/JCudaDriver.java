package gpulenet.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;

/**
 * {@link CudaDriver} on a real GPU through JCuda's driver API: device 0, its primary context (the one
 * cuBLAS, which uses the runtime API, also binds to), the kernels' PTX loaded from the jar's
 * kernels/*.ptx resources and every function looked up once. cuBLAS (JCublas2) is loaded only when
 * first asked for, and its absence (JCublas 12.6 needs libcublas.so.12) is a recorded reason, not an
 * error. JCuda exceptions are enabled once; every failure is rethrown naming the call that failed.
 * Use it from one thread: the context is made current on the thread that opened it.
 *
 * <p>Launches are asynchronous, so a kernel that faults is reported by a later call. With the
 * environment variable {@value #SYNC_ENV}=1 every launch is followed by a synchronisation, so the
 * failure names its kernel (slow; for debugging).
 */
public final class JCudaDriver implements CudaDriver {

    public static final String SYNC_ENV = "GPULENET_CUDA_SYNC";

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
    private final Map<String, CUfunction> functions;
    private final boolean syncEachLaunch = "1".equals(System.getenv(SYNC_ENV));
    private cublasHandle cublas;
    private String cublasFailure;
    private boolean closed;

    private JCudaDriver(CUdevice device, DeviceInfo info, Map<String, CUmodule> modules,
                        Map<String, CUfunction> functions) {
        this.device = device;
        this.info = info;
        this.modules = modules;
        this.functions = functions;
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
            String code = e.getMessage();
            throw new CudaUnavailableException(code.contains("CUDA_ERROR_NO_DEVICE")
                    ? "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)"
                    : "the CUDA driver is installed but cuInit failed with " + code);
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
        Map<String, CUfunction> functions = new HashMap<>();
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
                functions.put(k.symbol, f);
            }
            return new JCudaDriver(device, readInfo(device), modules, functions);
        } catch (RuntimeException e) {
            modules.values().forEach(m -> cuModuleUnload(m));
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /** Loads JCuda's native library once; without libcuda.so.1 (no NVIDIA driver) that is where it fails. */
    private static synchronized void loadNatives() {
        if (!nativeLoaded && nativeLoadFailure == null) {
            try {
                jcuda.driver.JCudaDriver.setExceptionsEnabled(true);
                nativeLoaded = true;
            } catch (LinkageError e) {
                nativeLoadFailure = describeLinkFailure(e, "libcuda.so",
                        "no CUDA driver: libcuda.so.1 (the NVIDIA driver library) is not installed",
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
        CUdeviceptr p = new CUdeviceptr();
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
        copyOut(src, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.FLOAT), (long) count * Sizeof.FLOAT, dstOffset, count, dst.length);
    }

    @Override
    public void copyToHost(DevicePtr src, int[] dst, int dstOffset, int count) {
        copyOut(src, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.INT), (long) count * Sizeof.INT, dstOffset, count, dst.length);
    }

    @Override
    public void copyToHost(DevicePtr src, byte[] dst, int dstOffset, int count) {
        copyOut(src, Pointer.to(dst).withByteOffset(dstOffset), count, dstOffset, count, dst.length);
    }

    private void copyIn(DevicePtr dst, Pointer host, long bytes, int offset, int count, int length) {
        checkRange(offset, count, length);
        try {
            cuMemcpyHtoD(at(dst), host, bytes);
        } catch (CudaException e) {
            throw failed("cuMemcpyHtoD of " + bytes + " bytes", e);
        }
    }

    private void copyOut(DevicePtr src, Pointer host, long bytes, int offset, int count, int length) {
        checkRange(offset, count, length);
        try {
            cuMemcpyDtoH(host, at(src), bytes);
        } catch (CudaException e) {
            throw failed("cuMemcpyDtoH of " + bytes + " bytes", e);
        }
    }

    private static void checkRange(int offset, int count, int length) {
        if (offset < 0 || count < 0 || offset + count > length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + count + " outside host array of " + length);
        }
    }

    @Override
    public void memset(DevicePtr dst, byte value, long bytes) {
        try {
            cuMemsetD8(at(dst), value, bytes);
        } catch (CudaException e) {
            throw failed("cuMemsetD8 of " + bytes + " bytes", e);
        }
    }

    @Override
    public void launch(String kernel, LaunchConfig c, Object... args) {
        CUfunction f = functions.get(kernel);
        if (f == null) {
            throw new IllegalArgumentException("kernel " + kernel + " was not loaded");
        }
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = argument(kernel, i, args[i]);
        }
        try {
            cuLaunchKernel(f, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(), c.sharedBytes(),
                    null, Pointer.to(params), null);
            if (syncEachLaunch) {
                cuCtxSynchronize();
            }
        } catch (CudaException e) {
            throw failed("launch of kernel " + kernel + " (" + c + ")", e);
        }
    }

    /** A pointer to the argument's value, as cuLaunchKernel's kernelParams wants. */
    private static Pointer argument(String kernel, int i, Object arg) {
        if (arg instanceof DevicePtr p) {
            return Pointer.to(p.isNull() ? new CUdeviceptr() : at(p));
        } else if (arg instanceof Integer v) {
            return Pointer.to(new int[] {v});
        } else if (arg instanceof Long v) {
            return Pointer.to(new long[] {v});
        } else if (arg instanceof Float v) {
            return Pointer.to(new float[] {v});
        }
        throw new IllegalArgumentException(kernel + " argument " + i + " has unsupported type "
                + (arg == null ? "null" : arg.getClass().getName()));
    }

    @Override
    public synchronized Optional<String> gemmUnavailableReason() {
        if (cublas == null && cublasFailure == null) {
            try {
                JCublas2.setExceptionsEnabled(true);
                cublasHandle h = new cublasHandle();
                JCublas2.cublasCreate(h);
                cublas = h;
            } catch (LinkageError e) {
                cublasFailure = describeLinkFailure(e, "libcublas.so",
                        "libcublas.so.12 (CUDA 12 cuBLAS, which JCublas 12.6 needs) is not installed",
                        "JCublas' native library failed to load");
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
        try {
            JCublas2.cublasSgemm(cublas, op(transA), op(transB), m, n, k, Pointer.to(new float[] {alpha}), at(a), lda,
                    at(b), ldb, Pointer.to(new float[] {beta}), at(c), ldc);
        } catch (CudaException e) {
            throw failed("cublasSgemm(" + m + "x" + n + "x" + k + ")", e);
        }
    }

    private static int op(boolean trans) {
        return trans ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
    }

    @Override
    public void synchronize() {
        try {
            cuCtxSynchronize();
        } catch (CudaException e) {
            throw failed("cuCtxSynchronize", e);
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
        if (cublas != null) {
            steps.add(() -> JCublas2.cublasDestroy(cublas));
        }
        modules.values().forEach(m -> steps.add(() -> cuModuleUnload(m)));
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
