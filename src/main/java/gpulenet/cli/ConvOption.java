package gpulenet.cli;

import gpulenet.backend.cuda.ConvChoice;
import picocli.CommandLine.Option;

/** --conv: what runs the convolutions, max-pools and ReLUs on CUDA. */
public final class ConvOption {
    @Option(names = "--conv", paramLabel = "kernels|cudnn", defaultValue = "kernels",
            description = "Convolutions, max-pools and ReLUs on CUDA: our kernels, or cuDNN 9 (libcudnn.so.9 on "
                    + "LD_LIBRARY_PATH), as an independent reference and a speed comparison. Default: ${DEFAULT-VALUE}.")
    String conv;

    public ConvChoice choice() {
        return ConvChoice.parse(conv);
    }
}
