package gpulenet.backend.cuda;

import jcuda.JCudaVersion;

/**
 * The version of the JCuda bindings on the class path (e.g. "12.6.0"), for {@code info}. Read from the Java
 * side, so it is known even where no native library loads; JCuda's own CUDART_VERSION is not it (12.6.0
 * reports 12000).
 */
public final class JCudaBindingVersion {
    private JCudaBindingVersion() {
    }

    public static String get() {
        return JCudaVersion.get();
    }
}
