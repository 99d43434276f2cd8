package gpulenet.io;

import java.nio.file.FileSystemException;

/** Another process (or another writer in this one) holds the lock on a file that only one writer may append to. */
public final class FileInUseException extends FileSystemException {
    public FileInUseException(String file) {
        super(file, null, "in use by another run (it is locked)");
    }
}
