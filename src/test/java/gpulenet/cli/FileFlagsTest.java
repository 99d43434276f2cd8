package gpulenet.cli;

import gpulenet.data.IdxFiles;
import gpulenet.train.MetricsLog;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Every command's file flags: an output that is an input or another output is refused before any work (however
 * the path is spelled), as is an output that cannot be written where it is; nothing is left behind by a refusal.
 */
class FileFlagsTest {
    @TempDir
    static Path shared;
    private static Path data;
    private static Path checkpoint;

    @TempDir
    Path dir;

    @BeforeAll
    static void tinyDataSetAndCheckpoint() throws Exception {
        data = IdxFiles.writeDataSet(Files.createDirectory(shared.resolve("tiny")), 64, 32);
        checkpoint = shared.resolve("ck.safetensors");
        AppTest.Run r = AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save",
                checkpoint.toString());
        assertEquals(0, r.code(), r.err());
    }

    /** A copy of the checkpoint in this test's directory, so a test that destroyed it would spoil no other. */
    private Path checkpointCopy(String name) throws Exception {
        return Files.copy(checkpoint, dir.resolve(name));
    }

    /** Runs {@code args}, checks they are refused with exactly {@code message} and that {@code kept} is unchanged. */
    private static void assertRefused(String message, Path kept, String... args) throws Exception {
        byte[] before = kept == null ? null : Files.readAllBytes(kept);
        AppTest.Run r = AppTest.run(args);
        assertEquals("gpu-lenet: error: " + message + "\n", r.err(), String.join(" ", args));
        assertEquals(2, r.code());
        assertEquals("", r.out(), "refused before any work");
        if (kept != null) {
            assertArrayEquals(before, Files.readAllBytes(kept), kept + " was changed");
        }
    }

    private static String[] train(String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1"));
        args.addAll(Arrays.asList(more));
        return args.toArray(String[]::new);
    }

    @Test
    void anOutputThatIsAnInputIsRefused() throws Exception {
        Path ck = checkpointCopy("ck.st");
        assertRefused("--metrics " + ck + " is the same file as --resume " + ck + ", which this run reads: give another file",
                ck, train("--resume", ck.toString(), "--metrics", ck.toString()));
        assertRefused("--onnx " + ck + " is the same file as --checkpoint " + ck + ", which this run reads: give another file",
                ck, "export", "--checkpoint", ck.toString(), "--onnx", ck.toString());
        assertRefused("--confusion " + ck + " is the same file as --checkpoint " + ck + ", which this run reads: give another file",
                ck, "eval", "--checkpoint", ck.toString(), "--data", data.toString(), "--confusion", ck.toString());
        Path images = data.resolve("t10k-images-idx3-ubyte");
        assertRefused("--save " + images + " is the same file as --data " + images + ", which this run reads: give another file",
                images, train("--save", images.toString()));
        Path net = Files.writeString(dir.resolve("net.txt"), "Sequential(\n  (0): Flatten()\n  (1): Linear(784, 10)\n)\n");
        assertRefused("--metrics " + net + " is the same file as --model-file " + net + ", which this run reads: give another file",
                net, train("--model-file", net.toString(), "--metrics", net.toString()));
    }

    @Test
    void aRunContinuesIntoTheCheckpointItResumes() throws Exception {
        Path ck = checkpointCopy("ck.st");
        byte[] before = Files.readAllBytes(ck);
        AppTest.Run r = AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "2", "--resume",
                ck.toString(), "--save", ck.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Arrays.equals(before, Files.readAllBytes(ck)), "the checkpoint holds the continued run");
        assertRefused("--plot " + ck + " is the same file as --resume " + ck + ", which this run reads: give another file",
                ck, train("--resume", ck.toString(), "--plot", ck.toString()));
    }

    @Test
    void twoOutputsThatAreOneFileAreRefused() throws Exception {
        Path y = dir.resolve("y");
        assertRefused("--plot " + y + " is the same file as --save " + y + ": give each output its own file", null,
                train("--save", y.toString(), "--plot", y.toString()));
        assertRefused("--metrics " + y + " is the same file as --save " + y + ": give each output its own file", null,
                train("--save", y.toString(), "--metrics", y.toString()));
        assertRefused("--plot " + y + " is the same file as --metrics " + y + ": give each output its own file", null,
                train("--metrics", y.toString(), "--plot", y.toString()));
        assertRefused("--plot " + y + " is the same file as --json " + y + ": give each output its own file", null,
                "bench", "--data", data.toString(), "--devices", "cpu", "--json", y.toString(), "--plot", y.toString());
        assertRefused("--errors " + y + " is the same file as --confusion " + y + ": give each output its own file", null,
                "eval", "--checkpoint", checkpoint.toString(), "--data", data.toString(), "--confusion", y.toString(),
                "--errors", y.toString());
        assertFalse(Files.exists(y), "nothing written");
    }

    @Test
    void symlinksDotDotAndHardLinksAreSeenThrough() throws Exception {
        Path ck = checkpointCopy("ck.st");
        Path link = Files.createSymbolicLink(dir.resolve("link.st"), ck.getFileName());
        assertRefused("--onnx " + link + " is the same file as --checkpoint " + ck + ", which this run reads: give another file",
                ck, "export", "--checkpoint", ck.toString(), "--onnx", link.toString());
        Path hard = Files.createLink(dir.resolve("hard.st"), ck);
        assertRefused("--metrics " + hard + " is the same file as --resume " + ck + ", which this run reads: give another file",
                ck, train("--resume", ck.toString(), "--metrics", hard.toString()));
        Path dotted = data.resolve("../tiny/t10k-labels-idx1-ubyte");
        assertRefused("--plot " + dotted + " is the same file as --data " + data.resolve("t10k-labels-idx1-ubyte")
                + ", which this run reads: give another file", dotted, train("--plot", dotted.toString()));
        Files.createDirectory(dir.resolve("sub"));
        Path missingViaDots = dir.resolve("sub/../new.png");
        Path missing = dir.resolve("new.png");
        assertRefused("--plot " + missing + " is the same file as --save " + missingViaDots + ": give each output its own file",
                null, train("--save", missingViaDots.toString(), "--plot", missing.toString()));
    }

    @Test
    void aFileOutputTypedAsADirectoryIsRefused() throws Exception {
        assertRefused("--save " + dir + "/out/: names a directory; give a file name, e.g. " + dir + "/out/model.safetensors",
                null, train("--save", dir + "/out/"));
        assertRefused("--onnx " + dir + "/out/: names a directory; give a file name, e.g. " + dir + "/out/model.onnx",
                null, "export", "--checkpoint", checkpoint.toString(), "--onnx", dir + "/out/");
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void aRefusedRunLeavesNoTensorBoardDirectory() {
        Path absent = dir.resolve("no-such-data");
        AppTest.Run r = AppTest.run("train", "--data", absent.toString(), "--device", "cpu", "--tensorboard",
                dir.resolve("newtb/a/b").toString());
        assertEquals("gpu-lenet: error: data directory " + absent + " does not exist\n", r.err());
        assertFalse(Files.exists(dir.resolve("newtb")), "the check made newtb/a/b and left it");
    }

    @Test
    void aMetricsFileInUseByAnotherRunIsRefusedUntouched() throws Exception {
        Path metrics = Files.writeString(dir.resolve("m.jsonl"), "{\"type\":\"step\"}\n");
        try (MetricsLog running = MetricsLog.open(metrics, "cpu", true)) {
            assertRefused("--metrics " + metrics + ": cannot write: in use by another run (it is locked)", metrics,
                    train("--metrics", metrics.toString()));
        }
        AppTest.Run after = AppTest.run(train("--metrics", metrics.toString()));
        assertEquals(0, after.code(), after.err());
    }

    @Test
    void aReadOnlyMetricsFileIsRefusedAndOneInAReadOnlyDirectoryIsAppended() throws Exception {
        Path locked = Files.createDirectory(dir.resolve("locked"));
        Path inLocked = Files.writeString(locked.resolve("m.jsonl"), "");
        Path readOnly = Files.writeString(dir.resolve("ro.jsonl"), "");
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r--r--r--"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(readOnly), "root writes anywhere");
            assertRefused("--metrics " + readOnly + ": cannot write: permission denied", readOnly,
                    train("--metrics", readOnly.toString()));
            AppTest.Run r = AppTest.run(train("--metrics", inLocked.toString()));
            assertEquals(0, r.code(), r.err());
            assertTrue(Files.readString(inLocked).contains("\"type\":\"epoch\""));
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
