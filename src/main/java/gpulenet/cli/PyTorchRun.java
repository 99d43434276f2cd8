package gpulenet.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.optim.Sgd;
import gpulenet.train.TrainConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One run of PyTorch's reference script (src/main/python/torch_reference.py: same network, loss, optimizer
 * and input transform) on the job {@code bench} has just timed, so that both figures come from the same
 * machine at the same moment. The job is given in full on its command line (model, optimizer, lr, momentum,
 * lr decay, normalisation, resize), not left to the script's defaults. The script prints one JSON line per
 * epoch with its training seconds and images/s; anything else it prints is passed over.
 */
final class PyTorchRun {

    /** Why a run gave no figure, in one line. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    /**
     * Images/s over all epochs: every epoch's images (images/s times seconds) over the epochs' seconds.
     *
     * @param version the torch version the script reports
     */
    record Result(double imagesPerSecond, String version) {
    }

    /** More output than this stops the script: its epoch lines are a few hundred bytes each. */
    static final long MAX_OUTPUT_BYTES = 16L << 20;
    private static final int MAX_LINE_CHARS = 4096;

    private PyTorchRun() {
    }

    /**
     * The command line: {@code command} (split at spaces, e.g. "python3 src/main/python/torch_reference.py")
     * followed by the script's flags for this job: the network by its preset name, the batch size, optimizer,
     * lr, momentum (SGD only), lr decay and seed of {@code config}, and the model's input transform. Threads
     * are passed on the CPU only.
     */
    static List<String> commandLine(String command, Path data, String device, int epochs, int threads, Model model,
                                    TrainConfig config) {
        List<String> line = new ArrayList<>(Arrays.asList(command.trim().split("\\s+")));
        InputTransform t = model.transform();
        line.addAll(List.of("--data", data.toString(), "--device", device, "--model", model.name(),
                "--optimizer", config.optimizer(), "--batch", Integer.toString(config.batchSize()),
                "--epochs", Integer.toString(epochs), "--lr", Float.toString(config.lr())));
        if (config.optimizer().equals(Sgd.NAME)) {
            line.addAll(List.of("--momentum", Float.toString(config.momentum())));
        }
        line.addAll(List.of("--lr-decay", Float.toString(config.lrDecay()), "--normalize", t.normalizeText(),
                "--resize", t.resize() == 0 ? "none" : Integer.toString(t.resize()), "--seed", Long.toString(config.seed())));
        if (device.equals(BenchCommand.CPU)) {
            line.addAll(List.of("--threads", Integer.toString(threads)));
        }
        return line;
    }

    /**
     * Runs {@code commandLine} to the end and reads its epoch lines. What is read is bounded: a script that prints
     * more than {@value #MAX_OUTPUT_BYTES} bytes (a few lines per epoch is what it prints) is stopped, and only its
     * epoch lines and its last line are kept, so no output can exhaust the heap and lose the results bench holds.
     */
    static Result run(List<String> commandLine) throws Failure {
        Process p;
        try {
            p = new ProcessBuilder(commandLine).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new Failure("cannot start " + commandLine.get(0) + ": " + e.getMessage());
        }
        String output;
        int code;
        try {
            p.getOutputStream().close();
            output = kept(p.getInputStream());
            code = p.waitFor();
        } catch (IOException e) {
            throw new Failure("cannot read its output: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted");
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // a wrapper's children (sh, DataLoader workers) too
            p.destroyForcibly();
        }
        if (code != 0) {
            throw new Failure("exit code " + code + ": " + lastLine(output));
        }
        return parse(output);
    }

    /** The epoch lines ("{...}") of {@code in} and its last line, each cut at {@value #MAX_LINE_CHARS} characters. */
    private static String kept(InputStream in) throws IOException, Failure {
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        StringBuilder kept = new StringBuilder();
        StringBuilder line = new StringBuilder();
        String last = ""; // the last line that is not an epoch line, for a failure's message
        long read = 0;
        for (int c = reader.read(); ; c = reader.read()) {
            if (++read > MAX_OUTPUT_BYTES) {
                throw new Failure("it printed more than " + (MAX_OUTPUT_BYTES >> 20) + " MiB, far more than its epoch "
                        + "lines: stopped it");
            }
            if (c >= 0 && c != '\n') {
                if (line.length() < MAX_LINE_CHARS) {
                    line.append((char) c);
                }
                continue;
            }
            String text = line.toString();
            if (text.startsWith("{")) {
                kept.append(text).append('\n');
            } else if (!text.isBlank()) {
                last = text;
            }
            line.setLength(0);
            if (c < 0) {
                return kept.append(last).toString();
            }
        }
    }

    /** The figure from the script's output: its JSON epoch lines. */
    static Result parse(String output) throws Failure {
        double seconds = 0, images = 0;
        String version = "?";
        for (String line : output.split("\n")) {
            if (!line.startsWith("{")) {
                continue;
            }
            try {
                JsonObject epoch = JsonParser.parseString(line).getAsJsonObject();
                double s = epoch.get("train_s").getAsDouble();
                double rate = epoch.get("images_per_s").getAsDouble();
                if (!(s > 0 && rate > 0 && Double.isFinite(s) && Double.isFinite(rate))) {
                    throw new Failure("an epoch line whose train_s or images_per_s is not a positive number: " + line);
                }
                seconds += s;
                images += rate * s;
                if (epoch.has("torch")) {
                    version = epoch.get("torch").getAsString();
                }
            } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
                throw new Failure("an epoch line without train_s and images_per_s: " + line);
            }
        }
        if (seconds <= 0) {
            throw new Failure("no epoch lines in its output: " + lastLine(output));
        }
        return new Result(images / seconds, version);
    }

    private static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        String last = lines[lines.length - 1].strip();
        return last.isEmpty() ? "(no output)" : last;
    }
}
