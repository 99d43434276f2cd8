package gpulenet.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gpulenet.train.MetricsLog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The curves of the epochs a --metrics file (see {@link MetricsLog}) holds up to where a run was resumed, for
 * train --plot to redraw the whole run. The file is appended to by every resume, so it may hold epochs that a
 * run resumed from an earlier checkpoint did again: a line whose global step is before the previous one starts
 * such a redo, and the lines it redoes are dropped. A line that is not a metrics object is passed over.
 *
 * @param loss   [epochs done (fractional), mean training loss] of every log line
 * @param epochs [epoch, test loss, test accuracy] of every epoch
 */
record MetricsHistory(List<double[]> loss, List<double[]> epochs) {

    /** The curves of epochs 1 to {@code throughEpoch} in {@code file}; none when it cannot be read. */
    static MetricsHistory read(Path file, int throughEpoch) {
        List<JsonObject> lines = new ArrayList<>();
        try {
            for (String text : Files.readAllLines(file)) {
                JsonObject o = parse(text);
                if (o == null || number(o, "step") == null || number(o, "epoch") == null) {
                    continue;
                }
                long step = o.get("step").getAsLong();
                String type = text(o, "type");
                // an epoch's line has the step of its last log line; a redo's lines have earlier steps
                lines.removeIf(kept -> kept.get("step").getAsLong() > step
                        || kept.get("step").getAsLong() == step && type != null && type.equals(text(kept, "type")));
                lines.add(o);
            }
        } catch (IOException e) {
            return new MetricsHistory(List.of(), List.of());
        }
        // where each epoch ended, in global steps: a log line's place within its epoch comes from these
        TreeMap<Integer, Long> epochEnd = new TreeMap<>();
        epochEnd.put(0, 0L);
        List<double[]> epochs = new ArrayList<>();
        for (JsonObject o : lines) {
            int epoch = o.get("epoch").getAsInt();
            if (MetricsLog.EPOCH.equals(text(o, "type")) && epoch <= throughEpoch && number(o, "test_loss") != null) {
                epochEnd.put(epoch, o.get("step").getAsLong());
                epochs.add(new double[] {epoch, number(o, "test_loss"), number(o, "test_accuracy")});
            }
        }
        List<double[]> loss = new ArrayList<>();
        for (JsonObject o : lines) {
            int epoch = o.get("epoch").getAsInt();
            Long start = epochEnd.get(epoch - 1), end = epochEnd.get(epoch);
            if (MetricsLog.STEP.equals(text(o, "type")) && start != null && end != null && end > start
                    && number(o, "loss") != null) {
                loss.add(new double[] {epoch - 1 + (double) (o.get("step").getAsLong() - start) / (end - start),
                        number(o, "loss")});
            }
        }
        return new MetricsHistory(loss, epochs);
    }

    private static JsonObject parse(String text) {
        try {
            return JsonParser.parseString(text).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            return null;
        }
    }

    private static String text(JsonObject o, String key) {
        return o.get(key) != null && o.get(key).isJsonPrimitive() ? o.get(key).getAsString() : null;
    }

    private static Double number(JsonObject o, String key) {
        return o.get(key) != null && o.get(key).isJsonPrimitive() && o.get(key).getAsJsonPrimitive().isNumber()
                ? o.get(key).getAsDouble() : null;
    }
}
