package gpulenet.backend;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.backend.cuda.ConvChoice;
import gpulenet.backend.cuda.CudaBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.backend.cuda.KernelBuildId;
import gpulenet.io.InputException;

import java.util.function.Function;

/** Picks and opens the backend for a --device value. */
public final class Backends {
    public static final String DEVICES = "auto, cpu or cuda";

    /** An open backend and a short phrase saying why it was chosen (printed by the commands). */
    public record Choice(Backend backend, String reason) {
        /** The one line the commands print: what runs, and why this backend. */
        public String line() {
            return "Device: " + describe(backend) + " (" + reason + ")";
        }
    }

    private Backends() {
    }

    /**
     * Opens the backend for {@code device}: "cpu"; "cuda" (fails with an {@link InputException} saying why
     * when no GPU is usable); "auto", the GPU when usable, else the CPU with the reason the GPU is not used.
     *
     * @param threads CPU worker threads, 0 for one per available core
     * @param gemm    which GEMM the CUDA backend's linear layers use
     */
    public static Choice open(String device, int threads, GemmChoice gemm) {
        return open(device, threads, gemm, CudaBackend::open);
    }

    /**
     * {@link #open(String, int, GemmChoice)} with the convolutions on {@code conv}. cuDNN runs on the GPU only,
     * so with {@link ConvChoice#CUDNN}, "auto" means "cuda" and "cpu" is refused.
     */
    public static Choice open(String device, int threads, GemmChoice gemm, ConvChoice conv) {
        if (conv == ConvChoice.KERNELS) {
            return open(device, threads, gemm);
        }
        if (device.equals("cpu")) {
            throw new InputException("--conv cudnn runs on the GPU: it needs --device cuda or auto, not cpu");
        }
        try {
            return open(device.equals("auto") ? "cuda" : device, threads, gemm, g -> CudaBackend.open(g, conv));
        } catch (InputException e) {
            throw new InputException(e.getMessage().replace("--device cuda: ", "--conv cudnn: "), e);
        }
    }

    /** As {@link #open(String, int, GemmChoice)}, with {@code openCuda} standing in for {@link CudaBackend#open}. */
    static Choice open(String device, int threads, GemmChoice gemm, Function<GemmChoice, Backend> openCuda) {
        int cpuThreads = cpuThreads(threads);
        switch (device) {
            case "cpu":
                return new Choice(new CpuBackend(cpuThreads), "--device cpu");
            case "cuda":
                try {
                    return new Choice(openCuda.apply(gemm), "--device cuda");
                } catch (CudaUnavailableException e) {
                    throw new InputException("--device cuda: CUDA is not usable: " + e.getMessage(), e);
                }
            case "auto":
                try {
                    return new Choice(openCuda.apply(gemm), "--device auto: a usable GPU was found");
                } catch (CudaUnavailableException e) {
                    return new Choice(new CpuBackend(cpuThreads),
                            "--device auto: CUDA is not usable, so the CPU runs: " + e.getMessage());
                }
            default:
                throw new InputException("--device must be " + DEVICES + ", got " + device);
        }
    }

    /**
     * The worker threads the CPU backend uses for a --threads value: the value itself, or one per available
     * core for 0. More than {@link #maxCpuThreads} is refused: each worker keeps its own buffers, and
     * threads beyond the cores only take turns on them.
     */
    public static int cpuThreads(int threads) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (threads < 0) {
            throw new InputException("--threads must be zero (all cores) or positive, got " + threads);
        }
        if (threads > maxCpuThreads()) {
            throw new InputException("--threads must be at most " + maxCpuThreads() + " (4 per core, and no fewer than 16; "
                    + "this machine has " + cores + (cores == 1 ? " core" : " cores") + "), got " + threads);
        }
        return threads > 0 ? threads : cores;
    }

    /** Four threads per core, and at least 16 so that runs compare across thread counts on a small machine. */
    public static int maxCpuThreads() {
        return Math.max(16, 4 * Runtime.getRuntime().availableProcessors());
    }

    /** The backend's own description, plus the kernel build id on CUDA (so a log says which kernels ran). */
    public static String describe(Backend backend) {
        return backend instanceof CudaBackend ? backend.describe() + ", kernels " + KernelBuildId.get() : backend.describe();
    }
}
