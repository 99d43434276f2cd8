package gpulenet;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;

/**
 * Whole-file writes that a crash cannot leave half done. A new file gets the mode the umask gives; a
 * replaced file keeps its mode.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /**
     * Writes to a temporary file beside {@code path}, forces it to disk, then renames it over
     * {@code path}, so a crash leaves either the old file or the new one, never half of one.
     */
    public static void write(Path path, byte[] content) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        String name = path.getFileName().toString();
        boolean exists = Files.exists(path);
        TempFiles.removeStale(dir, name);
        Path tmp = TempFiles.create(dir, name);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            if (exists) {
                copyPermissions(path, tmp); // after the writing: the old mode may not allow it
            }
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            TempFiles.delete(tmp);
        }
    }

    private static void copyPermissions(Path from, Path to) throws IOException {
        PosixFileAttributeView fromView = Files.getFileAttributeView(from, PosixFileAttributeView.class);
        if (fromView != null) {
            Files.setPosixFilePermissions(to, fromView.readAttributes().permissions());
        }
    }
}
