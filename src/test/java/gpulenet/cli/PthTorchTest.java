package gpulenet.cli;

import gpulenet.SystemPython;
import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.data.IdxFiles;
import gpulenet.format.Checkpoint;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.train.DeviceDataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static gpulenet.cli.AppTest.run;
import static gpulenet.cli.AppTest.runRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PyTorch's .pth both ways, against PyTorch itself (where /usr/bin/python3 has torch): files torch.save wrote
 * (a state_dict in the zip and the legacy format, and the tutorials' dict pattern) give here the very logits the
 * same weights give from safetensors, for every preset; files written here load with
 * {@code torch.load(PATH, weights_only=True)} into the tutorials' own module classes with
 * {@code load_state_dict(strict=True)}, and PyTorch's forward gives this project's logits within float rounding.
 */
class PthTorchTest {
    static final Path SCRIPT = Path.of("src/test/resources/pth/tutorial_pth.py");
    static final int IMAGES = 32;
    static final List<String> PRESETS = Presets.ALL.stream().map(Presets.Preset::name).toList();

    @TempDir
    static Path dir;

    static Dataset images;

    @BeforeAll
    static void torchSavesEveryPreset() {
        SystemPython.assumeModules("torch");
        SystemPython.runOk(List.of(SCRIPT.toString(), "save", dir.toString()));
        images = PredictCommandTest.head(DataSets.embeddedTest(), IMAGES);
    }

    static List<String> presets() {
        return PRESETS;
    }

    static float[] logits(Model model, Checkpoint weights) {
        Dataset in = model.transform().applyTo(images);
        try (Backend backend = new CpuBackend(2)) {
            Parameters params = new Parameters(backend, model.parameterShapes());
            weights.applyTo(params, null);
            Network net = Network.forInference(backend, model, params, in.rows(), in.cols(), IMAGES);
            DeviceDataset data = new DeviceDataset(backend, in);
            net.gather(data.images(), data.labels(), data.order(), 0, IMAGES);
            net.forward(IMAGES, false);
            float[] out = new float[IMAGES * Model.CLASSES];
            backend.download(net.logits(IMAGES), out);
            return out;
        }
    }

    @ParameterizedTest
    @MethodSource("presets")
    void torchSavedFilesGiveTheLogitsOfTheSameWeightsFromSafetensors(String preset) {
        Model model = Presets.get(preset).model();
        float[] reference = logits(model, Checkpoint.read(dir.resolve(preset + ".safetensors")));
        for (String variant : List.of("", "-legacy", "-dict")) {
            Checkpoint pth = Checkpoint.read(dir.resolve(preset + variant + ".pth"));
            assertArrayEquals(reference, logits(model, pth), preset + variant);
            assertEquals(variant.equals("-dict") ? List.of(dir.resolve(preset + variant + ".pth")
                    + ": using the state_dict under 'model_state_dict' (epoch 2)") : List.of(), pth.notes());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"float64", "float16", "bfloat16", "strided"})
    void otherDtypesBecomeFloat32WithOneLineAndViewsThatAreNotContiguousReadAsTheirValues(String variant) {
        Checkpoint reference = Checkpoint.read(dir.resolve("lenet5-" + variant + ".safetensors"));
        for (String format : List.of("", "-legacy")) {
            Path file = dir.resolve("lenet5-" + variant + format + ".pth");
            Checkpoint pth = Checkpoint.read(file);
            assertEquals(new java.util.TreeSet<>(reference.tensorNames()), new java.util.TreeSet<>(pth.tensorNames()));
            for (String name : reference.tensorNames()) {
                assertArrayEquals(reference.tensors().get(name).data(), pth.tensors().get(name).data(), variant + format + " " + name);
            }
            assertEquals(variant.equals("strided") ? List.of() : List.of(file + ": converted 10 " + variant
                    + " tensors to float32 (conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc1.weight, fc1.bias, fc2.weight, "
                    + "fc2.bias, fc3.weight, fc3.bias)"), pth.notes());
        }
    }

    /** |mine - theirs| <= 1e-5 + 1e-4 |theirs|, for every logit. */
    static void assertClose(float[] theirs, float[] mine, String what) {
        assertEquals(theirs.length, mine.length, what);
        for (int i = 0; i < mine.length; i++) {
            double tolerance = 1e-5 + 1e-4 * Math.abs(theirs[i]);
            assertTrue(Math.abs(mine[i] - theirs[i]) <= tolerance, what + " logit " + i + ": " + mine[i] + " here, "
                    + theirs[i] + " in PyTorch");
        }
    }

    @Test
    void filesWrittenHereLoadInPyTorchWeightsOnlyIntoTheTutorialsClassesAndGiveTheSameLogits() throws IOException {
        Map<String, float[]> ours = new java.util.LinkedHashMap<>();
        for (String preset : PRESETS) {
            Model model = Presets.get(preset).model();
            Checkpoint weights = Checkpoint.read(dir.resolve(preset + ".safetensors"));
            ours.put(preset, logits(model, weights));
            try (Backend backend = new CpuBackend(1)) {
                Parameters params = new Parameters(backend, model.parameterShapes());
                weights.applyTo(params, null);
                Checkpoint.capture(model, params, null, Map.of(Checkpoint.EPOCH, "1")).write(dir.resolve(preset + "-java.pth"));
            }
            Dataset in = model.transform().applyTo(images);
            Files.write(dir.resolve(preset + "-input.u8"), in.images());
            Files.writeString(dir.resolve(preset + "-input.json"), String.format(Locale.ROOT,
                    "{\"size\": %d, \"mean\": %s, \"std\": %s}", in.rows(), model.transform().mean(), model.transform().std()));
        }
        List<String> args = new ArrayList<>(List.of(SCRIPT.toString(), "load", dir.toString()));
        args.addAll(PRESETS);
        SystemPython.runOk(args);
        for (String preset : PRESETS) {
            assertClose(readFloats(dir.resolve(preset + "-torch-logits.f32")), ours.get(preset), preset);
        }
    }

    static float[] readFloats(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    /**
     * Tutorial 002 both ways on the command line: the notebook's state_dict continues here (--init), the run's
     * .pth resumes exactly here and loads in PyTorch; a network only one preset has is found without --model.
     */
    @Test
    void tutorial002FlowOnTheCommandLine() throws IOException {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 128, 64);
        Path notebook = dir.resolve("lenet5-32.pth");
        AppTest.Run ambiguous = runRefused("eval", "--checkpoint", notebook.toString(), "--data", data.toString(), "--device", "cpu");
        assertTrue(ambiguous.err().contains("match the presets lenet5, lenet5-adam, lenet5-32: give --model NAME"), ambiguous.err());

        Path continued = dir.resolve("continued.pth");
        AppTest.Run init = run("train", "--init", notebook.toString(), "--model", "lenet5-32", "--data", data.toString(),
                "--device", "cpu", "--epochs", "1", "--save", continued.toString());
        assertEquals(0, init.code(), init.err());
        assertTrue(init.out().contains("Starting from the weights in " + notebook + " (epoch 1, a new optimizer)"), init.out());

        AppTest.Run resumed = run("train", "--resume", continued.toString(), "--data", data.toString(), "--device", "cpu",
                "--epochs", "2", "--save", continued.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("Resuming " + continued + " after epoch 1"), resumed.out());

        AppTest.Run notOurs = runRefused("train", "--resume", notebook.toString(), "--data", data.toString(), "--device", "cpu");
        assertTrue(notOurs.err().contains("cannot be resumed; train --init " + notebook + " starts a new run"), notOurs.err());

        Files.copy(continued, dir.resolve("lenet5-32-java.pth"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Model model = Presets.get("lenet5-32").model();
        Dataset in = model.transform().applyTo(images);
        Files.write(dir.resolve("lenet5-32-input.u8"), in.images());
        Files.writeString(dir.resolve("lenet5-32-input.json"), String.format(Locale.ROOT,
                "{\"size\": %d, \"mean\": %s, \"std\": %s}", in.rows(), model.transform().mean(), model.transform().std()));
        SystemPython.runOk(List.of(SCRIPT.toString(), "load", dir.toString(), "lenet5-32"));
        assertClose(readFloats(dir.resolve("lenet5-32-torch-logits.f32")), logits(model, Checkpoint.read(continued)), "continued");

        AppTest.Run inferred = run("eval", "--checkpoint", dir.resolve("cnn3-legacy.pth").toString(), "--data", data.toString(),
                "--device", "cpu");
        assertEquals(0, inferred.code(), inferred.err());
        assertTrue(inferred.err().contains("parameter names and shapes are the cnn3 preset's, so that network is used"),
                inferred.err());
        assertTrue(inferred.out().contains("Model: cnn3"), inferred.out());
    }
}
