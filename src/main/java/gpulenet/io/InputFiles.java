package gpulenet.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * What a path the user gave is, found without opening it: opening a FIFO blocks until something writes
 * to it, and a device such as /dev/zero never ends, so input files are checked to be regular files first.
 */
public final class InputFiles {
    // File-type bits of st_mode (S_IFMT and its values), as the "unix:mode" attribute reports them.
    private static final int TYPE_MASK = 0170000;
    private static final int FIFO = 0010000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final int BLOCK_DEVICE = 0060000;
    private static final int SOCKET = 0140000;

    private InputFiles() {
    }

    /**
     * The attributes of {@code path} (symbolic links followed), or empty when nothing is there. Any other
     * failure (permission denied, a symbolic link loop) is an {@link InputException} with the reason,
     * starting with {@code name}: how the message names the path.
     */
    public static Optional<BasicFileAttributes> attributes(Path path, String name) {
        try {
            return Optional.of(Files.readAttributes(path, BasicFileAttributes.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new InputException(name + ": cannot read: " + IoReasons.reason(e));
        }
    }

    /** The size of {@code file}, which must be a regular file; anything else is an {@link InputException}. */
    public static long requireRegularFile(Path file) {
        BasicFileAttributes a = attributes(file, file.toString())
                .orElseThrow(() -> new InputException(file + ": no such file"));
        if (!a.isRegularFile()) {
            throw new InputException(file + ": not a regular file: " + kind(file, a));
        }
        return a.size();
    }

    /** What {@code path} is, in words: "a directory", "a FIFO", "a character device", ... */
    public static String kind(Path path, BasicFileAttributes a) {
        if (a.isRegularFile()) {
            return "a regular file";
        }
        if (a.isDirectory()) {
            return "a directory";
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file";
        }
        switch (mode & TYPE_MASK) {
            case FIFO: return "a FIFO";
            case CHARACTER_DEVICE: return "a character device";
            case BLOCK_DEVICE: return "a block device";
            case SOCKET: return "a socket";
            default: return "a special file";
        }
    }
}
