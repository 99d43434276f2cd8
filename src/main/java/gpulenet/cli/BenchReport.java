package gpulenet.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of {@code bench}: one row per (device, batch size) run, the devices that could not run and
 * why, the job and the machine; printed as a table and written as JSON with the same rows.
 */
final class BenchReport {

    /**
     * One timed training job.
     *
     * @param epochSeconds training time of one epoch (the mean when there are several), without eval or upload
     */
    record Row(String device, String description, int batch, int epochs, double imagesPerSecond, double epochSeconds,
               double testAccuracy) {
    }

    private final JsonObject job;
    private final MachineFacts machine;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, String> missing = new LinkedHashMap<>();
    private JsonObject gpu;

    BenchReport(JsonObject job, MachineFacts machine) {
        this.job = job;
        this.machine = machine;
    }

    void add(Row row) {
        rows.add(row);
    }

    /** Records that {@code device} has no rows, and why. */
    void missing(String device, String reason) {
        missing.put(device, reason);
    }

    /** "device: reason" for each device without rows, joined by "; ". */
    String missingReasons() {
        return String.join("; ", missing.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList());
    }

    void gpu(JsonObject facts) {
        gpu = facts;
    }

    List<Row> rows() {
        return rows;
    }

    /** Images/s of {@code row} over the CPU's at the same batch size, or null without a CPU row. */
    Double speedUp(Row row) {
        for (Row r : rows) {
            if (r.device().equals("cpu") && r.batch() == row.batch()) {
                return row.imagesPerSecond() / r.imagesPerSecond();
            }
        }
        return null;
    }

    void printTable(PrintWriter out) {
        String format = "%-6s %6s %7s %12s %10s %9s %9s%n";
        out.printf(Locale.ROOT, format, "device", "batch", "epochs", "images/s", "epoch s", "speed-up", "test acc");
        for (Row r : rows) {
            Double s = speedUp(r);
            out.printf(Locale.ROOT, format, r.device(), r.batch(), r.epochs(), String.format(Locale.ROOT, "%,.0f", r.imagesPerSecond()),
                    String.format(Locale.ROOT, "%.3f", r.epochSeconds()), s == null ? "-" : String.format(Locale.ROOT, "%.2fx", s),
                    String.format(Locale.ROOT, "%.2f%%", 100 * r.testAccuracy()));
        }
        for (Map.Entry<String, String> m : missing.entrySet()) {
            out.println("No " + m.getKey() + " row: " + m.getValue());
        }
    }

    String toJson() {
        JsonObject root = new JsonObject();
        root.add("job", job);
        JsonObject m = new JsonObject();
        m.addProperty("cpu_model", machine.cpuModel());
        m.addProperty("cores", machine.cores());
        m.addProperty("java_version", machine.javaVersion());
        m.addProperty("java_vm", machine.javaVm());
        m.addProperty("os", machine.os());
        root.add("machine", m);
        JsonObject g = gpu != null ? gpu : new JsonObject();
        g.addProperty("usable", gpu != null);
        if (gpu == null && missing.containsKey(BenchCommand.CUDA)) {
            g.addProperty("reason", missing.get(BenchCommand.CUDA));
        }
        root.add("gpu", g);
        JsonArray rowArray = new JsonArray();
        for (Row r : rows) {
            JsonObject o = new JsonObject();
            o.addProperty("device", r.device());
            o.addProperty("description", r.description());
            o.addProperty("batch_size", r.batch());
            o.addProperty("epochs", r.epochs());
            o.addProperty("images_per_second", r.imagesPerSecond());
            o.addProperty("epoch_train_seconds", r.epochSeconds());
            o.addProperty("speed_up_over_cpu", speedUp(r));
            o.addProperty("test_accuracy", r.testAccuracy());
            rowArray.add(o);
        }
        root.add("rows", rowArray);
        JsonArray missingArray = new JsonArray();
        for (Map.Entry<String, String> e : missing.entrySet()) {
            JsonObject o = new JsonObject();
            o.addProperty("device", e.getKey());
            o.addProperty("reason", e.getValue());
            missingArray.add(o);
        }
        root.add("missing", missingArray);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(root) + "\n";
    }
}
