package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The messages a real GPU's failures get, which only a GPU would otherwise show. */
class JCudaDriverMessagesTest {

    @Test
    void aFaultOfARunningKernelPointsAtEarlierLaunches() {
        String m = JCudaDriver.failureMessage("cuMemcpyDtoH of 8 bytes", "CUDA_ERROR_ILLEGAL_ADDRESS");
        assertTrue(m.startsWith("cuMemcpyDtoH of 8 bytes failed: CUDA_ERROR_ILLEGAL_ADDRESS (raised by a kernel"), m);
        assertTrue(m.contains(JCudaDriver.SYNC_ENV + "=1"), m);
    }

    @Test
    void anErrorOfTheCallItselfIsNamedPlainly() {
        assertEquals("launch of kernel sgemm failed: CUDA_ERROR_INVALID_VALUE",
                JCudaDriver.failureMessage("launch of kernel sgemm", "CUDA_ERROR_INVALID_VALUE"));
    }

    @Test
    void ptxTooNewForTheDriverNamesTheNvccThatWroteIt() throws IOException {
        String ptx;
        try (InputStream in = JCudaDriver.class.getResourceAsStream("/kernels/sgd.ptx")) {
            ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        Matcher release = Pattern.compile("release (\\d+\\.\\d+)").matcher(ptx);
        assertTrue(release.find(), "the committed PTX carries nvcc's banner");
        String hint = JCudaDriver.ptxVersionHint(ptx, "12.4");
        assertTrue(hint.startsWith("the PTX was written by nvcc " + release.group(1) + " and needs a driver"), hint);
        assertTrue(hint.contains("this driver supports CUDA 12.4"), hint);
        assertTrue(JCudaDriver.ptxVersionHint("", "12.4").contains("a newer nvcc"));
    }

    @Test
    void aDriverLibraryOfAnotherVersionThanTheKernelModuleSaysHowToMatchThem() {
        String mismatch = JCudaDriver.cuInitFailure("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH");
        assertTrue(mismatch.startsWith("the CUDA driver is installed but cuInit failed with CUDA_ERROR_SYSTEM_DRIVER_MISMATCH: "),
                mismatch);
        assertTrue(mismatch.contains("reboot after a driver update"), mismatch);
        assertEquals("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)", JCudaDriver.cuInitFailure("CUDA_ERROR_NO_DEVICE"));
        assertEquals("the CUDA driver is installed but cuInit failed with CUDA_ERROR_UNKNOWN",
                JCudaDriver.cuInitFailure("CUDA_ERROR_UNKNOWN"));
    }
}
