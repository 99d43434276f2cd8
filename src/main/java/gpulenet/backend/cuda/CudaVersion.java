package gpulenet.backend.cuda;

/** CUDA's version numbers (1000 * major + 10 * minor, as cuDriverGetVersion gives them) as text. */
public final class CudaVersion {
    private CudaVersion() {
    }

    /** For example 12080 as "12.8". */
    public static String format(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }
}
