package gpulenet.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.data.DigitImageTest;
import gpulenet.format.Checkpoint;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.train.DeviceDataset;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * predict end to end on the CPU, with a LeNet-5 trained once for this class on a slice of MNIST (one epoch
 * on 6,000 images: about 93% on the test set, 2 to 5 seconds) and an untrained lenet5-32 for the 32x32 path.
 */
class PredictCommandTest {
    private static final int TRAIN_IMAGES = 6000;
    private static final int MNIST_PNGS = 50;

    @TempDir
    static Path shared;
    @TempDir
    Path dir;
    private static Path trained;
    private static Path lenet32;

    @BeforeAll
    static void trainOnce() {
        DataSets mnist = DataSets.embedded();
        DataSets slice = new DataSets("mnist-slice", head(mnist.train(), TRAIN_IMAGES), head(mnist.test(), 100));
        trained = shared.resolve("lenet5.safetensors");
        try (Backend backend = new CpuBackend(2)) {
            new Trainer(backend, slice, new TrainConfig(1, 64, "sgd", 0.05f, 0.9f, 0f, 1f, 1, 1000, false, trained),
                    new PrintWriter(new StringWriter()), false).run();
            Model m32 = Presets.get("lenet5-32").model();
            Parameters p = new Parameters(backend, m32.parameterShapes());
            p.initialize(1);
            lenet32 = shared.resolve("lenet5-32.safetensors");
            Checkpoint.capture(m32, p, null, Map.of()).write(lenet32);
        }
    }

