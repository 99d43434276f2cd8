package gpulenet.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gpulenet.backend.Backend;
import gpulenet.data.Dataset;
import gpulenet.data.DigitImage;
import gpulenet.io.FileNames;
import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.train.DeviceDataset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code predict}: the digit in each image file, with the network and input transform of a checkpoint (as
 * eval resolves them). Each image is prepared as MNIST's were (see {@link DigitImage}), all of them go through
 * the network in batches, and the probabilities are a softmax, in double on the host, of the downloaded
 * logits. A file that cannot be used is one line on stderr and the others go on; the exit code is then 2.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify images of handwritten digits (PNG, JPEG, BMP or GIF, any size and colour) with a checkpoint.",
                "Each image is made into a 28x28 MNIST-like digit: grayscale, inverted when dark on light, cropped to the ink, "
                        + "scaled to fit 20x20 and centred by its centre of mass. A directory is read in sorted order "
                        + "(its files with those extensions, not recursively)."})
public final class PredictCommand implements Callable<Integer> {
    /** Images per forward pass. */
    static final int BATCH = 256;
    /** --show's shades, darkest to brightest. */
    static final String SHADES = " .:-=+*#%@";

    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true,
            description = "A checkpoint written by train --save, or a state_dict saved from PyTorch (torch.save .pth/.pt, or safetensors).")
    Path checkpoint;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    BackendOptions deviceOptions;

    @Option(names = "--show", description = "Also print the network's input as text art, so you see what it saw.")
    boolean show;

    @Option(names = "--json", description = "One JSON object per file: file, prediction, probability, top3 [{class, p}] (and input with --show).")
    boolean json;

    @CommandLine.Parameters(paramLabel = "FILE|DIR", arity = "1..*", description = "Image files, or directories of them.")
    List<Path> inputs;

    /** One image to classify: its name as printed, and the prepared digit. */
    private record Item(String name, DigitImage.Prepared digit) {
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        CheckpointModel loaded = CheckpointModel.read(checkpoint, modelOptions, "it cannot predict anything", err);
        Model model = loaded.model();
        int size = loaded.inputSize();

        boolean failed = false;
        List<Item> items = new ArrayList<>();
        for (Path input : inputs) {
            try {
                for (Path file : expand(input)) {
                    try {
                        items.add(new Item(FileNames.display(file), DigitImage.read(file)));
                    } catch (InputException e) {
                        failed |= report(err, e.getMessage());
                    }
                }
            } catch (InputException e) {
                failed |= report(err, e.getMessage());
            }
        }
        if (items.isEmpty()) {
            return App.EXIT_USAGE;
        }

        int n = items.size();
        byte[] pixels = new byte[n * DigitImage.SIZE * DigitImage.SIZE];
        for (int i = 0; i < n; i++) {
            byte[] p = items.get(i).digit().pixels();
            System.arraycopy(p, 0, pixels, i * p.length, p.length);
        }
        Dataset images = model.transform().applyTo(
                new Dataset("predict", pixels, new byte[n], n, DigitImage.SIZE, DigitImage.SIZE));
        float[] logits = new float[n * Model.CLASSES];
        PrintWriter deviceLine = json ? new PrintWriter(Writer.nullWriter()) : out;
        try (Backend backend = deviceOptions.openBackend(deviceLine).backend()) {
            Network network = Network.forInference(backend, model, loaded.weightsOn(backend), images.rows(), images.cols(),
                    Math.min(n, BATCH));
            // with --json, stdout holds JSON alone
            ReplacedNetwork.note(loaded, modelOptions).ifPresent(json ? err::println : out::println);
            DeviceDataset device = new DeviceDataset(backend, images);
            for (int start = 0; start < n; start += BATCH) {
                int b = Math.min(BATCH, n - start);
                network.gather(device.images(), device.labels(), device.order(), start, b);
                network.forward(b, false);
                float[] batch = new float[b * Model.CLASSES];
                backend.download(network.logits(b), batch);
                System.arraycopy(batch, 0, logits, start * Model.CLASSES, batch.length);
            }
        }

        // file names and --show's shades ("=") as they are, not as HTML-safe escapes
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();
        for (int i = 0; i < n; i++) {
            double[] p = softmax(logits, i * Model.CLASSES);
            int[] top = top3(p);
            List<String> art = show ? art(images.images(), i, images.rows(), images.cols()) : List.of();
            if (json) {
                JsonObject o = new JsonObject();
                o.addProperty("file", items.get(i).name());
                o.addProperty("prediction", top[0]);
                o.addProperty("probability", p[top[0]]);
                JsonArray t = new JsonArray();
                for (int c : top) {
                    JsonObject e = new JsonObject();
                    e.addProperty("class", c);
                    e.addProperty("p", p[c]);
                    t.add(e);
                }
                o.add("top3", t);
                if (show) {
                    JsonArray rows = new JsonArray();
                    art.forEach(rows::add);
                    o.add("input", rows);
                }
                out.println(gson.toJson(o));
            } else {
                out.printf(Locale.ROOT, "%s: %d (p=%.3f)  top3: %d %.3f, %d %.3f, %d %.3f%n", items.get(i).name(), top[0],
                        p[top[0]], top[0], p[top[0]], top[1], p[top[1]], top[2], p[top[2]]);
                art.forEach(out::println);
            }
        }
        out.flush();
        return failed ? App.EXIT_USAGE : 0;
    }

    private static boolean report(PrintWriter err, String message) {
        err.println(App.PREFIX + message);
        err.flush();
        return true;
    }

    /**
     * The files an argument names: itself, or for a directory its entries with an image extension (in any
     * case) that are not directories, sorted by name. A directory that cannot be listed or holds no image is
     * an {@link InputException}.
     */
    static List<Path> expand(Path input) {
        Optional<BasicFileAttributes> a = InputFiles.attributes(input, input.toString());
        if (a.isEmpty() || !a.get().isDirectory()) {
            return List.of(input);
        }
        List<Path> files;
        try (Stream<Path> entries = Files.list(input)) {
            files = entries.filter(p -> DigitImage.hasImageExtension(p) && !Files.isDirectory(p))
                    .sorted((x, y) -> x.getFileName().toString().compareTo(y.getFileName().toString()))
                    .toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            IOException io = e instanceof IOException i ? i : ((java.io.UncheckedIOException) e).getCause();
            throw new InputException(input + ": cannot list the directory: " + IoReasons.reason(io));
        }
        if (files.isEmpty()) {
            throw new InputException(input + ": a directory without image files (" + String.join(", ", DigitImage.EXTENSIONS) + ")");
        }
        return files;
    }

    /** Softmax of the ten logits at {@code offset}, in double. */
    static double[] softmax(float[] logits, int offset) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < Model.CLASSES; k++) {
            max = Math.max(max, logits[offset + k]);
        }
        double[] p = new double[Model.CLASSES];
        double sum = 0;
        for (int k = 0; k < Model.CLASSES; k++) {
            p[k] = Math.exp(logits[offset + k] - max);
            sum += p[k];
        }
        for (int k = 0; k < Model.CLASSES; k++) {
            p[k] /= sum;
        }
        return p;
    }

    /** The three most probable classes, most probable first; a tie goes to the lower class, as argmax does. */
    static int[] top3(double[] p) {
        int[] top = new int[3];
        boolean[] taken = new boolean[p.length];
        for (int r = 0; r < top.length; r++) {
            int best = -1;
            for (int k = 0; k < p.length; k++) {
                if (!taken[k] && (best < 0 || p[k] > p[best])) {
                    best = k;
                }
            }
            taken[best] = true;
            top[r] = best;
        }
        return top;
    }

    /** Image {@code i} of {@code images} as rows of {@link #SHADES}, one character a pixel. */
    static List<String> art(byte[] images, int i, int rows, int cols) {
        List<String> lines = new ArrayList<>(rows);
        for (int y = 0; y < rows; y++) {
            StringBuilder sb = new StringBuilder(cols);
            for (int x = 0; x < cols; x++) {
                int v = images[i * rows * cols + y * cols + x] & 0xff;
                sb.append(SHADES.charAt(v * SHADES.length() / 256));
            }
            lines.add(sb.toString());
        }
        return lines;
    }
}
