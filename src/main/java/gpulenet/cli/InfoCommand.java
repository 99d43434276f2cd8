package gpulenet.cli;

import gpulenet.backend.cuda.CudaBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.CudaVersion;
import gpulenet.backend.cuda.DeviceInfo;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.backend.cuda.JCudaBindingVersion;
import gpulenet.backend.cuda.JCudaDriver;
import gpulenet.backend.cuda.KernelBuildId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code info}: what this host offers the two backends. Java and the CPU threads; for CUDA the device, the
 * driver's CUDA version and the JCuda bindings' version, which GEMM loads and the kernels' build id, or the
 * one-line reason CUDA is not usable (still exit 0: reporting that is this command's job).
 */
@Command(name = "info", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Show the Java runtime, the CPU threads, and the CUDA device, versions, GEMM and kernel build.")
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ThreadsOption threads;

    @Mixin
    GemmOption gemm;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        GemmChoice gemmChoice = gemm.choice();
        int cpuThreads = threads.cpuThreads();
        MachineFacts machine = MachineFacts.current();
        out.println(new Version().getVersion()[0]);
        out.printf(Locale.ROOT, "Java: %s, %s%n", machine.javaVersion(), machine.javaVm());
        out.println("OS: " + machine.os());
        out.printf(Locale.ROOT, "CPU: %s, %d cores; the CPU backend would use %d worker threads%n",
                machine.cpuModel(), machine.cores(), cpuThreads);
        try (CudaBackend cuda = CudaBackend.open(gemmChoice)) {
            DeviceInfo d = cuda.deviceInfo();
            out.printf(Locale.ROOT, "CUDA device: %s, compute capability %d.%d, %.1f GiB%n", d.name(), d.ccMajor(), d.ccMinor(),
                    d.totalMemoryBytes() / (1024.0 * 1024 * 1024));
            versionLines(d, JCudaBindingVersion.get()).forEach(out::println);
            out.println(cuda.gemmDescription());
            out.printf(Locale.ROOT, "Kernels: build %s (SHA-256 over the PTX of %s)%n", KernelBuildId.get(),
                    String.join(", ", KernelBuildId.modules()));
        } catch (CudaUnavailableException e) {
            out.println("CUDA: not usable: " + e.getMessage());
        }
        // loads the library only (no handle): what --conv cudnn would find
        out.println("cuDNN: " + JCudaDriver.cudnnVersion());
        out.flush();
        return 0;
    }

    /**
     * The versions that are true of this host, each named for what it is: the newest CUDA the driver supports
     * (cuDriverGetVersion) and the JCuda bindings' release (the CUDA toolkit they were built for).
     */
    static List<String> versionLines(DeviceInfo device, String bindingVersion) {
        return List.of("CUDA driver: supports CUDA " + CudaVersion.format(device.driverVersion()) + " (cuDriverGetVersion)",
                "JCuda bindings: " + bindingVersion);
    }
}
