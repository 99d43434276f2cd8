package gpulenet.cli;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import gpulenet.SpecialFiles;
import gpulenet.backend.SizingBackend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.format.OnnxExportTest;
import gpulenet.format.Safetensors;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.model.TestModels;
import gpulenet.model.layer.ModulePrintout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code export --checkpoint CK --onnx FILE}: the file ONNX Runtime runs, written atomically; bad input is one line. */
class ExportCommandTest {
    private static final Path TUTORIAL_001 = Path.of("src/test/resources/printouts/tutorial001.txt");

    @TempDir
    Path dir;

    private Path lenet5Checkpoint(String name, long seed) throws Exception {
        Path file = dir.resolve(name);
        try (CpuBackend backend = new CpuBackend(1)) {
            TestModels.lenet5Checkpoint(backend, TestModels.lenet5InitialValues(seed), null, Map.of("epoch", "1")).write(file);
        }
        return file;
    }

    /** A weights-only file (as PyTorch's save_file(model.state_dict())) with the initial values of {@code model}. */
    private Path weightsOnly(String name, Model model, float[] values) throws Exception {
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : Parameters.layout(model.parameterShapes())) {
            float[] v = new float[s.size()];
            System.arraycopy(values, s.offset(), v, 0, s.size());
            w.add(s.name(), s.shape(), v);
        }
        Path file = dir.resolve(name);
        w.writeAtomically(file);
        return file;
    }

    /** ONNX Runtime's logits from {@code onnx} against gpu-lenet's for the first 16 test images of MNIST. */
    private static void assertSameLogits(Path onnx, Model model, float[] values) throws Exception {
        Dataset images = model.transform().applyTo(OnnxExportTest.first(DataSets.embeddedTest(), 16));
        OnnxExportTest.assertClose(OnnxExportTest.javaLogits(model, values, images),
                OnnxExportTest.onnxLogits(Files.readAllBytes(onnx), images), onnx.toString());
    }

    private static Map<String, String> onnxMetadata(Path onnx) throws Exception {
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            return s.getMetadata().getCustomMetadata();
        }
    }

    private List<String> temporaryFiles() throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.map(Path::toString).filter(f -> f.endsWith(".tmp")).toList();
        }
    }

    @Test
    void exportsACheckpointAtomicallyAndOnnxRuntimeRunsIt() throws Exception {
        Path ckpt = lenet5Checkpoint("lenet5.safetensors", 1);
        Path onnx = dir.resolve("models/lenet5.onnx");
        AppTest.Run r = AppTest.run("export", "--checkpoint", ckpt.toString(), "--onnx", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("Exported lenet5 (61,706 parameters) to " + onnx + " ("), r.out());
        assertTrue(r.out().contains("Input \"input\": float32 [N,1,28,28], x = pixel/255; the model normalises it, (x - 0.5)/0.5\n"
                + "Output \"logits\": float32 [N,10] logits\n"), r.out());
        assertSameLogits(onnx, TestModels.lenet5(), TestModels.lenet5InitialValues(1));
        byte[] first = Files.readAllBytes(onnx);

        // Replaced by a rename, not written in place: a second hard link to the old file keeps the old bytes.
        Path other = lenet5Checkpoint("other.safetensors", 2);
        Path oldLink = dir.resolve("old.onnx");
        Files.createLink(oldLink, onnx);
        AppTest.Run again = AppTest.run("export", "--checkpoint", other.toString(), "--onnx", onnx.toString());
        assertEquals(0, again.code(), again.err());
        assertArrayEquals(first, Files.readAllBytes(oldLink));
        assertFalse(Arrays.equals(first, Files.readAllBytes(onnx)));
        assertSameLogits(onnx, TestModels.lenet5(), TestModels.lenet5InitialValues(2));
        assertEquals(List.of(), temporaryFiles());
    }

    @Test
    void aPathThatCannotBeWrittenIsRefusedBeforeTheCheckpointIsRead() throws Exception {
        Path junk = Files.writeString(dir.resolve("junk.safetensors"), "not a checkpoint");
        Path directory = Files.createDirectory(dir.resolve("out"));
        Path fifo = SpecialFiles.fifo(dir.resolve("fifo.onnx"));
        int fifoType = SpecialFiles.type(fifo);
        Path underFile = Files.writeString(dir.resolve("file"), "x").resolve("model.onnx");
        String[][] cases = {
                {directory.toString(), "it is a directory, not a regular file"},
                {fifo.toString(), "it is a FIFO, not a regular file"},
                {underFile.toString(), "not a directory"},
        };
        for (String[] c : cases) {
            AppTest.Run r = AppTest.run("export", "--checkpoint", junk.toString(), "--onnx", c[0]);
            assertEquals(2, r.code(), r.err());
            assertEquals("", r.out());
            assertEquals("gpu-lenet: error: --onnx " + c[0] + ": cannot write: " + c[1] + "\n", r.err());
        }
        assertTrue(Files.isDirectory(directory));
        assertEquals(fifoType, SpecialFiles.type(fifo), "the FIFO is left a FIFO");
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws Exception {
        Path ckpt = lenet5Checkpoint("lenet5.safetensors", 1);
        Path junk = Files.writeString(dir.resolve("junk.safetensors"), "not a checkpoint");
        float[] values = TestModels.lenet5InitialValues(1);
        values[100] = Float.NaN;
        Path nan = weightsOnly("nan.safetensors", TestModels.lenet5(), values);
        Path onnx = dir.resolve("model.onnx");
        String o = onnx.toString();
        String[][] cases = {
                {"export", "--checkpoint", ckpt.toString()},
                {"export", "--onnx", o},
                {"export", "--checkpoint", junk.toString(), "--onnx", o},
                {"export", "--checkpoint", dir.resolve("absent.safetensors").toString(), "--onnx", o},
                {"export", "--checkpoint", nan.toString(), "--onnx", o},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--model", "cnn3"},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--model", "nope"},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--model", "lenet5", "--model-file", TUTORIAL_001.toString()},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--resize", "20"},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--normalize", "0.5"},
                {"export", "--checkpoint", ckpt.toString(), "--onnx", o, "--no-such-flag"},
        };
        for (String[] args : cases) {
            AppTest.Run r = AppTest.runRefused(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals("", r.out(), what);
            assertFalse(Files.exists(onnx), what);
        }
        assertEquals("gpu-lenet: error: " + nan + ": conv1.weight holds 1 non-finite value (NaN or infinite), so it cannot be exported\n",
                AppTest.run("export", "--checkpoint", nan.toString(), "--onnx", o).err());
        assertTrue(AppTest.run("export", "--checkpoint", ckpt.toString(), "--onnx", o, "--resize", "20").err()
                .startsWith("gpu-lenet: error: the lenet5 network does not take 20x20 images: layer fc1 "), "resize");
        assertEquals(List.of(), temporaryFiles());
    }

    @Test
    void aModelFileNetworkExportsFromAWeightsOnlyFile() throws Exception {
        Model model = new Model("tutorial001.txt", ModulePrintout.read(TUTORIAL_001), new InputTransform(0, 0.5f, 0.5f));
        float[] values = new Parameters(new SizingBackend(), model.parameterShapes()).initialValues(3);
        Path weights = weightsOnly("cnn.safetensors", model, values);

        Path onnx = dir.resolve("cnn.onnx");
        AppTest.Run r = AppTest.run("export", "--checkpoint", weights.toString(), "--model-file", TUTORIAL_001.toString(),
                "--onnx", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Exported tutorial001.txt (" + String.format("%,d", model.parameterCount())
                + " parameters) to " + onnx), r.out());
        assertSameLogits(onnx, model, values);
        assertEquals("0.5,0.5", onnxMetadata(onnx).get("normalize"));

        Path plain = dir.resolve("cnn-plain.onnx");
        AppTest.Run none = AppTest.run("export", "--checkpoint", weights.toString(), "--model-file", TUTORIAL_001.toString(),
                "--normalize", "none", "--onnx", plain.toString());
        assertEquals(0, none.code(), none.err());
        assertTrue(none.out().contains("x = pixel/255; no normalisation\n"), none.out());
        assertSameLogits(plain, model.withTransform(InputTransform.NONE), values);
        assertEquals("none", onnxMetadata(plain).get("normalize"));
    }

    @Test
    void aResizingModelSaysItsInputIsTheResizedImage() throws Exception {
        Model model = Presets.get("lenet5-32").model();
        float[] values = new Parameters(new SizingBackend(), model.parameterShapes()).initialValues(4);
        Path weights = weightsOnly("lenet5-32.safetensors", model, values);
        Path onnx = dir.resolve("lenet5-32.onnx");
        AppTest.Run r = AppTest.run("export", "--checkpoint", weights.toString(), "--model", "lenet5-32", "--onnx", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Input \"input\": float32 [N,1,32,32], x = pixel/255 of images resized to 32x32 beforehand; "
                + "the model normalises it, (x - 0.1307)/0.3081\n"), r.out());
        assertSameLogits(onnx, model, values);
        assertEquals("32", onnxMetadata(onnx).get("resize"));
    }
}