    static Dataset head(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n),
                n, d.rows(), d.cols());
    }

    private static AppTest.Run predict(String... args) {
        List<String> all = new ArrayList<>(List.of("predict", "--device", "cpu", "--threads", "2"));
        all.addAll(List.of(args));
        return AppTest.run(all.toArray(String[]::new));
    }

    /** stdout without the device line. */
    private static List<String> results(AppTest.Run r) {
        List<String> lines = new ArrayList<>(Arrays.asList(r.out().split("\n")));
        assertTrue(lines.get(0).startsWith("Device: "), r.out());
        return lines.subList(1, lines.size());
    }

    private Path png(String name, BufferedImage image) throws Exception {
        Path file = dir.resolve(name);
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    private static BufferedImage drawn(Path2D shape) {
        return DigitImageTest.draw(shape, 300, 400, BufferedImage.TYPE_INT_RGB, Color.WHITE, Color.BLACK, 60, 40, 3);
    }

    /**
     * The first MNIST test images written as PNG files get exactly the predictions eval makes: the argmax of
     * the network's logits on the raw IDX images (and the same probabilities).
     */
    @Test
    void mnistTestImagesAsPngGetEvalsPredictions() throws Exception {
        Dataset test = head(DataSets.embeddedTest(), MNIST_PNGS);
        for (int i = 0; i < MNIST_PNGS; i++) {
            png(String.format("%02d.png", i), DigitImageTest.mnistImage(test, i));
        }
        float[] logits = new float[MNIST_PNGS * Model.CLASSES];
        try (Backend backend = new CpuBackend(2)) {
            CheckpointModel loaded = CheckpointModel.read(trained, new ModelOptions(), "no", new java.io.PrintWriter(java.io.Writer.nullWriter()));
            Network net = Network.forInference(backend, loaded.model(), loaded.weightsOn(backend), 28, 28, MNIST_PNGS);
            DeviceDataset data = new DeviceDataset(backend, test);
            net.gather(data.images(), data.labels(), data.order(), 0, MNIST_PNGS);
            net.forward(MNIST_PNGS, false);
            backend.download(net.logits(MNIST_PNGS), logits);
        }

        AppTest.Run r = predict("--checkpoint", trained.toString(), "--json", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        String[] lines = r.out().split("\n");
        assertEquals(MNIST_PNGS, lines.length, r.out());
        int correct = 0;
        for (int i = 0; i < MNIST_PNGS; i++) {
            JsonObject o = JsonParser.parseString(lines[i]).getAsJsonObject();
            assertEquals(dir.resolve(String.format("%02d.png", i)).toString(), o.get("file").getAsString());
            int expected = argmax(logits, i * Model.CLASSES);
            assertEquals(expected, o.get("prediction").getAsInt(), "MNIST test image " + i);
            double[] p = PredictCommand.softmax(logits, i * Model.CLASSES);
            assertEquals(p[expected], o.get("probability").getAsDouble(), 0.0, "MNIST test image " + i);
            correct += expected == test.label(i) ? 1 : 0;
        }
        assertTrue(correct >= 40, "the trained network is right on " + correct + "/50");
    }

    private static int argmax(float[] v, int offset) {
        int best = 0;
        for (int k = 1; k < Model.CLASSES; k++) {
            if (v[offset + k] > v[offset + best]) {
                best = k;
            }
        }
        return best;
    }

    @Test
    void drawnDigitsArePredicted() throws Exception {
        Path seven = png("seven.png", drawn(DigitImageTest.seven()));
        Path one = png("one.png", drawn(DigitImageTest.one()));
        Path zero = png("zero.png", drawn(DigitImageTest.zero()));
        AppTest.Run r = predict("--checkpoint", trained.toString(), seven.toString(), one.toString(), zero.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = results(r);
        assertEquals(3, lines.size(), r.out());
        String format = "%s: %d \\(p=[01]\\.\\d{3}\\)  top3: %d [01]\\.\\d{3}, \\d [01]\\.\\d{3}, \\d [01]\\.\\d{3}";
        assertTrue(lines.get(0).matches(String.format(format, seven, 7, 7)), lines.get(0));
        assertTrue(lines.get(1).matches(String.format(format, one, 1, 1)), lines.get(1));
        assertTrue(lines.get(2).matches(String.format(format, zero, 0, 0)), lines.get(2));
    }

    @Test
    void aDirectoryIsReadInSortedOrderAndOtherFilesAreSkipped() throws Exception {
        Path images = Files.createDirectory(dir.resolve("images"));
        ImageIO.write(drawn(DigitImageTest.one()), "png", images.resolve("b.png").toFile());
        ImageIO.write(drawn(DigitImageTest.seven()), "png", images.resolve("A.PNG").toFile());
        ImageIO.write(drawn(DigitImageTest.zero()), "jpeg", images.resolve("c.jpg").toFile());
        ImageIO.write(drawn(DigitImageTest.zero()), "bmp", images.resolve("a.bmp").toFile());
        Files.writeString(images.resolve("notes.txt"), "not an image");
        Files.createDirectory(images.resolve("sub.png"));
        AppTest.Run r = predict("--checkpoint", trained.toString(), images.toString());
        assertEquals(0, r.code(), r.err());
        List<String> files = results(r).stream().map(l -> l.substring(0, l.indexOf(": "))).toList();
        assertEquals(List.of("A.PNG", "a.bmp", "b.png", "c.jpg").stream().map(n -> images.resolve(n).toString()).toList(), files);
    }

    @Test
    void unreadableFilesAreOneLineEachAndTheOthersStillPrint() throws Exception {
        Path good = png("good.png", drawn(DigitImageTest.seven()));
        Path junk = Files.writeString(dir.resolve("junk.png"), "not an image");
        Path absent = dir.resolve("absent.jpg");
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Path good2 = png("good2.png", drawn(DigitImageTest.one()));
        AppTest.Run r = predict("--checkpoint", trained.toString(), good.toString(), junk.toString(), absent.toString(),
                empty.toString(), good2.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        List<String> errors = Arrays.asList(r.err().split("\n"));
        assertEquals(3, errors.size(), r.err());
        assertEquals("gpu-lenet: error: " + junk + ": not an image (no PNG, JPEG, BMP or GIF signature)", errors.get(0));
        assertEquals("gpu-lenet: error: " + absent + ": no such file", errors.get(1));
        assertTrue(errors.get(2).startsWith("gpu-lenet: error: " + empty + ": a directory without image files"), errors.get(2));
        List<String> lines = results(r);
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith(good + ": 7 "), lines.get(0));
        assertTrue(lines.get(1).startsWith(good2 + ": 1 "), lines.get(1));

        AppTest.Run none = predict("--checkpoint", trained.toString(), junk.toString());
        assertEquals(2, none.code());
        assertEquals("", none.out(), "no device opened when no image could be read");
        assertEquals(1, none.err().split("\n").length, none.err());
    }

    @Test
    void badCommandLinesAreOneLineAndExit2() {
        String[][] cases = {
                {"predict"},
                {"predict", "--checkpoint", trained.toString()},
                {"predict", "--checkpoint", dir.resolve("absent.safetensors").toString(), "x.png"},
                {"predict", "--checkpoint", trained.toString(), "--data", dir.toString(), "x.png"},
                {"predict", "--checkpoint", trained.toString(), "--resize", "20", "x.png"},
        };
        for (String[] args : cases) {
            AppTest.Run r = AppTest.runRefused(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals("", r.out(), what);
        }
    }

    @Test
    void jsonIsOneObjectPerFile() throws Exception {
        Path seven = png("seven.png", drawn(DigitImageTest.seven()));
        Path one = png("one.png", drawn(DigitImageTest.one()));
        AppTest.Run r = predict("--checkpoint", trained.toString(), "--json", seven.toString(), one.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(2, lines.length, r.out());
        int[] expected = {7, 1};
        for (int i = 0; i < 2; i++) {
            JsonObject o = JsonParser.parseString(lines[i]).getAsJsonObject();
            assertEquals((i == 0 ? seven : one).toString(), o.get("file").getAsString());
            assertEquals(expected[i], o.get("prediction").getAsInt());
            JsonArray top3 = o.getAsJsonArray("top3");
            assertEquals(3, top3.size());
            assertEquals(expected[i], top3.get(0).getAsJsonObject().get("class").getAsInt());
            assertEquals(o.get("probability").getAsDouble(), top3.get(0).getAsJsonObject().get("p").getAsDouble(), 0.0);
            double sum = 0, previous = 1;
            for (int k = 0; k < 3; k++) {
                double p = top3.get(k).getAsJsonObject().get("p").getAsDouble();
                assertTrue(p <= previous, "most probable first");
                previous = p;
                sum += p;
            }
            assertTrue(sum <= 1 + 1e-12 && sum > 0.5, "top3 sum " + sum);
        }
    }

    @Test
    void showPrintsWhatTheNetworkSaw() throws Exception {
        Path seven = png("seven.png", drawn(DigitImageTest.seven()));
        AppTest.Run r = predict("--checkpoint", trained.toString(), "--show", seven.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = results(r);
        assertEquals(29, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith(seven + ": 7 "), lines.get(0));
        for (String row : lines.subList(1, 29)) {
            assertEquals(28, row.length(), "'" + row + "'");
            assertTrue(row.chars().allMatch(c -> PredictCommand.SHADES.indexOf(c) >= 0), row);
        }
        assertEquals(" ".repeat(28), lines.get(1), "black border");
        assertTrue(String.join("", lines).contains("@"), "the brightest ink");

        AppTest.Run r32 = predict("--checkpoint", lenet32.toString(), "--show", "--json", seven.toString());
        assertEquals(0, r32.code(), r32.err());
        JsonArray rows = JsonParser.parseString(r32.out().trim()).getAsJsonObject().getAsJsonArray("input");
        assertEquals(32, rows.size(), "lenet5-32 sees the 32x32 resize");
        rows.forEach(row -> assertEquals(32, row.getAsString().length()));
    }
}
