package gpulenet;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class IoReasonsTest {
    @Test
    void theReasonNotThePath() {
        assertEquals("Permission denied", IoReasons.reason(new AccessDeniedException("/root/m")));
        assertEquals("No such file or directory", IoReasons.reason(new NoSuchFileException("/no/m")));
        assertEquals("Not a directory", IoReasons.reason(new NotDirectoryException("/etc/passwd")));
        assertEquals("Too many levels of symbolic links", IoReasons.reason(new FileSystemLoopException("/l")));
        assertEquals("Read-only file system", IoReasons.reason(new FileSystemException("/m", null, "Read-only file system")));
        // FileChannel.write on a full disk
        assertEquals("No space left on device", IoReasons.reason(new IOException("No space left on device")));
    }

    @Test
    void theOperatingSystemsReasonForARealFailure() {
        IOException e = assertThrows(IOException.class, () -> Files.readAllBytes(Path.of("/no/such/dir/file")));
        assertEquals("No such file or directory", IoReasons.reason(e));
        IOException notDir = assertThrows(IOException.class, () -> Files.createFile(Path.of("/dev/null/x")));
        assertEquals("Not a directory", IoReasons.reason(notDir));
    }
}
