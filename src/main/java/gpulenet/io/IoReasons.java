package gpulenet.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/**
 * The operating system's reason for a failed file operation, in words for a one-line message. Java's
 * {@code getMessage()} of a file-system exception is often just the path, and for some types (access
 * denied, no such file) the reason is only in the exception's type.
 */
public final class IoReasons {
    // The JDK appends this to ELOOP's text, although following the links is all that failed.
    private static final String ELOOP_SUFFIX = " or unable to access attributes of symbolic link";

    private IoReasons() {
    }

    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof EOFException) {
            return "unexpected end of file";
        }
        if (e instanceof FileSystemLoopException) {
            return "too many levels of symbolic links";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "file exists";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        String text = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
        if (text == null || text.isBlank()) {
            return "I/O error (" + e.getClass().getSimpleName() + ")";
        }
        if (text.endsWith(ELOOP_SUFFIX)) {
            text = text.substring(0, text.length() - ELOOP_SUFFIX.length());
        }
        // "Permission denied" reads as the rest of the line does; "CRC mismatch" keeps its acronym.
        boolean capitalisedWord = text.length() > 1 && Character.isUpperCase(text.charAt(0)) && Character.isLowerCase(text.charAt(1));
        return capitalisedWord ? text.substring(0, 1).toLowerCase(Locale.ROOT) + text.substring(1) : text;
    }
}
