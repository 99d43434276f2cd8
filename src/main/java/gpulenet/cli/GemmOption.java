package gpulenet.cli;

import gpulenet.backend.cuda.GemmChoice;
import picocli.CommandLine.Option;

/** --gemm: which GEMM runs the linear layers on CUDA. */
public final class GemmOption {
    @Option(names = "--gemm", paramLabel = "auto|cublas|kernel", defaultValue = "auto",
            description = "GEMM of the linear layers on CUDA: cuBLAS, our sgemm kernel, or auto (cuBLAS where it loads). "
                    + "Default: ${DEFAULT-VALUE}.")
    String gemm;

    public GemmChoice choice() {
        return GemmChoice.parse(gemm);
    }

    /** The value as given, for reports. */
    public String text() {
        return gemm;
    }
}
