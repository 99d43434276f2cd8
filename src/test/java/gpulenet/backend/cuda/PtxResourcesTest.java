package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The jar ships a PTX module for every kernel the backend launches, with that kernel as an entry. */
class PtxResourcesTest {

    @Test
    void everyLaunchedKernelIsAnEntryOfItsShippedModule() throws IOException {
        for (Kernel k : Kernel.values()) {
            String resource = "/kernels/" + k.module + ".ptx";
            try (InputStream in = JCudaDriver.class.getResourceAsStream(resource)) {
                assertNotNull(in, resource + " is not on the classpath (make kernels writes it)");
                String ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(ptx.matches("(?s).*\\.entry\\s+" + k.symbol + "\\s*\\(.*"), resource + " has no entry " + k.symbol);
            }
        }
    }
}
