package gpulenet.backend.cuda;

import gpulenet.io.InputException;

import java.util.Locale;

/** What runs the convolutions, max-pools and ReLUs on the GPU (--conv): the project's kernels, or cuDNN. */
public enum ConvChoice {
    KERNELS, CUDNN;

    /** Parses a {@code --conv} value (case-insensitive). */
    public static ConvChoice parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InputException("--conv: expected kernels or cudnn, got '" + value + "'");
        }
    }
}
