package gpulenet.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.SystemPython;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.DataSets;
import gpulenet.format.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Weights trained in PyTorch (src/main/python/torch_reference.py --save, a state_dict in safetensors) evaluate in
 * gpu-lenet to PyTorch's own result, image for image: for each tutorial network, {@code eval --checkpoint W --model
 * NAME} and {@code eval --checkpoint W --model-file PRINTOUT} (with the model's --normalize/--resize) count exactly
 * as many correct predictions on the test split as PyTorch counted on the same images. Runs where
 * /usr/bin/python3 has torch.
 */
class PyTorchWeightsEvalTest {
    /** The first images of real MNIST's splits: a short training run, and a test split large enough to tell. */
    static final int TRAIN = 1000;
    static final int TEST = 2000;
    static final Path PRINTOUTS = Path.of("src/test/resources/printouts");
    /** LeNet-5's parameters under its tutorials' names, and as the same layers in an nn.Sequential name them. */
    static final Map<String, String> LENET5_AS_SEQUENTIAL = Map.of("conv1", "0", "conv2", "3", "fc1", "7", "fc2", "9", "fc3", "11");

    @TempDir
    static Path dir;

    static Path data;

    @BeforeAll
    static void mnistSubset() throws IOException {
        SystemPython.assumeModules("torch");
        Path embedded = Files.createDirectory(dir.resolve("embedded"));
        DataSets.copyEmbedded(embedded);
        data = Files.createDirectory(dir.resolve("mnist-" + TRAIN + "-" + TEST));
        for (String split : List.of("train", "t10k")) {
            int count = split.equals("train") ? TRAIN : TEST;
            for (String file : List.of(split + "-images-idx3-ubyte", split + "-labels-idx1-ubyte")) {
                firstItems(embedded.resolve(file + ".gz"), count, data.resolve(file));
            }
        }
    }

    /**
     * One tutorial network: the script's flags that train it (one short epoch of batches of 32; lenet5-32,
     * cnn-dropout and cnn3 at a higher lr than their tutorials', so that it learns enough to predict more than
     * one class: 40 to 75% of the test images right), gpu-lenet's preset, and printouts of it (tensor
     * names as in the script's state_dict unless {@code sequential}) with the eval flags that give its input
     * transform.
     */
    record Case(List<String> scriptFlags, String preset, List<Path> printouts, boolean sequential, List<String> transformFlags) {
        @Override
        public String toString() {
            return preset;
        }
    }

    static Stream<Arguments> networks() throws IOException {
        Path lenet5 = PRINTOUTS.resolve("lenet5-sequential.txt");
        String unpadded = Files.readString(lenet5).replace(", padding=(2, 2)", "");
        assertTrue(!unpadded.contains("padding=(2"), unpadded);
        Path lenet5Unpadded = Files.writeString(dir.resolve("lenet5-32-sequential.txt"), unpadded);
        return Stream.of(
                arguments(new Case(List.of("--model", "lenet5"), "lenet5", List.of(lenet5), true,
                        List.of("--normalize", "0.5,0.5"))),
                arguments(new Case(List.of("--model", "lenet5", "--optimizer", "adam"), "lenet5-adam", List.of(lenet5), true,
                        List.of("--normalize", "none"))),
                arguments(new Case(List.of("--model", "lenet5-32", "--lr", "0.05"), "lenet5-32", List.of(lenet5Unpadded), true,
                        List.of("--resize", "32", "--normalize", "0.1307,0.3081"))),
                arguments(new Case(List.of("--model", "cnn-dropout", "--lr", "0.05", "--momentum", "0.9"), "cnn-dropout",
                        List.of(PRINTOUTS.resolve("tutorial001.txt"), PRINTOUTS.resolve("tutorial001-old.txt")), false,
                        List.of("--normalize", "0.5,0.5"))),
                arguments(new Case(List.of("--model", "cnn3", "--lr", "0.001"), "cnn3", List.of(PRINTOUTS.resolve("tutorial003.txt")), false,
                        List.of("--normalize", "none"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void pyTorchWeightsCountAsInPyTorch(Case c) throws Exception {
        if (c.preset().equals("lenet5-32")) {
            SystemPython.assumeModules("torch", "PIL");
        }
        Path weights = dir.resolve(c.preset() + ".safetensors");
        List<String> args = new ArrayList<>(List.of(TorchReferenceScriptTest.SCRIPT.toString(), "--data", data.toString(),
                "--device", "cpu", "--threads", "1", "--epochs", "1", "--batch", "32", "--save", weights.toString()));
        args.addAll(c.scriptFlags());
        String out = SystemPython.runOk(args);
        List<String> lines = out.lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(1, lines.size(), out);
        JsonObject epoch = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(TEST, epoch.get("test_images").getAsInt(), out);
        Count torch = new Count(epoch.get("test_correct").getAsInt(), TEST, epoch.get("test_loss").getAsDouble());

        assertSameCount(torch, "--model " + c.preset(), eval(weights, "--model", c.preset()));
        Path named = weights;
        if (c.sequential()) {
            named = dir.resolve(c.preset() + "-sequential.safetensors");
            renamed(weights, named, LENET5_AS_SEQUENTIAL);
        }
        for (Path printout : c.printouts()) {
            List<String> flags = new ArrayList<>(List.of("--model-file", printout.toString()));
            flags.addAll(c.transformFlags());
            assertSameCount(torch, String.join(" ", flags), eval(named, flags.toArray(String[]::new)));
        }
    }

    /** Correct predictions of how many images, and the mean loss (PyTorch prints it to 4 decimals, gpu-lenet too). */
    record Count(int correct, int images, double loss) {
    }

    private static void assertSameCount(Count torch, String how, Count gpuLenet) {
        assertEquals(torch.images(), gpuLenet.images(), how + ": test images");
        assertEquals(torch.correct(), gpuLenet.correct(), how + ": correct predictions, PyTorch's vs gpu-lenet's");
        assertEquals(torch.loss(), gpuLenet.loss(), 2e-4, how + ": mean test loss");
    }

    /** gpu-lenet's eval of {@code weights} on the CPU with {@code flags}; fails the test unless it exits with 0. */
    private static Count eval(Path weights, String... flags) {
        List<String> args = new ArrayList<>(List.of("eval", "--checkpoint", weights.toString(), "--device", "cpu",
                "--data", data.toString()));
        args.addAll(List.of(flags));
        Run r = run(args.toArray(String[]::new));
        if (r.code() != 0) {
            fail(String.join(" ", args) + " exited with " + r.code() + ":\n" + r.err());
        }
        Matcher m = Pattern.compile("Average loss: ([0-9.]+), Accuracy: (\\d+)/(\\d+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        return new Count(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Double.parseDouble(m.group(1)));
    }

    /** {@code from}'s tensors under new module names ("conv1.weight" to "0.weight", ...), as weights-only safetensors. */
    private static void renamed(Path from, Path to, Map<String, String> modules) throws IOException {
        Safetensors file = Safetensors.read(from);
        Safetensors.Writer w = new Safetensors.Writer();
        for (String name : file.names()) {
            int dot = name.indexOf('.');
            String module = modules.get(name.substring(0, dot));
            assertTrue(module != null, name);
            w.add(module + name.substring(dot), file.shape(name), file.floats(name));
        }
        w.writeAtomically(to);
    }

    /** The first {@code count} items of a gzipped IDX file, written raw to {@code to}. */
    private static void firstItems(Path gz, int count, Path to) throws IOException {
        byte[] idx;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            idx = in.readAllBytes();
        }
        int dims = idx[3];
        ByteBuffer header = ByteBuffer.wrap(idx, 0, 4 + 4 * dims);
        int available = header.getInt(4);
        assertTrue(count <= available, gz + " holds " + available);
        int itemBytes = 1;
        for (int d = 1; d < dims; d++) {
            itemBytes *= header.getInt(4 + 4 * d);
        }
        byte[] out = Arrays.copyOf(idx, 4 + 4 * dims + count * itemBytes);
        ByteBuffer.wrap(out).putInt(4, count);
        Files.write(to, out);
    }
}
