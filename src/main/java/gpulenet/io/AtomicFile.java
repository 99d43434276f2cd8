package gpulenet.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;

/**
 * Whole-file writes that a crash cannot leave half done, over a regular file or a missing path only.
 * A symlink is followed to its final target, and the target is replaced (in the target's directory),
 * never the link. A new file gets the mode the umask gives; a replaced file keeps its mode.
 */
public final class AtomicFile {
    /** As Linux's limit on symlinks followed in one lookup. */
    private static final int MAX_LINKS = 40;
    private static final int S_IFMT = 0170000;

    private AtomicFile() {
    }

    /**
     * Writes to a temporary file beside the target of {@code path}, forces it to disk, then renames it
     * over the target, so a crash leaves either the old file or the new one, never half of one.
     */
    public static void write(Path path, byte[] content) throws IOException {
        Destination d = destination(path);
        TempFiles.removeStale(d.dir(), d.name());
        Path tmp = TempFiles.create(d.dir(), d.name());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            if (d.exists()) {
                copyPermissions(d.target(), tmp); // after the writing: the old mode may not allow it
            }
            try {
                Files.move(tmp, d.target(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, d.target(), StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            TempFiles.delete(tmp);
        }
    }

    /**
     * Fails, with the reason, where {@link #write} would: {@code path} (or its symlink's target) is not a
     * regular file, or its directory cannot be created or written. For checking an output path before
     * the work that produces the content. Creates the directory to try it, as the write would, and removes
     * what it created again, so a run refused later leaves nothing behind; the write creates it anew.
     */
    public static void checkWritable(Path path) throws IOException {
        Directories.trial(target(path).toAbsolutePath().getParent(), () -> {
            Destination d = destination(path);
            TempFiles.delete(TempFiles.create(d.dir(), d.name()));
        });
    }

    /** Where a write to {@code path} goes: its final target, that target's directory and file name. */
    private record Destination(Path target, Path dir, String name, boolean exists) {
    }

    /** The destination of {@code path}, refused unless it is a regular file or missing; its directory is created. */
    private static Destination destination(Path path) throws IOException {
        Path target = target(path);
        boolean exists = requireRegularOrMissing(path, target);
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return new Destination(target, dir, target.getFileName().toString(), exists);
    }

    /** {@code path} with every symlink in its last component followed; a dangling link gives the missing target. */
    static Path target(Path path) throws IOException {
        Path p = path;
        for (int links = 0; Files.isSymbolicLink(p); links++) {
            if (links == MAX_LINKS) {
                throw new FileSystemLoopException(path.toString());
            }
            Path link = Files.readSymbolicLink(p);
            Path parent = p.getParent();
            p = parent == null ? link : parent.resolve(link);
        }
        return p;
    }

    /** Whether {@code target} (where {@code path} leads) exists: it must be a regular file if it does. */
    static boolean requireRegularOrMissing(Path path, Path target) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (attrs.isRegularFile()) {
            return true;
        }
        throw new FileSystemException(target.toString(), null,
                (target.equals(path) ? "it" : "its target " + target) + " is " + kind(target, attrs) + ", not a regular file");
    }

    private static String kind(Path target, BasicFileAttributes attrs) throws IOException {
        if (attrs.isDirectory()) {
            return "a directory";
        }
        if (!target.getFileSystem().supportedFileAttributeViews().contains("unix")) {
            return "a special file";
        }
        int mode = (Integer) Files.getAttribute(target, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return switch (mode & S_IFMT) {
            case 0020000 -> "a character device";
            case 0060000 -> "a block device";
            case 0010000 -> "a FIFO";
            case 0140000 -> "a socket";
            default -> "a special file";
        };
    }

    private static void copyPermissions(Path from, Path to) throws IOException {
        PosixFileAttributeView fromView = Files.getFileAttributeView(from, PosixFileAttributeView.class);
        if (fromView != null) {
            Files.setPosixFilePermissions(to, fromView.readAttributes().permissions());
        }
    }
}
