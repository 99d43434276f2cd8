package gpulenet.io;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks of output directories before the work that fills them. A check creates what the write would create,
 * to try it, and removes what it created again, so a run refused later leaves no empty directory behind.
 */
public final class Directories {
    /** What a check does once the directory it needs exists. */
    interface Trial {
        void run() throws IOException;
    }

    private Directories() {
    }

    /**
     * Fails, with the reason, where creating a file in {@code dir} would: it is not a directory, or cannot be
     * created or written.
     */
    public static void checkWritable(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new FileSystemException(dir.toString(), null, "it is not a directory");
        }
        trial(dir, () -> {
            Files.createDirectories(dir);
            TempFiles.delete(TempFiles.create(dir, "check"));
        });
    }

    /** Runs {@code trial}, which may create {@code dir} and its parents, then deletes those it created while empty. */
    static void trial(Path dir, Trial trial) throws IOException {
        Path absolute = dir.toAbsolutePath();
        Path outermostMissing = null;
        for (Path p = absolute; p != null && !Files.exists(p); p = p.getParent()) {
            outermostMissing = p;
        }
        try {
            trial.run();
        } finally {
            if (outermostMissing != null) {
                removeUpTo(absolute, outermostMissing);
            }
        }
    }

    private static void removeUpTo(Path dir, Path outermost) {
        for (Path p = dir; p != null && p.startsWith(outermost); p = p.getParent()) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                return; // not empty (another process is using it) or not ours to delete: keep it and its parents
            }
        }
    }
}
