package gpulenet.backend.cuda;

import gpulenet.io.InputException;

import java.util.Locale;

/** Which GEMM the linear layers use: cuBLAS, our sgemm kernel, or cuBLAS where it loads and the kernel otherwise. */
public enum GemmChoice {
    CUBLAS, KERNEL, AUTO;

    /** Parses a {@code --gemm} value (case-insensitive). */
    public static GemmChoice parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InputException("--gemm: expected cublas, kernel or auto, got '" + value + "'");
        }
    }
}
