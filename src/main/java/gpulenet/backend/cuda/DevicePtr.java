package gpulenet.backend.cuda;

/**
 * An address in device memory: the allocation a {@link CudaDriver} handed out plus a byte offset into
 * it, so that views share their base's storage. The handle is opaque to everyone but the driver that
 * made it; {@link #NULL} is the null device pointer (an optional kernel output that is not wanted).
 */
public final class DevicePtr {
    public static final DevicePtr NULL = new DevicePtr(null, 0);

    private final Object allocation;
    private final long byteOffset;

    public DevicePtr(Object allocation, long byteOffset) {
        if (byteOffset < 0) {
            throw new IllegalArgumentException("negative byte offset " + byteOffset);
        }
        this.allocation = allocation;
        this.byteOffset = byteOffset;
    }

    /** The driver's handle of the whole allocation (null for {@link #NULL}). */
    public Object allocation() {
        return allocation;
    }

    public long byteOffset() {
        return byteOffset;
    }

    public boolean isNull() {
        return allocation == null;
    }

    public DevicePtr withByteOffset(long bytes) {
        if (isNull()) {
            throw new IllegalStateException("offset from the null device pointer");
        }
        return new DevicePtr(allocation, byteOffset + bytes);
    }

    @Override
    public String toString() {
        return isNull() ? "DevicePtr[NULL]" : "DevicePtr[" + allocation + "+" + byteOffset + "]";
    }
}
