package gpulenet.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The reason text of the exceptions the JDK throws for failed file operations, not their bare path. */
class IoReasonsTest {
    @Test
    void exceptionsWhoseMessageIsOnlyThePathGetTheirReasonFromTheType() {
        // As the JDK throws them for EACCES and ENOENT: getMessage() is just the path.
        assertEquals("permission denied", IoReasons.reason(new AccessDeniedException("/data/train-images-idx3-ubyte")));
        assertEquals("no such file or directory", IoReasons.reason(new NoSuchFileException("/data/x")));
        assertEquals("unexpected end of file", IoReasons.reason(new EOFException()));
    }

    @Test
    void fileSystemExceptionsGiveTheirReasonWithoutThePath() {
        assertEquals("input/output error", IoReasons.reason(new FileSystemException("/data/x", null, "Input/output error")));
        assertEquals("is a directory", IoReasons.reason(new IOException("Is a directory")));
        assertEquals("CRC mismatch", IoReasons.reason(new IOException("CRC mismatch")));
        assertEquals("I/O error (IOException)", IoReasons.reason(new IOException()));
    }

    @Test
    void writeFailuresGiveTheOperatingSystemsReason() {
        assertEquals("not a directory", IoReasons.reason(new NotDirectoryException("/etc/passwd")));
        assertEquals("too many levels of symbolic links", IoReasons.reason(new FileSystemLoopException("/l")));
        assertEquals("read-only file system", IoReasons.reason(new FileSystemException("/m", null, "Read-only file system")));
        // FileChannel.write on a full disk
        assertEquals("no space left on device", IoReasons.reason(new IOException("No space left on device")));
        IOException notDir = assertThrows(IOException.class, () -> Files.createFile(Path.of("/dev/null/x")));
        assertEquals("not a directory", IoReasons.reason(notDir));
    }

    @Test
    void aSymbolicLinkLoopSaysSo(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a");
        Files.createSymbolicLink(a, dir.resolve("b"));
        Files.createSymbolicLink(dir.resolve("b"), a);
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Files.readAttributes(a, BasicFileAttributes.class));
        assertEquals("too many levels of symbolic links", IoReasons.reason(e));
    }
}
