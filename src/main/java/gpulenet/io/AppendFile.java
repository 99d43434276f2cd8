package gpulenet.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file written in place as a run goes (train --metrics), by one writer at a time: the writer holds an
 * exclusive lock on it (fcntl, which a second process sees) for as long as it writes, so two runs given the same
 * file cannot interleave their lines. Unlike an {@link AtomicFile}, it needs write permission on the file only,
 * not on its directory, when it exists.
 */
public final class AppendFile {
    private AppendFile() {
    }

    /**
     * Fails, with the reason, where {@link #open} would: the file (or its symlink's target) is not a regular file,
     * cannot be opened for writing, is locked by another writer, or is missing and cannot be created. Changes
     * nothing: a missing file (and its directory) is created to try it and removed again.
     */
    public static void checkWritable(Path path) throws IOException {
        Path target = AtomicFile.target(path);
        if (AtomicFile.requireRegularOrMissing(path, target)) {
            try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE)) {
                lock(ch, target).release();
            }
            return;
        }
        Path dir = target.toAbsolutePath().getParent();
        Directories.trial(dir, () -> {
            Files.createDirectories(dir);
            TempFiles.delete(TempFiles.create(dir, target.getFileName().toString()));
        });
    }

    /**
     * Opens {@code path} (a symlink is followed) for writing, created if missing, and locks it; then empties it,
     * unless {@code append}. The lock comes first, so a file another run is writing is refused untouched.
     */
    public static FileChannel open(Path path, boolean append) throws IOException {
        Path target = AtomicFile.target(path);
        AtomicFile.requireRegularOrMissing(path, target);
        FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            lock(ch, target);
            if (append) {
                ch.position(ch.size());
            } else {
                ch.truncate(0);
            }
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** An exclusive lock on the whole file, held until {@code ch} is closed. */
    private static FileLock lock(FileChannel ch, Path target) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // this JVM already holds it: another writer here
        }
        if (lock == null) {
            throw new FileInUseException(target.toString());
        }
        return lock;
    }
}
