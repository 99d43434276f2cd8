package gpulenet.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.SystemPython;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.IdxFiles;
import gpulenet.model.Parameters;
import gpulenet.model.TestModels;
import gpulenet.model.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The PyTorch reference script the project ships (src/main/python/torch_reference.py), run for real where
 * /usr/bin/python3 has torch, so that it keeps the contract bench --pytorch relies on and keeps running.
 */
class TorchReferenceScriptTest {
    static final Path SCRIPT = Path.of("src/main/python/torch_reference.py").toAbsolutePath();

    @TempDir
    static Path data;

    @TempDir
    Path dir;

    @BeforeAll
    static void tinyDataSet() {
        SystemPython.assumeModules("torch");
        IdxFiles.writeDataSet(data, 160, 40);
    }

    @Test
    void benchRunsItAfterItsOwnRunAndReportsTheRatio() throws Exception {
        Path json = dir.resolve("bench.json");
        Run bench = run("bench", "--devices", "cpu", "--batch-sizes", "32", "--threads", "1", "--data", data.toString(),
                "--pytorch", SystemPython.PYTHON + " " + SCRIPT, "--json", json.toString());
        assertEquals(0, bench.code(), bench.err());
        assertFalse(bench.out().contains("No PyTorch figure"), bench.out());
        JsonObject row = JsonParser.parseString(Files.readString(json)).getAsJsonObject().getAsJsonArray("rows").get(0)
                .getAsJsonObject();
        assertTrue(row.get("pytorch_images_per_second").getAsDouble() > 0, row.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet5", "lenet5-32", "cnn-dropout", "cnn3"})
    void everyModelTrainsAnEpochAndPrintsItsLine(String model) throws Exception {
        String out = script("--model", model, "--epochs", "1", "--batch", "32");
        List<JsonObject> epochs = epochLines(out);
        assertEquals(1, epochs.size(), out);
        JsonObject epoch = epochs.get(0);
        assertEquals(model, epoch.get("model").getAsString());
        assertEquals(160, epoch.get("images").getAsInt());
        double accuracy = epoch.get("test_acc").getAsDouble();
        assertTrue(accuracy >= 0 && accuracy <= 100, out);
        assertTrue(Double.isFinite(epoch.get("last_loss").getAsDouble()), out);
        assertTrue(PyTorchRun.parse(out).imagesPerSecond() > 0, out);
    }

    @Test
    void graphAndCompileModesWithoutCudaFailInOneLine() {
        SystemPython.Result graph = SystemPython.run(List.of(SCRIPT.toString(), "--data", data.toString(), "--device", "cpu",
                "--mode", "graph"));
        assertEquals(2, graph.code(), graph.output());
        assertEquals("torch_reference.py: --mode graph captures a CUDA graph: it needs --device cuda", graph.output().strip());
        SystemPython.Result compile = SystemPython.run(List.of(SCRIPT.toString(), "--data", data.toString(), "--device",
                "cpu", "--mode", "compile", "--epochs", "1", "--limit", "64"));
        if (compile.code() == 0) {
            assertEquals(1, epochLines(compile.output()).size(), compile.output());
        } else {
            assertEquals(2, compile.code(), compile.output());
            assertTrue(compile.output().strip().matches("torch_reference.py: --mode compile needs PyTorch 2.x "
                    + "\\(torch.compile\\); this is torch 1\\.[^\n]*"), compile.output());
        }
    }

    @Test
    void savedWeightsHaveGpuLenetsNamesAndShapesAndEvaluateThere() throws Exception {
        SystemPython.assumeModules("torch", "safetensors");
        Path saved = dir.resolve("torch.safetensors");
        script("--epochs", "1", "--save", saved.toString());
        Safetensors file = Safetensors.read(saved);
        List<String> names = new ArrayList<>();
        for (Parameters.Spec s : TestModels.lenet5Specs()) {
            names.add(s.name());
            assertArrayEquals(s.shape(), file.shape(s.name()), s.name());
        }
        assertEquals(names, new ArrayList<>(file.names()));
        Run eval = run("eval", "--checkpoint", saved.toString(), "--data", data.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
    }

    @Test
    void saveWithoutSafetensorsSaysSoBeforeTraining() {
        assumeFalse(SystemPython.run(List.of("-c", "import safetensors")).code() == 0, "safetensors is importable");
        SystemPython.Result r = SystemPython.run(List.of(SCRIPT.toString(), "--data", data.toString(), "--device", "cpu",
                "--save", dir.resolve("w.safetensors").toString()));
        assertEquals(2, r.code(), r.output());
        assertTrue(r.output().strip().startsWith("torch_reference.py: --save needs the safetensors package"), r.output());
        assertFalse(r.output().contains("{"), r.output());
    }

    /** The script on the tiny data set, on the CPU with one thread; fails the test unless it exits with 0. */
    private static String script(String... flags) {
        List<String> args = new ArrayList<>(List.of(SCRIPT.toString(), "--data", data.toString(), "--device", "cpu",
                "--threads", "1"));
        args.addAll(List.of(flags));
        return SystemPython.runOk(args);
    }

    private static List<JsonObject> epochLines(String output) {
        List<JsonObject> epochs = new ArrayList<>();
        output.lines().filter(l -> l.startsWith("{")).forEach(l -> epochs.add(JsonParser.parseString(l).getAsJsonObject()));
        return epochs;
    }
}
