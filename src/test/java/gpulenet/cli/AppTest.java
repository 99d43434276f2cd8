package gpulenet.cli;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import gpulenet.SpecialFiles;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.IdxFiles;
import gpulenet.format.Checkpoint;
import gpulenet.format.Safetensors;
import gpulenet.model.Parameters;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AppTest {
    @TempDir
    Path dir;

    /** Exit code, stdout and stderr of one command line. */
    record Run(int code, String out, String err) {
    }

    /** Runs {@code args} and checks they are refused as bad input: exit 2 and one error line; returns the run. */
    static Run runRefused(String... args) {
        Run r = run(args);
        String what = String.join(" ", args) + " -> " + r.err();
        assertEquals(2, r.code(), what);
        assertTrue(r.err().startsWith("gpu-lenet: error: "), what);
        assertEquals(1, r.err().split("\n").length, what);
        return r;
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = App.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void resumeContinuesASavedRunAtTheNextEpoch() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Path ckpt = dir.resolve("epoch1.safetensors");
        Run first = run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save", ckpt.toString());
        assertEquals(0, first.code(), first.err());

        Run resumed = run("train", "--data", data.toString(), "--device", "cpu", "--resume", ckpt.toString(), "--epochs", "2");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("Resuming " + ckpt + " after epoch 1"), resumed.out());
        assertTrue(resumed.out().contains("Train Epoch: 2 [256/256 (100%)]"), resumed.out());
        assertFalse(resumed.out().contains("Train Epoch: 1 "), resumed.out());
    }

    @Test
    void dryRunTrainsSavesAndEvalReadsTheCheckpoint() {
        Path ckpt = dir.resolve("dry.safetensors");
        Run train = run("train", "--dry-run", "--device", "cpu", "--threads", "2", "--log-interval", "2", "--save", ckpt.toString());
        assertEquals(0, train.code(), train.err());
        assertTrue(train.out().contains("Train Epoch: 1 [128/60000 (0%)]\tLoss: "), train.out());
        assertTrue(train.out().matches("(?s).*Test set: Average loss: \\d+\\.\\d{4}, Accuracy: \\d+/1000 \\(\\d+\\.\\d\\d%\\).*"), train.out());
        assertTrue(train.out().contains("images/s"), train.out());
        assertTrue(Files.isRegularFile(ckpt));

        Run resumed = run("train", "--device", "cpu", "--resume", ckpt.toString(), "--epochs", "2");
        assertEquals(2, resumed.code());
        assertEquals("", resumed.out(), "nothing printed before the refusal");
        assertEquals("gpu-lenet: error: " + ckpt + ": written by --dry-run (a few steps, not a whole epoch), so it cannot be resumed\n",
                resumed.err());

        Run eval = run("eval", "--checkpoint", ckpt.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().matches("(?s).*Accuracy: \\d+/10000 .*"), eval.out());
        String[] lines = eval.out().split("\n");
        int header = Arrays.asList(lines).indexOf("Confusion matrix (rows: true label, columns: predicted label):");
        long total = 0;
        for (int r = 0; r < 10; r++) {
            String[] cells = lines[header + 2 + r].trim().split("\\s+");
            assertEquals(11, cells.length, lines[header + 2 + r]);
            for (int c = 1; c < cells.length; c++) {
                total += Long.parseLong(cells[c]);
            }
        }
        assertEquals(10000, total, "every test image counted once");
        assertTrue(eval.out().contains("  9: "), "per-class accuracy");
    }

    @Test
    void badFlagsAndBadFilesExit2WithOneLine() throws Exception {
        Path junk = dir.resolve("junk.safetensors");
        Files.writeString(junk, "not a checkpoint");
        String[][] cases = {
                {"train", "--batch-size", "0"},
                {"train", "--epochs", "-1"},
                {"train", "--lr", "0"},
                {"train", "--momentum", "1.5"},
                {"train", "--device", "tpu"},
                {"train", "--device", "cuda"},
                {"train", "--no-such-flag"},
                {"train", "--epochs", "many"},
                {"train", "--resume", dir.resolve("absent.safetensors").toString()},
                {"eval", "--checkpoint", junk.toString()},
                {"eval"},
                {},
        };
        for (String[] args : cases) {
            runRefused(args);
        }
        assertEquals("gpu-lenet: error: --batch-size must be positive, got 0\n", run("train", "--batch-size", "0").err());
    }

    @Test
    void evalNeedsOnlyTheTestFiles() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("t10k-only")), 1, 40);
        Files.delete(data.resolve("train-images-idx3-ubyte"));
        Files.writeString(data.resolve("train-labels-idx1-ubyte"), "a broken training file");
        Path ckpt = dir.resolve("init.safetensors");
        try (CpuBackend backend = new CpuBackend(1)) {
            TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(1), null, Map.of()).write(ckpt);
        }

        Run eval = run("eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().matches("(?s).*Test set \\(t10k-only-test\\): Average loss: .*, Accuracy: \\d+/40 .*"), eval.out());
    }

    @Test
    void evalCapsABatchLargerThanTheTestSet() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 1, 40);
        Path ckpt = dir.resolve("init.safetensors");
        try (CpuBackend backend = new CpuBackend(1)) {
            TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(1), null, Map.of()).write(ckpt);
        }

        Run eval = run("eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--batch-size", "10000000");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("--batch-size 10000000 is more than the 40 test images: using 40\n"), eval.out());
        assertTrue(eval.out().matches("(?s).*Accuracy: \\d+/40 .*"), eval.out());
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void checkpointsThatAreNotPlausibleFilesExit2AtOnce() throws Exception {
        Path big = dir.resolve("big.bin");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(3L << 30);
        }
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.safetensors"));
        String[][] cases = {
                {big.toString(), big + ": 3221225472 bytes, too large for a checkpoint"},
                {SpecialFiles.ZERO_DEVICE.toString(), "/dev/zero: not a regular file: a character device"},
                {fifo.toString(), fifo + ": not a regular file: a FIFO"},
        };
        for (String[] c : cases) {
            Run eval = run("eval", "--checkpoint", c[0], "--device", "cpu");
            assertEquals(2, eval.code(), eval.err());
            assertTrue(eval.err().startsWith("gpu-lenet: error: " + c[1]), eval.err());
            assertEquals(1, eval.err().split("\n").length, eval.err());
            Run resume = run("train", "--resume", c[0], "--device", "cpu");
            assertEquals(2, resume.code(), resume.err());
            assertTrue(resume.err().startsWith("gpu-lenet: error: " + c[1]), resume.err());
        }
    }

    @Test
    void trainStopsOnDivergenceAndEvalRefusesNonFiniteWeights() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Run diverged = run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--lr", "1e6",
                "--log-interval", "1");
        assertEquals(2, diverged.code(), diverged.err());
        assertTrue(diverged.err().matches("gpu-lenet: error: training diverged at epoch 1, step \\d: the loss is "
                + "(NaN|infinite|\\S+, over 1000 times its starting level \\S+); try a lower --lr \\(was 1e\\+06\\)\n"), diverged.err());

        float[] values = TestModels.lenet5InitialValues(1);
        List<Parameters.Spec> specs = TestModels.lenet5Specs();
        values[specs.stream().filter(s -> s.name().equals("fc2.weight")).findFirst().orElseThrow().offset() + 7] = Float.NaN;
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : specs) {
            w.add(s.name(), s.shape(), TestModels.slice(values, s.name()));
        }
        Path nan = dir.resolve("nan.safetensors");
        w.writeAtomically(nan);
        Run eval = run("eval", "--checkpoint", nan.toString(), "--device", "cpu", "--data", data.toString());
        assertEquals(2, eval.code(), eval.err());
        assertEquals("gpu-lenet: error: " + nan + ": fc2.weight holds 1 non-finite value (NaN or infinite), "
                + "so it has no accuracy to measure\n", eval.err());
        assertFalse(eval.out().contains("Accuracy"), eval.out());
    }

    private static List<Map<String, String>> history(Path checkpoint) {
        return new Gson().fromJson(Checkpoint.read(checkpoint).metadata().get(Checkpoint.HISTORY),
                new TypeToken<List<Map<String, String>>>() { }.getType());
    }

    @Test
    void resumeSaysWhichFlagsOverrideTheCheckpointAndRecordsTheHistory() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Path first = dir.resolve("r1.safetensors"), second = dir.resolve("r2.safetensors"), third = dir.resolve("r3.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save", first.toString()).code());
        Run resumed = run("train", "--data", data.toString(), "--device", "cpu", "--resume", first.toString(), "--epochs", "2",
                "--batch-size", "128", "--lr", "0.01", "--momentum", "0.9", "--save", second.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("after epoch 1\n--batch-size 128 overrides the checkpoint's 64 from epoch 2 on\n"
                + "--lr 0.01 overrides the checkpoint's 0.05 from epoch 2 on\nTrain Epoch: 2 "), resumed.out());
        assertFalse(resumed.out().contains("--momentum"), "an unchanged value is not an override: " + resumed.out());
        Map<String, String> meta = Checkpoint.read(second).metadata();
        assertEquals("0.01", meta.get(Checkpoint.LR));
        assertEquals("128", meta.get(Checkpoint.BATCH_SIZE));
        List<Map<String, String>> h = history(second);
        assertEquals(2, h.size(), h.toString());
        assertEquals(List.of("1", "0.05", "64"), List.of(h.get(0).get("from_epoch"), h.get(0).get("lr"), h.get(0).get("batch_size")));
        assertEquals(List.of("2", "0.01", "128"), List.of(h.get(1).get("from_epoch"), h.get(1).get("lr"), h.get(1).get("batch_size")));

        Run again = run("train", "--data", data.toString(), "--device", "cpu", "--resume", second.toString(), "--epochs", "3",
                "--save", third.toString());
        assertEquals(0, again.code(), again.err());
        assertFalse(again.out().contains("overrides"), again.out());
        assertEquals(h, history(third), "a resume that changes nothing adds no entry");
    }

    @Test
    void resumeOnAnotherDataSetNeedsAnExplicitData() throws Exception {
        Path tiny = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 128, 64);
        Path other = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("other")), 128, 64);
        Path ckpt = dir.resolve("t.safetensors");
        assertEquals(0, run("train", "--data", tiny.toString(), "--device", "cpu", "--epochs", "1", "--save", ckpt.toString()).code());
        Run refused = run("train", "--device", "cpu", "--resume", ckpt.toString(), "--epochs", "2");
        assertEquals(2, refused.code());
        assertEquals("", refused.out());
        assertEquals("gpu-lenet: error: " + ckpt + ": trained on tiny, not on mnist (the default data set); give --data to "
                + "continue it on another data set\n", refused.err());
        Run explicit = run("train", "--data", other.toString(), "--device", "cpu", "--resume", ckpt.toString(), "--epochs", "2");
        assertEquals(0, explicit.code(), explicit.err());
        assertTrue(explicit.out().contains("--data other overrides the checkpoint's data set tiny from epoch 2 on\n"), explicit.out());
    }

    @Test
    void invalidCheckpointMetadataIsTheCheckpointsFault() {
        String[][] cases = {{Checkpoint.BATCH_SIZE, "0", "it must be positive"}, {Checkpoint.LR, "-1", "it must be a positive number"},
                {Checkpoint.MOMENTUM, "2", "it must be in [0, 1)"}};
        for (String[] c : cases) {
            Map<String, String> meta = new HashMap<>(Map.of(Checkpoint.EPOCH, "1", Checkpoint.STEP, "4", Checkpoint.SEED, "1",
                    Checkpoint.LR, "0.05", Checkpoint.MOMENTUM, "0.9", Checkpoint.WEIGHT_DECAY, "0", Checkpoint.BATCH_SIZE, "64",
                    Checkpoint.LR_DECAY, "0.7"));
            meta.put(c[0], c[1]);
            Path file = dir.resolve(c[0] + ".safetensors");
            try (CpuBackend backend = new CpuBackend(1)) {
                TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(1), new float[TestModels.lenet5Total()], meta)
                        .write(file);
            }
            Run r = run("train", "--device", "cpu", "--resume", file.toString(), "--epochs", "2");
            assertEquals(2, r.code(), r.err());
            assertEquals("gpu-lenet: error: " + file + ": checkpoint metadata " + c[0] + " " + c[1] + " is invalid (" + c[2] + ")\n",
                    r.err());
        }
    }

    @Test
    void floatFlagsAreQuotedAsTyped() {
        assertEquals("gpu-lenet: error: --momentum must be in [0, 1), got 0.99999999 (1.0 as a 32-bit float)\n",
                run("train", "--momentum", "0.99999999").err());
        assertEquals("gpu-lenet: error: --lr must be a positive number, got 1e-50 (0.0 as a 32-bit float)\n",
                run("train", "--lr", "1e-50").err());
        assertEquals("gpu-lenet: error: --lr must be a positive number, got 1e400 (Infinity as a 32-bit float)\n",
                run("train", "--lr", "1e400").err());
        assertEquals("gpu-lenet: error: --lr-decay must be in (0, 1], got 1.5\n", run("train", "--lr-decay", "1.5").err());
        assertEquals("gpu-lenet: error: --weight-decay must be zero or positive, got -0.1\n", run("train", "--weight-decay", "-0.1").err());
        Run notANumber = run("train", "--lr", "fast");
        assertEquals(2, notANumber.code());
        assertTrue(notANumber.err().startsWith("gpu-lenet: error: ") && notANumber.err().contains("'fast' is not a number"), notANumber.err());
    }

    /** The command line in a child JVM with a heap of {@code heap}: exit code and everything it printed. */
    private Run runWithHeap(String heap, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-cp", System.getProperty("java.class.path"), App.class.getName()));
        command.addAll(List.of(args));
        Path out = dir.resolve("child.out"), err = dir.resolve("child.err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void runningOutOfMemoryIsOneLineAndExit2() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 4000);
        Path ckpt = dir.resolve("c.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save", ckpt.toString()).code());
        // eval sizes its network from --batch-size alone: 4000 samples of activations do not fit in 64 MiB
        Run eval = runWithHeap("64m", "eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--batch-size", "4000");
        assertEquals(2, eval.code(), eval.err());
        assertEquals("gpu-lenet: error: out of memory: the Java heap (64 MiB) is too small for this run; use a smaller "
                + "--batch-size, or give Java more memory (java -Xmx2g -jar gpu-lenet.jar ...)\n", eval.err());
    }

    @Test
    void aBatchTooLargeForTheHeapIsRefusedAndTheSuggestedOneRuns() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("small")), 3000, 16);
        Run refused = runWithHeap("160m", "train", "--data", data.toString(), "--device", "cpu", "--threads", "2",
                "--dry-run", "--batch-size", "3000");
        assertEquals(2, refused.code(), refused.err());
        Matcher m = Pattern.compile("gpu-lenet: error: --batch-size 3000 needs about \\d+ MiB of Java heap and \\d+ MiB is "
                + "free: use --batch-size (\\d+) or less, or give Java more memory \\(java -Xmx1g -jar gpu-lenet.jar \\.\\.\\.\\)\n")
                .matcher(refused.err());
        assertTrue(m.matches(), refused.err());
        Run fits = runWithHeap("160m", "train", "--data", data.toString(), "--device", "cpu", "--threads", "2",
                "--dry-run", "--batch-size", m.group(1));
        assertEquals(0, fits.code(), fits.err());
        assertTrue(fits.out().contains("Test set: "), fits.out());
    }

    @CommandLine.Command(name = "boom")
    static final class Boom implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("broken invariant");
        }
    }

    @Test
    void internalErrorsExit1WithOneLine() {
        StringWriter err = new StringWriter();
        CommandLine cl = App.commandLine().addSubcommand(new Boom());
        cl.setErr(new PrintWriter(err, true));
        assertEquals(1, cl.execute("boom"));
        assertEquals(1, err.toString().split("\n").length, err.toString());
        assertTrue(err.toString().startsWith("gpu-lenet: internal error: java.lang.IllegalStateException: broken invariant"), err.toString());
    }

    @Test
    void helpAndVersionExit0() {
        assertEquals(0, run("--version").code());
        Run help = run("train", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--resume"), help.out());
    }
}
