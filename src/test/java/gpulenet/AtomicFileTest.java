package gpulenet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class AtomicFileTest {
    private static final byte[] NEW = "new content".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static String content(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    /** A temporary-file name of {@code name} as a process with this PID would leave it. */
    private static String tempName(String name, long pid) {
        return name + "." + pid + ".00000000deadbeef.tmp";
    }

    /** The PID of a process that has exited, so no live process has it (until the system reuses it). */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        assumeFalse(ProcessHandle.of(p.pid()).isPresent(), "PID " + p.pid() + " was reused at once");
        return p.pid();
    }

    @Test
    void replacesARegularFileAndKeepsItsMode() throws Exception {
        Path file = Files.writeString(dir.resolve("model.safetensors"), "old");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFile.write(file, NEW);
        assertEquals("new content", content(file));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(List.of("model.safetensors"), names(dir), "no temporary file left");
    }

    @Test
    void aNewFileGetsTheModeTheUmaskGives() throws Exception {
        Path reference = Files.createFile(dir.resolve("plain"));
        String umaskMode = PosixFilePermissions.toString(Files.getPosixFilePermissions(reference));
        assumeFalse(umaskMode.equals("rw-------"), "under umask 077 a new file is 0600 either way");
        Path file = dir.resolve("sub/bench.json");
        AtomicFile.write(file, NEW);
        assertEquals(umaskMode, PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void theNextWriteRemovesATempFileOfADeadProcess() throws Exception {
        Path stale = Files.writeString(dir.resolve(tempName("model.safetensors", deadPid())), "half");
        AtomicFile.write(dir.resolve("model.safetensors"), NEW);
        assertFalse(Files.exists(stale));
        assertEquals(List.of("model.safetensors"), names(dir));
    }

    /** A container's Java is PID 1 on every run: a temp file with this process's PID it is not writing is stale. */
    @Test
    void theNextWriteRemovesATempFileWithThisPidThatThisProcessIsNotWriting() throws Exception {
        Path stale = Files.writeString(dir.resolve(tempName("model.safetensors", ProcessHandle.current().pid())), "half");
        AtomicFile.write(dir.resolve("model.safetensors"), NEW);
        assertFalse(Files.exists(stale));
    }

    @Test
    void keepsTempFilesOfLiveWritersAndOfOtherPaths() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            long dead = deadPid();
            Path live = Files.writeString(dir.resolve(tempName("model.safetensors", sleeper.pid())), "being written");
            Path inFlight = TempFiles.create(dir, "model.safetensors");
            Path otherPath = Files.writeString(dir.resolve(tempName("model.safetensors.bak", dead)), "x");
            Path otherPrefix = Files.writeString(dir.resolve(tempName("my-model.safetensors", dead)), "x");
            Path notATemp = Files.writeString(dir.resolve("model.safetensors." + dead + ".tmp"), "x");
            try {
                AtomicFile.write(dir.resolve("model.safetensors"), NEW);
                for (Path kept : List.of(live, inFlight, otherPath, otherPrefix, notATemp)) {
                    assertTrue(Files.exists(kept), kept + " must be kept");
                }
            } finally {
                TempFiles.delete(inFlight);
            }
        } finally {
            sleeper.destroy();
        }
    }
}
