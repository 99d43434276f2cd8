package gpulenet.cli;

import gpulenet.backend.cuda.DeviceInfo;
import gpulenet.backend.cuda.JCudaBindingVersion;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The versions {@code info} prints on a GPU host, each named for what it is. */
class InfoVersionLinesTest {

    @Test
    void theDriversCudaVersionAndTheBindingsReleaseAreNamed() {
        DeviceInfo h100 = new DeviceInfo("NVIDIA H100 80GB HBM3", 9, 0, 80L << 30, 12080);
        assertEquals(List.of("CUDA driver: supports CUDA 12.8 (cuDriverGetVersion)", "JCuda bindings: 12.6.0"),
                InfoCommand.versionLines(h100, "12.6.0"));
    }

    @Test
    void theBindingsVersionIsTheJCudaRelease() {
        // JCuda 12.6.0's own CUDART_VERSION says 12000; the release on the class path is what the pom names
        assertTrue(JCudaBindingVersion.get().matches("12\\.6\\.\\d+"), JCudaBindingVersion.get());
    }
}
