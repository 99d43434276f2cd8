package gpulenet.cli;

import gpulenet.SpecialFiles;
import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --save and bench --json: a path that cannot be written is refused before any data or work. */
class OutputFlagsTest {
    @TempDir
    Path dir;

    private Path data;

    @BeforeEach
    void tinyDataSet() throws Exception {
        data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
    }

    private AppTest.Run train(Path save) {
        return AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save", save.toString());
    }

    private AppTest.Run bench(Path json) {
        return AppTest.run("bench", "--data", data.toString(), "--devices", "cpu", "--batch-sizes", "32", "--json", json.toString());
    }

    private static void assertRefusedBeforeAnyWork(AppTest.Run r, String expectedErr) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out(), "nothing loaded, trained or timed before the refusal");
        assertEquals(expectedErr, r.err());
    }

    @Test
    void aFifoIsRefusedAndLeftAFifo() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("fifo"));
        int type = SpecialFiles.type(fifo);
        assertRefusedBeforeAnyWork(train(fifo),
                "gpu-lenet: error: --save " + fifo + ": cannot write: it is a FIFO, not a regular file\n");
        assertRefusedBeforeAnyWork(bench(fifo),
                "gpu-lenet: error: --json " + fifo + ": cannot write: it is a FIFO, not a regular file\n");
        assertEquals(type, SpecialFiles.type(fifo));
    }

    @Test
    void aCharacterDeviceIsRefused() throws Exception {
        Path device = SpecialFiles.charDevice(dir.resolve("fake"));
        assertRefusedBeforeAnyWork(train(device),
                "gpu-lenet: error: --save " + device + ": cannot write: it is a character device, not a regular file\n");
        assertRefusedBeforeAnyWork(bench(device),
                "gpu-lenet: error: --json " + device + ": cannot write: it is a character device, not a regular file\n");
    }

    @Test
    void aDirectoryOrAPathUnderAFileIsRefused() throws Exception {
        Path directory = Files.createDirectory(dir.resolve("out"));
        assertRefusedBeforeAnyWork(train(directory),
                "gpu-lenet: error: --save " + directory + ": cannot write: it is a directory, not a regular file\n");
        Path underFile = Files.writeString(dir.resolve("file"), "x").resolve("model.safetensors");
        assertRefusedBeforeAnyWork(train(underFile),
                "gpu-lenet: error: --save " + underFile + ": cannot write: not a directory\n");
        assertRefusedBeforeAnyWork(bench(underFile),
                "gpu-lenet: error: --json " + underFile + ": cannot write: not a directory\n");
    }

    @Test
    void aRunRefusedAfterTheCheckLeavesNoDirectoryBehind() throws Exception {
        Path absent = dir.resolve("no-such-data");
        AppTest.Run t = AppTest.run("train", "--data", absent.toString(), "--device", "cpu", "--save",
                dir.resolve("runs/a/model.safetensors").toString());
        assertEquals("gpu-lenet: error: data directory " + absent + " does not exist\n", t.err());
        AppTest.Run b = AppTest.run("bench", "--data", absent.toString(), "--devices", "cpu", "--json",
                dir.resolve("results/b/bench.json").toString());
        assertEquals("gpu-lenet: error: data directory " + absent + " does not exist\n", b.err());
        assertFalse(Files.exists(dir.resolve("runs")), "the check made runs/a and left it");
        assertFalse(Files.exists(dir.resolve("results")), "the check made results/b and left it");
    }

    @Test
    void aSymlinkIsWrittenThroughAndStaysALink() throws Exception {
        Path target = dir.resolve("results/bench.json");
        Path link = Files.createSymbolicLink(dir.resolve("bench.json"), Path.of("results/bench.json"));
        AppTest.Run r = bench(link);
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isSymbolicLink(link));
        assertTrue(Files.readString(target).contains("\"batch_sizes\""), Files.readString(target));
    }

    @Test
    void theHelpSaysASymlinkIsFollowed() {
        for (String command : new String[] {"train", "bench"}) {
            String help = AppTest.run(command, "--help").out().replaceAll("\\s+", " "); // the help wraps its lines
            assertTrue(help.contains("atomically. A symlink is followed: its target is replaced, not the link."), help);
        }
    }
}
