package gpulenet.io;

import gpulenet.SpecialFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    /** Every kind of file that is not a regular one is refused, named, and left as it was. */
    @Test
    void refusesSpecialFilesAndDirectoriesAndLeavesThemAlone() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("fifo"));
        Path socket = SpecialFiles.socket(dir.resolve("socket"));
        Path directory = Files.createDirectory(dir.resolve("directory"));
        assertRefused(fifo, "it is a FIFO, not a regular file");
        assertRefused(socket, "it is a socket, not a regular file");
        assertRefused(directory, "it is a directory, not a regular file");
        assertEquals(List.of("directory", "fifo", "socket"), names(dir), "no temporary file left");
        assertEquals(List.of(), names(directory));
    }

    @Test
    void refusesACharacterDevice() throws Exception {
        Path device = SpecialFiles.charDevice(dir.resolve("fake"));
        assertRefused(device, "it is a character device, not a regular file");
        assertEquals(List.of("fake"), names(dir));
    }

    private static void assertRefused(Path path, String reason) throws IOException {
        int type = SpecialFiles.type(path);
        FileSystemException write = assertThrows(FileSystemException.class, () -> AtomicFile.write(path, NEW));
        assertEquals(reason, IoReasons.reason(write));
        FileSystemException check = assertThrows(FileSystemException.class, () -> AtomicFile.checkWritable(path));
        assertEquals(reason, IoReasons.reason(check));
        assertEquals(type, SpecialFiles.type(path), path + " must keep its file type");
    }

    @Test
    void writesThroughASymlinkToItsTargetInTheTargetsDirectory() throws Exception {
        Path targets = Files.createDirectory(dir.resolve("targets"));
        Path links = Files.createDirectory(dir.resolve("links"));
        Path target = Files.writeString(targets.resolve("model.safetensors"), "old");
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-rw----"));
        Path hop = Files.createSymbolicLink(links.resolve("hop"), Path.of("../targets/model.safetensors"));
        Path link = Files.createSymbolicLink(links.resolve("link"), Path.of("hop"));

        AtomicFile.write(link, NEW);

        assertTrue(Files.isSymbolicLink(link) && Files.isSymbolicLink(hop), "the links stay links");
        assertEquals(Path.of("hop"), Files.readSymbolicLink(link));
        assertEquals("new content", content(target));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        assertEquals(List.of("model.safetensors"), names(targets));
        assertEquals(List.of("hop", "link"), names(links));
    }

    @Test
    void aDanglingSymlinkGetsItsTargetCreated() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link"), Path.of("made/model.safetensors"));
        AtomicFile.checkWritable(link);
        AtomicFile.write(link, NEW);
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new content", content(dir.resolve("made/model.safetensors")));
    }

    @Test
    void refusesASymlinkToASpecialFileOrALoop() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("fifo"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), fifo);
        assertRefused(link, "its target " + fifo + " is a FIFO, not a regular file");
        assertTrue(Files.isSymbolicLink(link));

        Path a = dir.resolve("a");
        Files.createSymbolicLink(a, Path.of("b"));
        Files.createSymbolicLink(dir.resolve("b"), Path.of("a"));
        IOException loop = assertThrows(IOException.class, () -> AtomicFile.write(a, NEW));
        assertEquals("too many levels of symbolic links", IoReasons.reason(loop));
    }

    @Test
    void aPathUnderARegularFileIsNotADirectory() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        Path under = file.resolve("model.safetensors");
        IOException check = assertThrows(IOException.class, () -> AtomicFile.checkWritable(under));
        assertEquals("not a directory", IoReasons.reason(check));
        IOException write = assertThrows(IOException.class, () -> AtomicFile.write(under, NEW));
        assertEquals("not a directory", IoReasons.reason(write));
        assertEquals("x", content(file));
    }

    @Test
    void checkWritableLeavesNoFileAndNoDirectoryItMade() throws Exception {
        Path kept = Files.createDirectory(dir.resolve("kept"));
        AtomicFile.checkWritable(kept.resolve("new/dir/model.safetensors"));
        assertEquals(List.of(), names(kept), "new/dir was made for the check and removed again");
        AtomicFile.write(kept.resolve("new/dir/model.safetensors"), NEW);
        assertEquals("new content", content(kept.resolve("new/dir/model.safetensors")));
    }

    @Test
    void checkWritableFindsAMissingPermission() throws Exception {
        Path locked = Files.createDirectory(dir.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(locked), "root writes anywhere");
            IOException e = assertThrows(IOException.class, () -> AtomicFile.checkWritable(locked.resolve("m")));
            assertEquals("permission denied", IoReasons.reason(e));
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
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
