package gpulenet;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;

/**
 * The operating system's reason for a failed file operation, for one-line messages that already name
 * the file. java.nio.file's exceptions often carry only the path in getMessage() and put the reason
 * in their type (AccessDeniedException for EACCES, NoSuchFileException for ENOENT, ...).
 */
public final class IoReasons {
    private IoReasons() {
    }

    /** E.g. "Permission denied", "No space left on device", "Not a directory". */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException fse) {
            if (fse.getReason() != null) {
                return fse.getReason();
            }
            if (e instanceof AccessDeniedException) {
                return "Permission denied";
            }
            if (e instanceof NoSuchFileException) {
                return "No such file or directory";
            }
            if (e instanceof NotDirectoryException) {
                return "Not a directory";
            }
            if (e instanceof FileAlreadyExistsException) {
                return "File exists";
            }
            if (e instanceof DirectoryNotEmptyException) {
                return "Directory not empty";
            }
            if (e instanceof NotLinkException) {
                return "Not a symbolic link";
            }
            if (e instanceof FileSystemLoopException) {
                return "Too many levels of symbolic links";
            }
            return e.getClass().getSimpleName();
        }
        // Plain IOExceptions from reads and writes (ENOSPC, EIO, ...) carry the reason as their message.
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
