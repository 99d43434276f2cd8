package gpulenet.cli;

import gpulenet.backend.Backends;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.data.DataSets;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;

/** The options every command that computes shares: where to compute and on what data. */
public final class DeviceOptions {
    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where to compute: cuda, cpu, or auto (the GPU when usable, else the CPU). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU worker threads; 0 means one per core. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--gemm", paramLabel = "auto|cublas|kernel", defaultValue = "auto",
            description = "GEMM of the linear layers on CUDA: cuBLAS, our sgemm kernel, or auto (cuBLAS where it loads). "
                    + "Default: ${DEFAULT-VALUE}.")
    String gemm;

    @Option(names = "--data", paramLabel = "DIR",
            description = "IDX data set directory with the four standard MNIST file names (optionally .gz). "
                    + "Default: the MNIST copy inside the jar.")
    Path data;

    /** Opens the backend and prints the one line saying which one and why. */
    public Backends.Choice openBackend(PrintWriter out) {
        Backends.Choice choice = Backends.open(device, threads, GemmChoice.parse(gemm));
        out.println(choice.line());
        out.flush();
        return choice;
    }

    public DataSets loadData() {
        return data != null ? DataSets.load(data) : DataSets.embedded();
    }
}
