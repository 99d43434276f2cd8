package gpulenet.cli;

import com.google.gson.JsonParser;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.data.IdxFiles;
import gpulenet.train.EpochSummary;
import gpulenet.train.Evaluation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PNGs of train --plot and eval --confusion / --errors, decoded and checked; the flags end to end. */
class ChartsTest {
    private static Dataset mnistTest;
    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        Dataset t = DataSets.embedded().test();
        int n = 120;
        mnistTest = new Dataset(t.name(), Arrays.copyOf(t.images(), n * t.imageSize()), Arrays.copyOf(t.labels(), n), n,
                t.rows(), t.cols());
    }

    @Test
    void aPictureThatCannotBeWrittenIsSaidOnceAndTheRunGoesOn() throws IOException {
        Path gone = Files.createDirectory(dir.resolve("gone"));
        StringWriter err = new StringWriter();
        Charts.TrainingPlot plot = new Charts.TrainingPlot(gone.resolve("p.png"), "t", new PrintWriter(err));
        Evaluation test = new Evaluation(1.0, 9, 10, null, 0.1);
        plot.epochEnd(new EpochSummary(1, 0.1f, 10, 0.5, 0.1, test), 10);
        assertTrue(Files.exists(gone.resolve("p.png")));
        Files.delete(gone.resolve("p.png"));
        Files.delete(gone);
        Files.writeString(gone, "a file where the picture's directory was");
        plot.epochEnd(new EpochSummary(2, 0.1f, 10, 0.4, 0.1, test), 20);
        plot.epochEnd(new EpochSummary(3, 0.1f, 10, 0.3, 0.1, test), 30);
        assertEquals(1, err.toString().lines().count(), err.toString());
        assertTrue(err.toString().startsWith("gpu-lenet: --plot " + gone.resolve("p.png") + ": no picture drawn from epoch 2 on"),
                err.toString());
    }

    /** Writes {@code image} the way the commands do and decodes the file. */
    private BufferedImage roundTrip(BufferedImage image, String name) throws IOException {
        Path file = dir.resolve(name);
        Charts.writePng(file, image);
        return decode(file);
    }

    private static BufferedImage decode(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        assertTrue(bytes.length > 8 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', file + " is a PNG");
        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, file + " decodes");
        return image;
    }

    private static Set<Integer> colours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        return colours;
    }

    /** Pixels that are not the white background. */
    private static double inkFraction(BufferedImage image) {
        long ink = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                ink += (image.getRGB(x, y) & 0xffffff) != 0xffffff ? 1 : 0;
            }
        }
        return (double) ink / ((long) image.getWidth() * image.getHeight());
    }

    private static int count(BufferedImage image, Color colour) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                n += (image.getRGB(x, y) & 0xffffff) == (colour.getRGB() & 0xffffff) ? 1 : 0;
            }
        }
        return n;
    }

    private static void assertNotBlank(BufferedImage image, int minColours, double minInk) {
        int colours = colours(image).size();
        double ink = inkFraction(image);
        assertTrue(colours >= minColours, colours + " distinct colours");
        assertTrue(ink >= minInk && ink < 0.95, "non-background fraction " + ink);
    }

    @Test
    void trainingCurvesShowTheLossLineAndTheAccuracyPoints() throws IOException {
        double[] x = new double[30], loss = new double[30];
        for (int i = 0; i < 30; i++) {
            x[i] = (i + 1) / 10.0;
            loss[i] = 2.3 * Math.exp(-i / 5.0) + 0.05;
        }
        BufferedImage image = roundTrip(Charts.trainingCurves("lenet5 on mnist (cpu)", x, loss, new double[] {1, 2, 3},
                new double[] {0.2, 0.1, 0.08}, new double[] {0.95, 0.975, 0.981}), "curves.png");
        assertEquals(Charts.CURVES_WIDTH, image.getWidth());
        assertEquals(Charts.CURVES_HEIGHT, image.getHeight());
        assertNotBlank(image, 20, 0.02);
        assertTrue(count(image, new Color(0x1f, 0x77, 0xb4)) > 300, "the blue loss line");
        assertTrue(count(image, new Color(0x2c, 0xa0, 0x2c)) > 300, "the green accuracy line and its markers");
        assertTrue(count(image, new Color(0xff, 0x7f, 0x0e)) > 50, "the orange test-loss markers");
    }

    @Test
    void oneLogLineAndOneEpochStillDraw() throws IOException {
        BufferedImage image = roundTrip(Charts.trainingCurves("dry run", new double[] {0.01}, new double[] {2.3},
                new double[] {1}, new double[] {2.2}, new double[] {0.1}), "one.png");
        assertNotBlank(image, 10, 0.01);
        assertTrue(count(image, new Color(0x2c, 0xa0, 0x2c)) > 20, "the accuracy marker");
    }

    @Test
    void theConfusionHeatmapHasLabelZeroTopLeftAndACountInEveryCell() throws IOException {
        long[][] m = new long[10][10];
        for (int t = 0; t < 10; t++) {
            m[t][t] = 900 + t;
            m[t][(t + 3) % 10] = t; // a few errors, a zero among them
        }
        m[0][0] = 1000; // the one cell of the largest count, in the darkest blue
        BufferedImage image = roundTrip(Charts.confusion("confusion", m), "confusion.png");
        assertEquals(Charts.CONFUSION_SIZE, image.getWidth());
        assertEquals(Charts.CONFUSION_SIZE, image.getHeight());
        assertNotBlank(image, 10, 0.1);
        Rectangle darkest = boundingBox(image, new Color(0x42, 0x92, 0xc6));
        assertTrue(darkest.width > 30 && darkest.height > 30, "the largest count's cell: " + darkest);
        assertTrue(darkest.x < Charts.CONFUSION_SIZE / 4 && darkest.y < Charts.CONFUSION_SIZE / 4,
                "true 0 / predicted 0 is the top-left cell: " + darkest);
        int black = count(image, Color.BLACK);
        assertTrue(black > 100, "text: counts, labels, title (" + black + " black pixels)");
    }

    private static Rectangle boundingBox(BufferedImage image, Color colour) {
        int rgb = colour.getRGB() & 0xffffff;
        int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    x0 = Math.min(x0, x);
                    y0 = Math.min(y0, y);
                    x1 = Math.max(x1, x);
                    y1 = Math.max(y1, y);
                }
            }
        }
        return x1 < 0 ? new Rectangle() : new Rectangle(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }

    /** Predictions equal to the labels except at {@code wrong}, where the next class is predicted. */
    private static int[] predictionsWrongAt(List<Integer> wrong) {
        int[] p = new int[mnistTest.count()];
        for (int i = 0; i < p.length; i++) {
            p[i] = wrong.contains(i) ? (mnistTest.label(i) + 1) % 10 : mnistTest.label(i);
        }
        return p;
    }

    @Test
    void eachTileOfTheErrorGridHoldsItsMisclassifiedImage() throws IOException {
        List<Integer> wrong = new ArrayList<>();
        for (int i = 3; i < 120; i += 3) {
            wrong.add(i); // 39 errors: the grid shows the first 36
        }
        BufferedImage image = roundTrip(Charts.errorGrid("lenet5 on mnist-test", mnistTest, predictionsWrongAt(wrong)),
                "errors.png");
        assertNotBlank(image, 50, 0.2);
        Rectangle last = Charts.errorTile(Charts.MAX_ERRORS - 1, Charts.MAX_ERRORS, 28, 28);
        assertTrue(image.getWidth() > last.x + last.width && image.getHeight() > last.y + last.height,
                image.getWidth() + "x" + image.getHeight() + " holds 6 rows of 6 tiles");
        assertTrue(image.getWidth() < last.x + last.width + 200 && image.getHeight() < last.y + last.height + 100,
                "and not much more: " + image.getWidth() + "x" + image.getHeight());
        for (int t = 0; t < Charts.MAX_ERRORS; t++) {
            double[] tile = tilePixels(image, Charts.errorTile(t, Charts.MAX_ERRORS, 28, 28));
            double own = correlation(tile, pixels(wrong.get(t)));
            double other = correlation(tile, pixels(wrong.get((t + 1) % Charts.MAX_ERRORS)));
            assertTrue(own > 0.99, "tile " + t + " shows test image " + wrong.get(t) + ": correlation " + own);
            assertTrue(other < 0.9, "tile " + t + " is not image " + wrong.get((t + 1) % 36) + ": " + other);
        }
        // a red label above every tile, none above where a 37th would be
        for (int t = 0; t < Charts.MAX_ERRORS; t++) {
            Rectangle tile = Charts.errorTile(t, Charts.MAX_ERRORS, 28, 28);
            assertTrue(redPixels(image, new Rectangle(tile.x - 20, tile.y - 20, tile.width + 40, 18)) > 20, "label of tile " + t);
        }
    }

    private static int redPixels(BufferedImage image, Rectangle r) {
        int n = 0;
        for (int y = Math.max(0, r.y); y < Math.min(image.getHeight(), r.y + r.height); y++) {
            for (int x = Math.max(0, r.x); x < Math.min(image.getWidth(), r.x + r.width); x++) {
                Color c = new Color(image.getRGB(x, y));
                n += c.getRed() > c.getGreen() + 60 && c.getRed() > c.getBlue() + 60 ? 1 : 0;
            }
        }
        return n;
    }

    /** The grey level at the centre of each scaled source pixel of a tile. */
    private static double[] tilePixels(BufferedImage image, Rectangle tile) {
        int s = tile.width / 28;
        double[] v = new double[28 * 28];
        for (int r = 0; r < 28; r++) {
            for (int c = 0; c < 28; c++) {
                v[r * 28 + c] = image.getRGB(tile.x + c * s + s / 2, tile.y + r * s + s / 2) & 0xff;
            }
        }
        return v;
    }

    private static double[] pixels(int index) {
        double[] v = new double[mnistTest.imageSize()];
        for (int i = 0; i < v.length; i++) {
            v[i] = mnistTest.images()[index * mnistTest.imageSize() + i] & 0xff;
        }
        return v;
    }

    private static double correlation(double[] a, double[] b) {
        double ma = Arrays.stream(a).average().orElseThrow(), mb = Arrays.stream(b).average().orElseThrow();
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }
        return ab / Math.sqrt(aa * bb);
    }

    @Test
    void aFewErrorsOrNoneStillDraw() throws IOException {
        BufferedImage two = roundTrip(Charts.errorGrid("few", mnistTest, predictionsWrongAt(List.of(5, 9))), "two.png");
        assertNotBlank(two, 20, 0.05);
        double own = correlation(tilePixels(two, Charts.errorTile(1, 2, 28, 28)), pixels(9));
        assertTrue(own > 0.99, "the second tile is image 9: " + own);
        BufferedImage none = roundTrip(Charts.errorGrid("none", mnistTest, predictionsWrongAt(List.of())), "none.png");
        assertTrue(inkFraction(none) > 0.001, "the heading says there are none");
    }

    // --- the flags, end to end ---

    @Test
    void trainWritesMetricsEventsAndPlotAndEvalDrawsBothPictures() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
        Path ckpt = dir.resolve("c.safetensors"), metrics = dir.resolve("run.jsonl"), board = dir.resolve("tb"),
                plot = dir.resolve("run.png");
        AppTest.Run train = AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--threads", "2", "--epochs", "2",
                "--log-interval", "2", "--save", ckpt.toString(), "--metrics", metrics.toString(), "--tensorboard",
                board.toString(), "--plot", plot.toString());
        assertEquals(0, train.code(), train.err());
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(2 * (2 + 1), lines.size(), "4 steps per epoch at batch 64, a line every 2, and an epoch line: " + lines);
        assertEquals("epoch", JsonParser.parseString(lines.get(5)).getAsJsonObject().get("type").getAsString());
        List<Path> events;
        try (Stream<Path> s = Files.list(board)) {
            events = s.toList();
        }
        assertEquals(1, events.size(), events.toString());
        assertTrue(train.out().contains("TensorBoard events: " + events.get(0) + "\n"), train.out());
        assertTrue(events.get(0).getFileName().toString().startsWith("events.out.tfevents."));
        assertTrue(Files.size(events.get(0)) > 200);
        assertNotBlank(decode(plot), 10, 0.02);

        AppTest.Run resumed = AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--threads", "2", "--resume",
                ckpt.toString(), "--epochs", "3", "--log-interval", "2", "--metrics", metrics.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(3 * 3, Files.readAllLines(metrics).size(), "a resumed run adds its lines");

        Path confusion = dir.resolve("confusion.png"), errors = dir.resolve("errors.png");
        AppTest.Run eval = AppTest.run("eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--confusion", confusion.toString(), "--errors", errors.toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().endsWith("Saved confusion matrix " + confusion + "\nSaved misclassified images " + errors + "\n"),
                eval.out());
        assertNotBlank(decode(confusion), 10, 0.1);
        assertNotBlank(decode(errors), 2, 0.001);
    }

    @Test
    void unusableOutputPathsAreRefusedBeforeAnyWork() throws Exception {
        Path directory = Files.createDirectory(dir.resolve("a-directory"));
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        String[][] cases = {
                {"train", "--plot", directory.toString(), "--plot " + directory + ": cannot write: it is a directory, not a regular file"},
                {"train", "--metrics", directory.toString(), "--metrics " + directory + ": cannot write: it is a directory, not a regular file"},
                {"train", "--tensorboard", file.toString(), "--tensorboard " + file + ": cannot write: it is not a directory"},
                {"train", "--tensorboard", file.resolve("tb").toString(), "--tensorboard " + file.resolve("tb") + ": cannot write: not a directory"},
                {"eval", "--confusion", directory.toString(), "--confusion " + directory + ": cannot write: it is a directory, not a regular file"},
                {"eval", "--errors", file.resolve("e.png").toString(), "--errors " + file.resolve("e.png") + ": cannot write: not a directory"},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of(c[0], "--device", "cpu", c[1], c[2]));
            if (c[0].equals("eval")) {
                args.addAll(List.of("--checkpoint", dir.resolve("absent.safetensors").toString()));
            }
            AppTest.Run r = AppTest.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertEquals("", r.out(), "refused before any work");
            assertEquals("gpu-lenet: error: " + c[3] + "\n", r.err());
        }
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void hugeAndNonFiniteLossesAreLeftOutRatherThanHangingTheChart() {
        BufferedImage huge = Charts.trainingCurves("lenet5 on tiny (cpu)", new double[] {0.1, 0.2}, new double[] {2.3, 1.18e18},
                new double[] {1}, new double[] {3e18}, new double[] {0.1});
        assertEquals(Charts.CURVES_WIDTH, huge.getWidth());
        BufferedImage nonFinite = Charts.trainingCurves("lenet5 on tiny (cpu)", new double[] {0.1, 0.2, 0.3},
                new double[] {2.3, Double.NaN, Double.POSITIVE_INFINITY}, new double[] {1}, new double[] {Double.NaN},
                new double[] {0.1});
        assertEquals(Charts.CURVES_WIDTH, nonFinite.getWidth());
        assertTrue(Drawable.of(new double[] {1, 2}, new double[] {1e12, 1.0000001e12}).left() == 1);
        BufferedImage bars = Charts.benchBars("bench", List.of(new BenchReport.Row("lenet5", "cpu", "CPU", 64, 1,
                Double.POSITIVE_INFINITY, 0, 0.5, 2e18)));
        assertEquals(Charts.CURVES_WIDTH, bars.getWidth());
    }
}
