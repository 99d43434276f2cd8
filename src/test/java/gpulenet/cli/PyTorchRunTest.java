package gpulenet.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.IdxFiles;
import gpulenet.model.Presets;
import gpulenet.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench --pytorch, with a shell script standing in for PyTorch's reference script. */
class PyTorchRunTest {
    @TempDir
    Path dir;

    @Test
    void imagesPerSecondIsAllEpochsImagesOverAllTheirSeconds() throws Exception {
        String output = "loading...\n"
                + "{\"epoch\": 1, \"train_s\": 2.0, \"images_per_s\": 1000, \"torch\": \"1.13.0\"}\n"
                + "{\"epoch\": 2, \"train_s\": 1.0, \"images_per_s\": 4000, \"torch\": \"1.13.0\"}\n";
        PyTorchRun.Result result = PyTorchRun.parse(output);
        assertEquals(6000.0 / 3.0, result.imagesPerSecond(), 1e-9);
        assertEquals("1.13.0", result.version());
    }

    @Test
    void outputWithoutEpochLinesOrWithBrokenOnesGivesNoFigure() {
        PyTorchRun.Failure none = assertThrows(PyTorchRun.Failure.class, () -> PyTorchRun.parse("Traceback\nboom\n"));
        assertEquals("no epoch lines in its output: boom", none.getMessage());
        PyTorchRun.Failure broken = assertThrows(PyTorchRun.Failure.class, () -> PyTorchRun.parse("{\"epoch\": 1}\n"));
        assertTrue(broken.getMessage().startsWith("an epoch line without train_s and images_per_s"), broken.getMessage());
    }

    @Test
    void commandLinePassesTheWholeJobAndThreadsOnlyOnTheCpu() {
        Presets.Preset lenet5 = Presets.get("lenet5");
        List<String> cpu = PyTorchRun.commandLine(" python3  t.py ", Path.of("d"), "cpu", 2, 3, lenet5.model(),
                config(lenet5, 64, 7));
        assertEquals(List.of("python3", "t.py", "--data", "d", "--device", "cpu", "--model", "lenet5", "--optimizer", "sgd",
                "--batch", "64", "--epochs", "2", "--lr", "0.05", "--momentum", "0.9", "--lr-decay", "0.7",
                "--normalize", "0.5,0.5", "--resize", "none", "--seed", "7", "--threads", "3"), cpu);
        List<String> cuda = PyTorchRun.commandLine("python3 t.py", Path.of("d"), "cuda", 1, 3, lenet5.model(),
                config(lenet5, 256, 7));
        assertFalse(cuda.contains("--threads"), cuda.toString());
    }

    @Test
    void commandLineGivesEachPresetsOwnSetUpAndMomentumOnlyForSgd() {
        Map<String, String> expected = Map.of(
                "lenet5-adam", "--model lenet5-adam --optimizer adam --batch 64 --epochs 1 --lr 0.001 --lr-decay 1.0 "
                        + "--normalize none --resize none --seed 1",
                "lenet5-32", "--model lenet5-32 --optimizer sgd --batch 64 --epochs 1 --lr 0.001 --momentum 0.9 --lr-decay 1.0 "
                        + "--normalize 0.1307,0.3081 --resize 32 --seed 1",
                "cnn-dropout", "--model cnn-dropout --optimizer sgd --batch 64 --epochs 1 --lr 0.01 --momentum 0.0 --lr-decay 1.0 "
                        + "--normalize 0.5,0.5 --resize none --seed 1",
                "cnn3", "--model cnn3 --optimizer adam --batch 128 --epochs 1 --lr 1.0E-4 --lr-decay 1.0 "
                        + "--normalize none --resize none --seed 1");
        for (Map.Entry<String, String> e : expected.entrySet()) {
            Presets.Preset p = Presets.get(e.getKey());
            List<String> line = PyTorchRun.commandLine("py", Path.of("d"), "cuda", 1, 2, p.model(),
                    config(p, p.defaults().batchSize(), 1));
            assertEquals("py --data d --device cuda " + e.getValue(), String.join(" ", line));
        }
    }

    private static TrainConfig config(Presets.Preset p, int batch, long seed) {
        Presets.Defaults d = p.defaults();
        return new TrainConfig(1, batch, d.optimizer(), d.lr(), d.momentum(), 0f, d.lrDecay(), seed, 100, false, null);
    }

