package gpulenet.cli;

import gpulenet.backend.Backends;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;

/** The options every command that computes on one device shares: where to compute and on what data. */
public final class DeviceOptions {
    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where to compute: cuda, cpu, or auto (the GPU when usable, else the CPU). Default: ${DEFAULT-VALUE}.")
    String device;

    @Mixin
    ThreadsOption threads;

    @Mixin
    GemmOption gemm;

    @Mixin
    DataOption data;

    /** Whether --data was given (rather than the MNIST inside the jar being used). */
    public boolean dataGiven() {
        return data.data != null;
    }

    /** The --data directory, or null for the MNIST inside the jar. */
    public Path dataDir() {
        return data.data;
    }

    /** Opens the backend and prints the one line saying which one and why. */
    public Backends.Choice openBackend(PrintWriter out) {
        Backends.Choice choice = Backends.open(device, threads.threads, gemm.choice());
        out.println(choice.line());
        out.flush();
        return choice;
    }

    /**
     * Loads the data set. Unless the device is cuda, the CPU backend's JIT set-up starts first, so that
     * it runs while the data loads rather than during the first training steps.
     */
    public DataSets loadData() {
        prepareCpu();
        return data.load();
    }

    /** Loads the test split alone, as {@link #loadData} does the whole data set. */
    public Dataset loadTestData() {
        prepareCpu();
        return data.loadTest();
    }

    private void prepareCpu() {
        if (!"cuda".equals(device)) {
            CpuBackend.prepare();
        }
    }
}
