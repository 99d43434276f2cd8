package gpulenet.io;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The temporary files {@link AtomicFile} writes beside a target before renaming them over it, named
 * {@code NAME.PID.RANDOM.tmp}: NAME the target's file name, PID the writing process, RANDOM 16 hex
 * digits. One that is being written when the JVM is stopped (Ctrl-C, SIGTERM) is deleted by a shutdown
 * hook. One left by a process that could not run the hook (kill -9, a crash) is removed by the next
 * write to the same target: no live process has its PID, or the PID is this process's own (a container
 * whose Java is always PID 1) and this process is not writing it.
 */
final class TempFiles {
    private static final String SUFFIX = ".tmp";
    private static final long PID = ProcessHandle.current().pid();
    /** Absolute paths of the temporary files this process is writing now. */
    private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempFiles::deleteInFlight, "gpu-lenet temp-file cleanup"));
    }

    private TempFiles() {
    }

    /**
     * Creates an empty temporary file for {@code name} in {@code dir}, without explicit permissions so the
     * umask applies as for any new file, and registers it for deletion at JVM shutdown.
     */
    static Path create(Path dir, String name) throws IOException {
        while (true) {
            Path tmp = dir.resolve(name + "." + PID + "." + String.format("%016x", ThreadLocalRandom.current().nextLong()) + SUFFIX)
                    .toAbsolutePath();
            IN_FLIGHT.add(tmp); // before it exists: a signal right after the creation must still find it
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                IN_FLIGHT.remove(tmp);
            } catch (IOException | RuntimeException e) {
                IN_FLIGHT.remove(tmp);
                throw e;
            }
        }
    }

    /** Deletes {@code tmp} if it is still there (it is not after the rename) and stops tracking it. */
    static void delete(Path tmp) throws IOException {
        try {
            Files.deleteIfExists(tmp);
        } finally {
            IN_FLIGHT.remove(tmp.toAbsolutePath());
        }
    }

    /** Removes the temporary files of {@code name} in {@code dir} whose writer is gone; keeps every other file. */
    static void removeStale(Path dir, String name) {
        Pattern temp = Pattern.compile(Pattern.quote(name) + "\\.(\\d{1,18})\\.[0-9a-f]{16}" + Pattern.quote(SUFFIX));
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                Matcher m = temp.matcher(file.getFileName().toString());
                if (m.matches() && !writerAlive(Long.parseLong(m.group(1)), file)) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (IOException e) {
            // Cleaning up after a dead process is a courtesy; it must not fail this write.
        }
    }

    private static boolean writerAlive(long pid, Path file) {
        if (pid == PID) {
            // by name: the random part makes it unique, however the directory was spelled
            return IN_FLIGHT.stream().anyMatch(tmp -> tmp.getFileName().equals(file.getFileName()));
        }
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The shutdown hook's work: delete every temporary file still being written. */
    static void deleteInFlight() {
        for (Path tmp : IN_FLIGHT) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                // The JVM is going down; nothing better can be done with this file.
            }
        }
    }
}
