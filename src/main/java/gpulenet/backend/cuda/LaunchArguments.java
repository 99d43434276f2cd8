package gpulenet.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The arguments of one kernel launch site, in native memory laid out as cuLaunchKernel's
 * {@code kernelParams} wants them: a table of n pointers, the i-th pointing at the i-th value, then the
 * values, one 8-byte slot each. A {@link CudaDriver} makes the block ({@link CudaDriver#arguments}) and
 * fills the table once; a launch hands the driver the table's address, so nothing is marshalled per call.
 *
 * <p>{@link #set} writes only the values that differ from those the block holds: at a site whose device
 * pointers and sizes stay the same from step to step (a layer's op at one batch size), a launch writes
 * nothing but the scalars that changed (a batch's start offset, the learning rate, a step count). The
 * driver reads the values when the launch is queued (cuLaunchKernel copies them), so the block may be
 * rewritten as soon as {@link CudaDriver#launch} returns. Not thread-safe, like the driver it belongs to.
 */
public final class LaunchArguments {

    /** How a driver turns a device pointer into the address a kernel receives (0 for {@link DevicePtr#NULL}). */
    @FunctionalInterface
    public interface Addresses {
        long address(DevicePtr p);
    }

    /** Bytes of one pointer in the table and of one value slot. */
    public static final int SLOT = 8;

    private final Kernel kernel;
    private final Kernel.Arg[] params;
    private final ByteBuffer block;
    private final long address;
    private final Addresses addresses;
    private final Object handle;
    /** Per slot: the pointer it holds (PTR slots), or null while nothing is written. */
    private final DevicePtr[] pointers;
    /** Per slot: the scalar's bits (INT, LONG, FLOAT slots). */
    private final long[] bits;
    private final boolean[] written;
    private long writes;

    /**
     * A block for {@code kernel} in {@code block} (at least {@link #bytes} bytes of native memory at
     * {@code address}); writes its pointer table. {@code handle} is the driver's own (what it launches
     * with), returned by {@link #handle}.
     */
    public LaunchArguments(Kernel kernel, ByteBuffer block, long address, Addresses addresses, Object handle) {
        this.kernel = kernel;
        List<Kernel.Arg> list = kernel.params();
        this.params = list.toArray(new Kernel.Arg[0]);
        int n = params.length;
        if (!block.isDirect() || block.capacity() < bytes(kernel)) {
            throw new IllegalArgumentException(kernel.symbol + " needs a direct block of " + bytes(kernel) + " bytes, got "
                    + block);
        }
        this.block = block.duplicate().order(ByteOrder.nativeOrder());
        this.address = address;
        this.addresses = addresses;
        this.handle = handle;
        this.pointers = new DevicePtr[n];
        this.bits = new long[n];
        this.written = new boolean[n];
        for (int i = 0; i < n; i++) {
            this.block.putLong(i * SLOT, valueAddress(i));
        }
    }

    /** Native bytes a block for {@code kernel} takes: its pointer table and its value slots. */
    public static int bytes(Kernel kernel) {
        return Math.max(1, kernel.params().size()) * 2 * SLOT;
    }

    public Kernel kernel() {
        return kernel;
    }

    /** Native address of the pointer table: the {@code kernelParams} of a launch. */
    public long address() {
        return address;
    }

    /** Native address of the i-th value. */
    public long valueAddress(int i) {
        return address + (long) (params.length + i) * SLOT;
    }

    /** What the driver that made the block launches it with. */
    public Object handle() {
        return handle;
    }

    /** How many values have been written into the block since it was made. */
    public long writes() {
        return writes;
    }

    /**
     * Makes the block hold {@code args} ({@link DevicePtr}, {@link Integer}, {@link Long}, {@link Float}, as
     * the kernel's C signature declares them; checked first, so a bad list changes nothing), writing only
     * the values that differ from what it holds.
     */
    public void set(Object... args) {
        kernel.checkArgs(args);
        for (int i = 0; i < args.length; i++) {
            switch (params[i]) {
                case PTR -> pointer(i, (DevicePtr) args[i]);
                case INT -> int32(i, (Integer) args[i]);
                case LONG -> int64(i, (Long) args[i]);
                case FLOAT -> float32(i, (Float) args[i]);
                default -> throw new IllegalStateException(params[i].toString());
            }
        }
    }

    /** True when every pointer of {@code args} is the one the block holds (same allocation and offset). */
    public boolean holdsPointers(Object[] args) {
        if (args.length != params.length) {
            return false;
        }
        for (int i = 0; i < args.length; i++) {
            if (params[i] == Kernel.Arg.PTR && !(args[i] instanceof DevicePtr p && same(pointers[i], p))) {
                return false;
            }
        }
        return true;
    }

    public void pointer(int i, DevicePtr p) {
        check(i, Kernel.Arg.PTR);
        if (!same(pointers[i], p)) {
            block.putLong(valueOffset(i), p.isNull() ? 0 : addresses.address(p));
            pointers[i] = p;
            written[i] = true;
            writes++;
        }
    }

    public void int32(int i, int v) {
        check(i, Kernel.Arg.INT);
        if (!written[i] || bits[i] != v) {
            block.putInt(valueOffset(i), v);
            remember(i, v);
        }
    }

    public void int64(int i, long v) {
        check(i, Kernel.Arg.LONG);
        if (!written[i] || bits[i] != v) {
            block.putLong(valueOffset(i), v);
            remember(i, v);
        }
    }

    public void float32(int i, float v) {
        check(i, Kernel.Arg.FLOAT);
        long b = Float.floatToRawIntBits(v);
        if (!written[i] || bits[i] != b) {
            block.putFloat(valueOffset(i), v);
            remember(i, b);
        }
    }

    /** The pointer slot i holds (null before it is written); for drivers that check what a launch reads. */
    public DevicePtr pointerAt(int i) {
        check(i, Kernel.Arg.PTR);
        return pointers[i];
    }

    /** True when every value has been written at least once, so a launch reads no unset slot. */
    public boolean complete() {
        for (boolean w : written) {
            if (!w) {
                return false;
            }
        }
        return true;
    }

    /** The i-th value as the block holds it in native memory: a device address as a Long for pointers. */
    public Object valueAt(int i) {
        int at = valueOffset(i);
        return switch (params[i]) {
            case PTR, LONG -> block.getLong(at);
            case INT -> block.getInt(at);
            case FLOAT -> block.getFloat(at);
        };
    }

    @Override
    public String toString() {
        return "LaunchArguments[" + kernel.symbol + " at 0x" + Long.toHexString(address) + ", " + writes + " writes]";
    }

    private void remember(int i, long b) {
        bits[i] = b;
        written[i] = true;
        writes++;
    }

    private int valueOffset(int i) {
        return (params.length + i) * SLOT;
    }

    private void check(int i, Kernel.Arg kind) {
        if (params[i] != kind) {
            throw new IllegalArgumentException(kernel.symbol + " argument " + i + " must be " + params[i] + ", not " + kind);
        }
    }

    private static boolean same(DevicePtr held, DevicePtr p) {
        return held != null && p != null
                && (held == p || (held.allocation() == p.allocation() && held.byteOffset() == p.byteOffset()));
    }
}
