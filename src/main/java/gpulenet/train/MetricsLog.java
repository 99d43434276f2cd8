package gpulenet.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import gpulenet.io.AppendFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * train --metrics: one JSON object per line (JSON Lines) for every log line ({@code "type":"step"}) and every
 * epoch ({@code "type":"epoch"}), written and flushed as the run goes, so a run that crashes or is killed
 * keeps every line it logged. Each object has type, epoch, step (global), loss, lr, images_per_second,
 * device and seconds (since the log was opened); an epoch's adds test_loss, test_accuracy (a fraction),
 * test_correct, test_count, train_seconds and eval_seconds. An epoch's loss is its mean training loss and its
 * images_per_second is over its training time, as the "Epoch N:" line prints them.
 */
public final class MetricsLog implements TrainingListener, AutoCloseable {
    public static final String STEP = "step";
    public static final String EPOCH = "epoch";
    private static final Gson GSON = new GsonBuilder().serializeNulls().create();
    private final Path path;
    private final String device;
    private final OutputStream out;
    private final long start = System.nanoTime();

    private MetricsLog(Path path, String device, OutputStream out) {
        this.path = path;
        this.device = device;
        this.out = out;
    }

    /**
     * Opens {@code path} (a symlink is followed), replacing what it held, or adding to its end when
     * {@code append} (a resumed run continuing its log). The file is locked until {@link #close}: a second run
     * given the same file is refused (see {@link AppendFile}).
     *
     * @param device the backend's name, recorded in every line
     */
    public static MetricsLog open(Path path, String device, boolean append) {
        try {
            return new MetricsLog(path, device, Channels.newOutputStream(AppendFile.open(path, append)));
        } catch (IOException e) {
            throw failure(path, e);
        }
    }

    @Override
    public void logLine(LogLine line) {
        write(common(STEP, line.epoch(), line.step(), line.loss(), line.lr(), line.imagesPerSecond()));
    }

    @Override
    public void epochEnd(EpochSummary s, long step) {
        JsonObject o = common(EPOCH, s.epoch(), step, s.trainLoss(), s.lr(), s.imagesPerSecond());
        o.addProperty("test_loss", finiteOrNull(s.test().meanLoss()));
        o.addProperty("test_accuracy", s.test().accuracy());
        o.addProperty("test_correct", s.test().correct());
        o.addProperty("test_count", s.test().count());
        o.addProperty("train_seconds", s.trainSeconds());
        o.addProperty("eval_seconds", s.test().seconds());
        write(o);
    }

    private JsonObject common(String type, int epoch, long step, Number loss, float lr, double imagesPerSecond) {
        JsonObject o = new JsonObject();
        o.addProperty("type", type);
        o.addProperty("epoch", epoch);
        o.addProperty("step", step);
        o.addProperty("loss", finiteOrNull(loss));
        o.addProperty("lr", lr);
        o.addProperty("images_per_second", finiteOrNull(imagesPerSecond));
        o.addProperty("device", device);
        o.addProperty("seconds", (System.nanoTime() - start) / 1e9);
        return o;
    }

    /** JSON has no NaN or infinity (a rate over zero seconds, a test loss that overflowed): null instead. */
    private static Number finiteOrNull(Number v) {
        return Double.isFinite(v.doubleValue()) ? v : null;
    }

    private void write(JsonObject o) {
        try {
            out.write((GSON.toJson(o) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw failure(path, e);
        }
    }

    private static InputException failure(Path path, IOException e) {
        return new InputException(path + ": cannot write metrics: " + IoReasons.reason(e), e);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw failure(path, e);
        }
    }
}
