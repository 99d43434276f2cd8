package gpulenet.backend;

import gpulenet.InputException;
import gpulenet.backend.cpu.CpuBackend;

/** Picks and opens the backend for a --device value. */
public final class Backends {
    public static final String DEVICES = "auto, cpu or cuda";

    /** An open backend and a short phrase saying why it was chosen (printed by the commands). */
    public record Choice(Backend backend, String reason) {
    }

    private Backends() {
    }

    /**
     * Opens the backend for {@code device}: "cpu"; "cuda" (fails with an {@link InputException} saying why
     * when no GPU is usable); "auto", the GPU when usable, else the CPU.
     *
     * @param threads CPU worker threads, 0 for one per available core
     */
    public static Choice open(String device, int threads) {
        if (threads < 0) {
            throw new InputException("--threads must be zero (all cores) or positive, got " + threads);
        }
        switch (device) {
            case "cpu":
                return cpu(threads, "--device cpu");
            case "cuda":
                throw new InputException("--device cuda: " + cudaUnavailableReason());
            case "auto":
                return cpu(threads, "--device auto: " + cudaUnavailableReason());
            default:
                throw new InputException("--device must be " + DEVICES + ", got " + device);
        }
    }

    private static String cudaUnavailableReason() {
        return "the CUDA backend is not available in this build";
    }

    private static Choice cpu(int threads, String why) {
        return new Choice(new CpuBackend(threads > 0 ? threads : Runtime.getRuntime().availableProcessors()), why);
    }
}
