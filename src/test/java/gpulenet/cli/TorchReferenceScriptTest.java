package gpulenet.cli;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.SystemPython;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.IdxFiles;
import gpulenet.format.Safetensors;
import gpulenet.model.Parameters;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        assertEquals(40, epoch.get("test_images").getAsInt(), out);
        int correct = epoch.get("test_correct").getAsInt();
        assertTrue(correct >= 0 && correct <= 40, out);
        assertEquals(Math.round(correct / 40.0 * 10000) / 100.0, epoch.get("test_acc").getAsDouble(), 1e-9, out);
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

    /** With the safetensors package where this Python has it, else with the script's own writer. */
    @Test
    void savedWeightsHaveGpuLenetsNamesAndShapesAndEvaluateThere() throws Exception {
        Path saved = dir.resolve("torch.safetensors");
        script("--epochs", "1", "--save", saved.toString());
        Safetensors file = Safetensors.read(saved);
        List<String> names = new ArrayList<>();
        for (Parameters.Spec s : TestModels.lenet5Specs()) {
            names.add(s.name());
            assertArrayEquals(s.shape(), file.shape(s.name()), s.name());
        }
        Collections.sort(names); // save_file writes the tensors sorted by name (all are F32)
        assertEquals(names, new ArrayList<>(file.names()));
        assertEquals("lenet5", file.metadata().get("model"));
        Run eval = run("eval", "--checkpoint", saved.toString(), "--data", data.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
    }

    @Test
    void saveWritesSafetensorsItselfWhenThePackageCannotBeImported() throws Exception {
        Path saved = dir.resolve("w.safetensors");
        // the script as its own main, with safetensors made unimportable (a None in sys.modules) whether installed or not
        String out = SystemPython.runOk(List.of("-B", "-c", "import runpy, sys\n"
                + "sys.modules['safetensors'] = sys.modules['safetensors.torch'] = None\n"
                + "sys.argv = sys.argv[1:]\n"
                + "runpy.run_path(sys.argv[0], run_name='__main__')", SCRIPT.toString(), "--data", data.toString(),
                "--device", "cpu", "--threads", "1", "--model", "cnn3", "--epochs", "1", "--limit", "32",
                "--save", saved.toString()));
        assertEquals(1, epochLines(out).size(), out);
        Safetensors file = Safetensors.read(saved);
        assertEquals(List.of("0.bias", "0.weight", "10.bias", "10.weight", "2.bias", "2.weight", "4.bias", "4.weight",
                "8.bias", "8.weight", "9.bias", "9.weight"), new ArrayList<>(file.names()));
        assertArrayEquals(new int[]{512, 968}, file.shape("8.weight"));
        assertEquals("cnn3", file.metadata().get("model"));
        assertEquals("adam", file.metadata().get("optimizer"));
        Run eval = run("eval", "--checkpoint", saved.toString(), "--model", "cnn3", "--data", data.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
    }

    /**
     * The script's writer against the bytes the safetensors package's own tests expect of save_file, and
     * against the package itself where this Python has it; a state_dict it writes reads back here with its
     * names, shapes and values.
     */
    @Test
    void itsSafetensorsWriterWritesWhatSaveFileWrites() throws Exception {
        String out = SystemPython.runOk(List.of("-B", "-c", String.join("\n",
                "import json, os, sys",
                "sys.path.insert(0, os.path.dirname(sys.argv[1]))",
                "import torch, torch_reference as t",
                "d = sys.argv[2]",
                "def write(name, tensors, metadata=None):",
                "    with open(os.path.join(d, name), 'wb') as f:",
                "        f.write(t.safetensors_bytes(tensors, metadata))",
                "zeros = torch.zeros((2, 2), dtype=torch.int32)",
                "write('i32.safetensors', {'test': zeros})",
                "write('aligned.safetensors', {'test2': torch.zeros((2, 2), dtype=torch.float16), 'test1': zeros})",
                "write('metadata.safetensors', {'test1': zeros}, {'framework': 'pt'})",
                "write('f32.safetensors', {'test': torch.tensor([[1.5, -2], [0, 3.25]])})",
                "torch.manual_seed(1)",
                "state = t.MODELS['cnn-dropout'][0]().state_dict()",
                "write('cnn-dropout.safetensors', state, {'model': 'cnn-dropout'})",
                "with open(os.path.join(d, 'cnn-dropout.json'), 'w') as f:",
                "    json.dump({k: [list(v.shape), v.flatten().tolist()] for k, v in state.items()}, f)",
                "try:",
                "    from safetensors.torch import save",
                "except ImportError:",
                "    print('no safetensors package')",
                "else:",
                "    assert save(state) == t.safetensors_bytes(state), 'differs from safetensors.torch.save'",
                "    assert save(state, {'model': 'x'}) == t.safetensors_bytes(state, {'model': 'x'}), 'differs with metadata'",
                "    print('same bytes as safetensors', __import__('safetensors').__version__)"),
                SCRIPT.toString(), dir.toString()));
        // from safetensors' bindings/python/tests/test_simple.py: test_serialization, test_serialization_forces_alignment
        // and test_serialization_metadata (there with numpy arrays, whose save gives the bytes save_file writes)
        assertArrayEquals(file(64, "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}    ", 16),
                Files.readAllBytes(dir.resolve("i32.safetensors")), out);
        assertArrayEquals(file(128, "{\"test1\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"test2\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[16,24]}}      ", 24),
                Files.readAllBytes(dir.resolve("aligned.safetensors")));
        assertArrayEquals(file(96, "{\"__metadata__\":{\"framework\":\"pt\"},"
                + "\"test1\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}} ", 16),
                Files.readAllBytes(dir.resolve("metadata.safetensors")));
        assertArrayEquals(new float[]{1.5f, -2f, 0f, 3.25f}, Safetensors.read(dir.resolve("f32.safetensors")).floats("test", 2, 2));

        Safetensors file = Safetensors.read(dir.resolve("cnn-dropout.safetensors"));
        assertEquals(Map.of("model", "cnn-dropout"), file.metadata());
        JsonObject expected = JsonParser.parseString(Files.readString(dir.resolve("cnn-dropout.json"))).getAsJsonObject();
        List<String> names = new ArrayList<>(expected.keySet());
        assertEquals(List.of("conv1.0.weight", "conv1.0.bias", "conv2.0.weight", "conv2.0.bias", "fc3.0.weight",
                "fc3.0.bias", "fc4.0.weight", "fc4.0.bias"), names); // the state_dict's order; the file's is sorted
        Collections.sort(names);
        assertEquals(names, new ArrayList<>(file.names()));
        for (String name : names) {
            JsonArray shapeAndValues = expected.getAsJsonArray(name);
            int[] shape = new Gson().fromJson(shapeAndValues.get(0), int[].class);
            float[] values = new Gson().fromJson(shapeAndValues.get(1), float[].class);
            assertArrayEquals(values, file.floats(name, shape), name);
        }
    }

    /** A safetensors file's bytes: the header length, the (padded) header, then {@code dataBytes} zero bytes. */
    private static byte[] file(int headerLength, String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        assertEquals(headerLength, json.length, header);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(json);
        return b.array();
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
