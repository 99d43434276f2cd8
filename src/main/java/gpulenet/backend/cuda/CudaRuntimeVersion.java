package gpulenet.backend.cuda;

import jcuda.runtime.JCuda;

/**
 * The CUDA runtime version the JCuda bindings carry (JCuda links the runtime into its native library),
 * for {@code info}. Asked of the runtime where its native library loads, else the version JCuda was
 * built for.
 */
public final class CudaRuntimeVersion {
    private CudaRuntimeVersion() {
    }

    /** For example "12.6". */
    public static String get() {
        int[] version = {JCuda.CUDART_VERSION};
        try {
            JCuda.cudaRuntimeGetVersion(version);
        } catch (LinkageError | RuntimeException e) {
            version[0] = JCuda.CUDART_VERSION;
            return format(version[0]) + " (the version JCuda was built for; its runtime library did not load)";
        }
        return format(version[0]);
    }

    /** CUDA's encoding 1000 * major + 10 * minor as "major.minor". */
    public static String format(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }
}
