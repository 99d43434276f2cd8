package gpulenet;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files that are not regular files, for tests of what readers do with them. */
public final class SpecialFiles {
    /** A character device that every Linux machine has; reading it never ends. */
    public static final Path ZERO_DEVICE = Path.of("/dev/zero");

    private SpecialFiles() {
    }

    /** Creates a FIFO at {@code path} with mkfifo; skips the test where mkfifo is not installed. */
    public static Path fifo(Path path) {
        try {
            Process p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
            assumeTrue(p.waitFor() == 0 && Files.exists(path), "mkfifo could not create " + path);
            return path;
        } catch (IOException e) {
            assumeTrue(false, "mkfifo is not available: " + e.getMessage());
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