    @Test
    void benchRunsPyTorchAfterEachRunAndReportsTheRatio() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Path args = dir.resolve("args.txt");
        Path script = Files.writeString(dir.resolve("fake_torch.sh"),
                "echo \"$@\" >> '" + args + "'\n"
                        + "echo 'loading data'\n"
                        + "echo '{\"epoch\": 1, \"train_s\": 0.25, \"images_per_s\": 1000, \"torch\": \"fake\"}'\n");
        Path json = dir.resolve("bench.json");
        Run bench = run("bench", "--devices", "cpu", "--batch-sizes", "32,64", "--threads", "1", "--data", data.toString(),
                "--pytorch", "sh " + script, "--json", json.toString());
        assertEquals(0, bench.code(), bench.err());

        assertEquals(List.of(
                "--data " + data + " --device cpu --model lenet5 --optimizer sgd --batch 32 --epochs 1 --lr 0.05 --momentum 0.9 "
                        + "--lr-decay 0.7 --normalize 0.5,0.5 --resize none --seed 1 --threads 1",
                "--data " + data + " --device cpu --model lenet5 --optimizer sgd --batch 64 --epochs 1 --lr 0.05 --momentum 0.9 "
                        + "--lr-decay 0.7 --normalize 0.5,0.5 --resize none --seed 1 --threads 1"),
                Files.readAllLines(args));
        assertTrue(bench.out().contains("vs PyTorch"), bench.out());
        JsonArray rows = JsonParser.parseString(Files.readString(json)).getAsJsonObject().getAsJsonArray("rows");
        assertEquals(2, rows.size());
        for (JsonElement r : rows) {
            JsonObject row = r.getAsJsonObject();
            assertEquals(1000.0, row.get("pytorch_images_per_second").getAsDouble());
            assertEquals(row.get("images_per_second").getAsDouble() / 1000.0, row.get("ratio_to_pytorch").getAsDouble(), 1e-12);
            String line = bench.out().lines().filter(l -> l.startsWith("cpu ") && l.contains(" " + row.get("batch_size") + " "))
                    .findFirst().orElseThrow();
            assertTrue(line.endsWith(String.format(Locale.ROOT, "1,000 %10.2fx",
                    row.get("ratio_to_pytorch").getAsDouble())), line);
        }
    }

    @Test
    void aFailedPyTorchRunLeavesTheRowAndSaysWhy() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 128, 32);
        Path script = Files.writeString(dir.resolve("no_torch.sh"),
                "echo \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 3\n");
        Run bench = run("bench", "--devices", "cpu", "--batch-sizes", "32", "--threads", "1", "--data", data.toString(),
                "--pytorch", "sh " + script);
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().contains(
                "No PyTorch figure for lenet5 on cpu at batch 32: exit code 3: ModuleNotFoundError: No module named 'torch'"), bench.out());
        String row = bench.out().lines().filter(l -> l.startsWith("cpu ")).findFirst().orElseThrow();
        assertTrue(row.endsWith("-           -"), row);
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aScriptThatPrintsWithoutEndIsStoppedWithoutExhaustingTheHeap() {
        PyTorchRun.Failure f = assertThrows(PyTorchRun.Failure.class, () -> PyTorchRun.run(List.of("yes")));
        assertEquals("it printed more than 16 MiB, far more than its epoch lines: stopped it", f.getMessage());
    }

    @Test
    void onlyTheEpochLinesAndTheLastLineAreKept() throws Exception {
        PyTorchRun.Failure f = assertThrows(PyTorchRun.Failure.class, () -> PyTorchRun.run(List.of("sh", "-c",
                "echo '{\"epoch\": 1, \"train_s\": 2, \"images_per_s\": 100}'; echo noise; echo 'the end'; exit 3")));
        assertEquals("exit code 3: the end", f.getMessage());
        assertEquals(100, PyTorchRun.run(List.of("sh", "-c", "echo warming up; printf '{\"epoch\": 1, \"train_s\": 2, "
                + "\"images_per_s\": 100}'")).imagesPerSecond(), 0, "an epoch line without its newline counts");
    }
}
