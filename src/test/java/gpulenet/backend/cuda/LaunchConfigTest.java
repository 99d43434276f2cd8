package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LaunchConfigTest {

    @Test
    void acceptsTheLargestConfigurationAGpuAllows() {
        LaunchConfig c = new LaunchConfig(Integer.MAX_VALUE, 65535, 65535, 1024, 1, 1, 0);
        assertEquals(65535, c.gridZ());
        assertEquals(64, new LaunchConfig(1, 1, 1, 4, 4, 64, 0).blockZ());
    }

    @Test
    void rejectsWhatCuLaunchKernelWouldReject() {
        // the conv kernels put the batch in grid z: a batch of 65536 cannot launch
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(4, 2, 65536, 16, 16, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1, 65536, 1, 256, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1, 1, 1, 64, 32, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1, 1, 1, 1, 1, 65, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1, 1, 1, 2048, 1, 1, 0));
    }

    @Test
    void blocksCoverEveryElementAndRefuseAGridTooLongForX() {
        assertEquals(3, LaunchConfig.blocks(513, 256));
        assertEquals(1, LaunchConfig.blocks(0, 256));
        assertEquals(Integer.MAX_VALUE, LaunchConfig.blocks((long) Integer.MAX_VALUE * 256, 256));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.blocks((long) Integer.MAX_VALUE * 256 + 1, 256));
    }
}
