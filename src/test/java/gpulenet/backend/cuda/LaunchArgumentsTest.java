package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

/**
 * The native argument block of one launch site: laid out as cuLaunchKernel's kernelParams (a table of
 * pointers to the values, filled once), and written per launch only where a value changed.
 */
class LaunchArgumentsTest {

    /** Fake device addresses: the allocation's number times 4096, plus the offset. */
    private static long fakeAddress(DevicePtr p) {
        return ((Integer) p.allocation()) * 4096L + p.byteOffset();
    }

    private static LaunchArguments sgdBlock(Memory memory) {
        Kernel k = Kernel.SGD_MOMENTUM;
        return new LaunchArguments(k, memory.getByteBuffer(0, LaunchArguments.bytes(k)), Pointer.nativeValue(memory),
                LaunchArgumentsTest::fakeAddress, memory);
    }

    private static Object[] sgdArgs(DevicePtr params, float lr, int firstStep) {
        return new Object[] {params, new DevicePtr(2, 0), new DevicePtr(3, 64), 1000, DevicePtr.NULL, DevicePtr.NULL, lr, 0.9f,
                0f, firstStep};
    }

    @Test
    void theTableOfPointersIsWrittenOnceAndEveryValueSitsWhereItsPointerSays() {
        try (Memory memory = new Memory(LaunchArguments.bytes(Kernel.SGD_MOMENTUM))) {
            LaunchArguments block = sgdBlock(memory);
            int n = Kernel.SGD_MOMENTUM.params().size();
            assertEquals(2 * n * LaunchArguments.SLOT, LaunchArguments.bytes(Kernel.SGD_MOMENTUM));
            assertEquals(0, block.writes(), "making the block writes the table only");
            assertFalse(block.complete());
            block.set(sgdArgs(new DevicePtr(1, 128), 0.05f, 1));
            assertTrue(block.complete());
            assertEquals(n, block.writes());
            Pointer table = new Pointer(block.address());
            for (int i = 0; i < n; i++) {
                assertEquals(block.valueAddress(i), Pointer.nativeValue(table.getPointer((long) i * Native.POINTER_SIZE)),
                        "table entry " + i);
            }
            Pointer values = new Pointer(block.valueAddress(0));
            assertEquals(4096L + 128, values.getLong(0), "a pointer is its device address");
            assertEquals(2 * 4096L, values.getLong(8));
            assertEquals(3 * 4096L + 64, values.getLong(16));
            assertEquals(1000, values.getInt(24));
            assertEquals(0L, values.getLong(32), "no schedule: NULL");
            assertEquals(0L, values.getLong(40));
            assertEquals(0.05f, values.getFloat(48));
            assertEquals(0.9f, values.getFloat(56));
            assertEquals(0f, values.getFloat(64));
            assertEquals(1, values.getInt(72));
            assertEquals(1000, block.valueAt(3));
            assertEquals(4096L + 128, block.valueAt(0));
        }
    }

    @Test
    void onlyTheValuesThatChangedAreWritten() {
        try (Memory memory = new Memory(LaunchArguments.bytes(Kernel.SGD_MOMENTUM))) {
            LaunchArguments block = sgdBlock(memory);
            block.set(sgdArgs(new DevicePtr(1, 0), 0.05f, 1));
            long first = block.writes();

            // the same values, the pointer a new object for the same address: nothing to write
            block.set(sgdArgs(new DevicePtr(1, 0), 0.05f, 1));
            assertEquals(first, block.writes());

            // the second step: the first-step flag changes
            block.set(sgdArgs(new DevicePtr(1, 0), 0.05f, 0));
            assertEquals(first + 1, block.writes());
            assertEquals(0, block.valueAt(9));

            // the next epoch: the learning rate changes
            block.set(sgdArgs(new DevicePtr(1, 0), 0.035f, 0));
            assertEquals(first + 2, block.writes());
            assertEquals(0.035f, block.valueAt(6));

            // another offset into the same allocation is another address
            block.set(sgdArgs(new DevicePtr(1, 256), 0.035f, 0));
            assertEquals(first + 3, block.writes());
            assertEquals(4096L + 256, block.valueAt(0));

            // -0f and 0f are different bits, so the kernel must see the new one
            block.float32(8, -0f);
            assertEquals(first + 4, block.writes());
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits((Float) block.valueAt(8)));
        }
    }

    @Test
    void theNullPointerIsAddressZeroAndBlocksMatchTheirPointers() {
        Kernel k = Kernel.SOFTMAX_CROSS_ENTROPY;
        try (Memory memory = new Memory(LaunchArguments.bytes(k))) {
            LaunchArguments block = new LaunchArguments(k, memory.getByteBuffer(0, LaunchArguments.bytes(k)),
                    Pointer.nativeValue(memory), LaunchArgumentsTest::fakeAddress, memory);
            Object[] args = {new DevicePtr(1, 0), new DevicePtr(2, 0), DevicePtr.NULL, new DevicePtr(3, 0), 64, 10};
            assertFalse(block.holdsPointers(args), "a fresh block holds nothing");
            block.set(args);
            assertEquals(0L, block.valueAt(2));
            assertTrue(block.holdsPointers(args));
            assertTrue(block.holdsPointers(new Object[] {new DevicePtr(1, 0), new DevicePtr(2, 0), DevicePtr.NULL,
                    new DevicePtr(3, 0), 128, 10}), "scalars do not tell sites apart");
            assertFalse(block.holdsPointers(new Object[] {new DevicePtr(1, 0), new DevicePtr(2, 0), new DevicePtr(4, 0),
                    new DevicePtr(3, 0), 64, 10}));
            assertFalse(block.holdsPointers(new Object[] {new DevicePtr(1, 4), new DevicePtr(2, 0), DevicePtr.NULL,
                    new DevicePtr(3, 0), 64, 10}));
        }
    }

    @Test
    void aBadArgumentListChangesNothing() {
        try (Memory memory = new Memory(LaunchArguments.bytes(Kernel.SGD_MOMENTUM))) {
            LaunchArguments block = sgdBlock(memory);
            block.set(sgdArgs(new DevicePtr(1, 0), 0.05f, 1));
            long writes = block.writes();
            Object[] bad = sgdArgs(new DevicePtr(5, 0), 0.5f, 0);
            bad[3] = 1000L;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> block.set(bad));
            assertTrue(e.getMessage().contains("sgd_momentum argument 3 must be INT"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> block.set(new DevicePtr(1, 0)));
            assertThrows(IllegalArgumentException.class, () -> block.int32(6, 1));
            assertEquals(writes, block.writes());
            assertEquals(4096L, block.valueAt(0));
            assertEquals(0.05f, block.valueAt(6));
        }
    }

    @Test
    void aBlockTooSmallIsRefused() {
        try (Memory memory = new Memory(16)) {
            assertThrows(IllegalArgumentException.class, () -> new LaunchArguments(Kernel.SGD_MOMENTUM,
                    memory.getByteBuffer(0, 16), Pointer.nativeValue(memory), LaunchArgumentsTest::fakeAddress, memory));
        }
    }
}
