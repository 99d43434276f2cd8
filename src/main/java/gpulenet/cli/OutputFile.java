package gpulenet.cli;

import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The pre-flight check of an output flag (train --save, bench --json): a path that cannot be written is
 * refused before any data is loaded or any work is done, not after an epoch.
 */
final class OutputFile {
    private OutputFile() {
    }

    /** Nothing when {@code path} is null (the flag was not given). */
    static void requireWritable(String flag, Path path) {
        if (path == null) {
            return;
        }
        try {
            AtomicFile.checkWritable(path);
        } catch (IOException e) {
            throw new InputException(flag + " " + path + ": cannot write: " + IoReasons.reason(e), e);
        }
    }
}
