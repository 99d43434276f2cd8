package gpulenet;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** FIFOs, device nodes and sockets for tests of readers and writers; a test is skipped where the system cannot make one. */
public final class SpecialFiles {
    /** A character device that every Linux machine has; reading it never ends. */
    public static final Path ZERO_DEVICE = Path.of("/dev/zero");

    private SpecialFiles() {
    }

    /** Creates a FIFO at {@code path} with mkfifo. */
    public static Path fifo(Path path) {
        return made(path, "mkfifo", path.toString());
    }

    /** A character device with the numbers of /dev/null (making one needs root). */
    public static Path charDevice(Path path) {
        return made(path, "mknod", path.toString(), "c", "1", "3");
    }

    /** A Unix-domain socket file; the socket is closed, the file stays. */
    public static Path socket(Path path) throws IOException {
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(path));
        }
        return path;
    }

    /** The file type as the kernel reports it (S_IFMT bits of unix:mode), to check a file was left alone. */
    public static int type(Path path) throws IOException {
        return (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000;
    }

    private static Path made(Path path, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assumeTrue(p.waitFor() == 0 && Files.exists(path, LinkOption.NOFOLLOW_LINKS),
                    String.join(" ", command) + " failed: " + output);
            return path;
        } catch (IOException e) {
            assumeTrue(false, command[0] + " is not available: " + e.getMessage());
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
