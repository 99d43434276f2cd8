package gpulenet.backend.cuda;

import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening CUDA on a host without it gives a one-line reason, never a stack trace or a crash. */
class CudaProbeTest {

    @Test
    void hostWithoutDriverLibraryReportsNoDriver() {
        if (driverLibraryPresent()) {
            // a GPU host: opening must either work or give a one-line reason
            try (CudaBackend backend = CudaBackend.open(GemmChoice.AUTO)) {
                assertTrue(backend.describe().contains("GEMM"), backend.describe());
            } catch (CudaUnavailableException e) {
                assertOneLine(e.getMessage());
            }
            return;
        }
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaBackend.open(GemmChoice.AUTO));
        assertEquals(JCudaDriver.NO_DRIVER_LIBRARY, e.getMessage());
        assertTrue(e.getMessage().contains("--gpus all"), "says how a container gets the driver");
        assertTrue(e instanceof InputException, "the CLI reports it as a user-level error (exit 2)");
        // asking again gives the same answer (the failed native load is remembered, not retried)
        assertEquals(e.getMessage(), assertThrows(CudaUnavailableException.class, () -> CudaBackend.open(GemmChoice.KERNEL)).getMessage());
    }

    @Test
    void linkFailuresAreNamedByTheMissingLibrary() {
        UnsatisfiedLinkError cublas = new UnsatisfiedLinkError("Error while loading native library \"JCublas2-12.6.0\"\nmore");
        cublas.initCause(new UnsatisfiedLinkError("/tmp/libJCublas2.so: libcublas.so.12: cannot open shared object file"));
        assertEquals("cublas missing", JCudaDriver.describeLinkFailure(cublas, "libcublas.so", "cublas missing", "other"));
        UnsatisfiedLinkError arch = new UnsatisfiedLinkError("wrong ELF class: ELFCLASS32\nsecond line");
        assertEquals("other: wrong ELF class: ELFCLASS32", JCudaDriver.describeLinkFailure(arch, "libcuda.so", "no driver", "other"));
    }

    @Test
    void aReopenedBackendGivesTheFirstCublasLinkFailureAgain() {
        UnsatisfiedLinkError first = new UnsatisfiedLinkError("Error while loading native library \"JCublas2-12.6.0\"");
        first.initCause(new UnsatisfiedLinkError("/tmp/libJCublas2.so: libcublas.so.12: cannot open shared object file"));
        String reason = JCudaDriver.cublasLinkFailure(first);
        // the same JVM's next attempt: JCublas2's static initialiser is not run again
        String again = JCudaDriver.cublasLinkFailure(new NoClassDefFoundError("Could not initialize class jcuda.jcublas.JCublas2"));
        assertEquals(reason, again);
        assertFalse(again.contains("Could not initialize"), again);
    }

    private static void assertOneLine(String message) {
        assertFalse(message == null || message.isBlank() || message.contains("\n"), "one-line reason: " + message);
    }

    /** Whether libcuda.so.1 is where the dynamic loader looks on x86-64 Linux. */
    private static boolean driverLibraryPresent() {
        List<String> dirs = new ArrayList<>(List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
                "/lib64", "/usr/lib", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(File.pathSeparator)));
        }
        return dirs.stream().filter(d -> !d.isEmpty()).anyMatch(d -> Files.exists(Path.of(d, "libcuda.so.1")));
    }
}
