package gpulenet.backend.cuda;

/**
 * What the device is, for logs and {@code info}.
 *
 * @param driverVersion CUDA driver API version as the driver reports it, e.g. 12080 for 12.8
 */
public record DeviceInfo(String name, int ccMajor, int ccMinor, long totalMemoryBytes, int driverVersion) {
    /** The driver's CUDA version as major.minor, e.g. "12.8". */
    public String driverApi() {
        return CudaVersion.format(driverVersion);
    }

    @Override
    public String toString() {
        return String.format("%s (compute capability %d.%d, %.1f GiB, CUDA driver %s)", name, ccMajor, ccMinor,
                totalMemoryBytes / (1024.0 * 1024 * 1024), driverApi());
    }
}
