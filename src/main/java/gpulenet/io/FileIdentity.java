package gpulenet.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Which file a path names in the end, so that two flags naming one file are caught however they spell it:
 * symbolic links (in the last component too, dangling ones to where they would create the file), "..", and
 * hard links, which only the device and inode number tell apart.
 *
 * @param real where the file is or would be created: the real path of its directory and its name
 * @param key  the file system's key of an existing file (device and inode on Linux), or null when it is missing
 */
public record FileIdentity(Path real, Object key) {

    /** The identity of {@code path}; a path nothing can resolve (a loop, a file as directory) keeps its spelling. */
    public static FileIdentity of(Path path) {
        Path target;
        try {
            target = AtomicFile.target(path).toAbsolutePath();
        } catch (IOException e) {
            return new FileIdentity(path.toAbsolutePath().normalize(), null);
        }
        try {
            BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class);
            return new FileIdentity(target.toRealPath(), a.fileKey());
        } catch (IOException e) {
            return new FileIdentity(realDirectory(target.getParent()).resolve(target.getFileName()), null);
        }
    }

    /** Whether this and {@code other} are the same file: the same key when both exist, else the same real path. */
    public boolean sameFile(FileIdentity other) {
        if (key != null && other.key != null) {
            return key.equals(other.key);
        }
        return real.equals(other.real);
    }

    /** {@code dir} with its longest existing prefix resolved to a real path and the rest normalised. */
    private static Path realDirectory(Path dir) {
        if (dir == null) {
            return Path.of("/");
        }
        try {
            return dir.toRealPath();
        } catch (NoSuchFileException e) {
            return realDirectory(dir.getParent()).resolve(dir.getFileName()).normalize();
        } catch (IOException e) {
            return dir.normalize();
        }
    }
}
