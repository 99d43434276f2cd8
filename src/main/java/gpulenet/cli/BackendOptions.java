package gpulenet.cli;

import gpulenet.backend.Backends;
import gpulenet.backend.cpu.CpuBackend;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Where to compute: the options of every command that computes on one device. */
public class BackendOptions {
    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where to compute: cuda, cpu, or auto (the GPU when usable, else the CPU). Default: ${DEFAULT-VALUE}.")
    String device;

    @Mixin
    ThreadsOption threads;

    @Mixin
    GemmOption gemm;

    @Mixin
    ConvOption conv;

    /** Opens the backend and prints the one line saying which one and why. */
    public Backends.Choice openBackend(PrintWriter out) {
        Backends.Choice choice = Backends.open(device, threads.threads, gemm.choice(), conv.choice());
        out.println(choice.line());
        out.flush();
        return choice;
    }

    /** Starts the CPU backend's JIT set-up ahead of it, unless the device is cuda. */
    void prepareCpu() {
        if (!"cuda".equals(device)) {
            CpuBackend.prepare();
        }
    }
}
