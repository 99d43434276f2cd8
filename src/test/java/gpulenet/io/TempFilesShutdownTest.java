package gpulenet.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real JVM stopped in the middle of a save: what it leaves, and what the next save does with it. */
class TempFilesShutdownTest {
    @TempDir
    Path dir;

    /** Starts a child JVM holding an in-flight temporary file in {@link #dir}; returns it and the file. */
    private record Writer(Process process, Path tmp) {
    }

    private Writer start() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                TempFileWriter.class.getName(), dir.toString()).redirectErrorStream(true).start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = lines.readLine();
        assertNotNull(line, "the child JVM printed nothing");
        Path tmp = Path.of(line);
        assertTrue(Files.exists(tmp), line);
        return new Writer(p, tmp);
    }

    @Test
    void sigtermDeletesTheTempFileBeingWritten() throws Exception {
        Writer w = start();
        w.process().destroy(); // SIGTERM, as kill or Ctrl-C's SIGINT: the shutdown hooks run
        assertTrue(w.process().waitFor(30, TimeUnit.SECONDS));
        assertFalse(Files.exists(w.tmp()), "the shutdown hook deletes " + w.tmp());
    }

    @Test
    void afterKillMinus9TheNextSaveRemovesTheTempFile() throws Exception {
        Writer w = start();
        w.process().destroyForcibly(); // SIGKILL: no hook runs
        assertTrue(w.process().waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.exists(w.tmp()), "nothing could delete it yet");
        AtomicFile.write(dir.resolve("model.safetensors"), new byte[] {1});
        assertFalse(Files.exists(w.tmp()), "its writer is dead, so the next save removes it");
    }
}
