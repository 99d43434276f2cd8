package gpulenet.cli;

import gpulenet.data.IdxFiles;
import gpulenet.model.Parameters;
import gpulenet.model.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
            Run r = run(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals(2, r.code(), what);
            assertTrue(r.err().startsWith("gpu-lenet: error: "), what);
            assertEquals(1, r.err().split("\n").length, what);
        }
        assertEquals("gpu-lenet: error: --batch-size must be positive, got 0\n", run("train", "--batch-size", "0").err());
    }

    @Test
    void trainStopsOnDivergenceAndEvalRefusesNonFiniteWeights() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Run diverged = run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--lr", "1e6",
                "--log-interval", "1");
        assertEquals(2, diverged.code(), diverged.err());
        assertTrue(diverged.err().matches("gpu-lenet: error: training diverged at epoch 1, step \\d: the loss is "
                + "(NaN|infinite); try a lower --lr \\(was 1e\\+06\\)\n"), diverged.err());

        float[] values = Parameters.initialValues(1);
        values[Parameters.spec("fc2.weight").offset() + 7] = Float.NaN;
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : Parameters.SPECS) {
            w.add(s.name(), s.shape(), Parameters.slice(values, s.name()));
        }
        Path nan = dir.resolve("nan.safetensors");
        w.writeAtomically(nan);
        Run eval = run("eval", "--checkpoint", nan.toString(), "--device", "cpu", "--data", data.toString());
        assertEquals(2, eval.code(), eval.err());
        assertEquals("gpu-lenet: error: " + nan + ": fc2.weight holds 1 non-finite value (NaN or infinite), "
                + "so it has no accuracy to measure\n", eval.err());
        assertFalse(eval.out().contains("Accuracy"), eval.out());
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
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 64);
        Path ckpt = dir.resolve("c.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save", ckpt.toString()).code());
        // eval sizes its network from --batch-size alone: 200000 samples of activations do not fit in 64 MiB
        Run eval = runWithHeap("64m", "eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--batch-size", "200000");
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
