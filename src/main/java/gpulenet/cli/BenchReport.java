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
 * The results of {@code bench}: one row per (model, device, batch size) run, the devices that could not run
 * and why, the job (with each model's set-up) and the machine; printed as one table per model and written
 * as JSON with the same rows.
 */
final class BenchReport {

    /**
     * One timed training job.
     *
     * @param model        the preset's name
     * @param epochSeconds training time of one epoch (the mean when there are several), without eval or upload
     * @param pytorchImagesPerSecond PyTorch's figure on the same job right after, or null
     */
    record Row(String model, String device, String description, int batch, int epochs, double imagesPerSecond,
               double epochSeconds, double testAccuracy, Double pytorchImagesPerSecond) {
        Row withPyTorch(double imagesPerSecond) {
            return new Row(model, device, description, batch, epochs, this.imagesPerSecond, epochSeconds, testAccuracy,
                    imagesPerSecond);
        }

        /** gpu-lenet's images/s over PyTorch's, or null without a PyTorch figure. */
        Double ratioToPyTorch() {
            return pytorchImagesPerSecond == null ? null : imagesPerSecond / pytorchImagesPerSecond;
        }
    }

    private final JsonObject job;
    private final MachineFacts machine;
    private final List<Row> rows = new ArrayList<>();
    /** Each model timed, in order: its one-line set-up. */
    private final Map<String, String> models = new LinkedHashMap<>();
    private final JsonArray modelSetups = new JsonArray();
    private final Map<String, String> missing = new LinkedHashMap<>();
    /** Runs whose PyTorch figure is missing ("lenet5 on cpu at batch 64"), and why. */
    private final Map<String, String> pytorchFailures = new LinkedHashMap<>();
    private JsonObject gpu;

    BenchReport(JsonObject job, MachineFacts machine) {
        this.job = job;
        this.machine = machine;
    }

    /** Records that {@code name} is timed next: {@code line} heads its table, {@code setup} goes into the job. */
    void model(String name, String line, JsonObject setup) {
        if (models.put(name, line) == null) {
            modelSetups.add(setup);
        }
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

    /** Records that the PyTorch run after {@code model} on {@code device} at {@code batch} gave no figure, and why. */
    void pytorchFailed(String model, String device, int batch, String reason) {
        pytorchFailures.put(model + " on " + device + " at batch " + batch, reason);
    }

    void gpu(JsonObject facts) {
        gpu = facts;
    }

    List<Row> rows() {
        return rows;
    }

    /** Images/s of {@code row} over the CPU's for the same model and batch size, or null without a CPU row. */
    Double speedUp(Row row) {
        for (Row r : rows) {
            if (r.device().equals("cpu") && r.model().equals(row.model()) && r.batch() == row.batch()) {
                return row.imagesPerSecond() / r.imagesPerSecond();
            }
        }
        return null;
    }

    /** Per model, its set-up line and then its rows (the columns are the same for every model). */
    void printTable(PrintWriter out) {
        boolean pytorch = rows.stream().anyMatch(r -> r.pytorchImagesPerSecond() != null) || !pytorchFailures.isEmpty();
        String format = "%-10s %6s %7s %12s %10s %9s %9s" + (pytorch ? " %12s %11s%n" : "%n");
        boolean first = true;
        for (Map.Entry<String, String> model : models.entrySet()) {
            List<Row> modelRows = rows.stream().filter(r -> r.model().equals(model.getKey())).toList();
            if (modelRows.isEmpty()) {
                continue;
            }
            if (!first) {
                out.println();
            }
            first = false;
            out.println("Model " + model.getValue());
            out.printf(Locale.ROOT, format, "device", "batch", "epochs", "images/s", "epoch s", "speed-up", "test acc",
                    "PyTorch i/s", "vs PyTorch");
            for (Row r : modelRows) {
                Double s = speedUp(r);
                Double ratio = r.ratioToPyTorch();
                out.printf(Locale.ROOT, format, r.device(), r.batch(), r.epochs(), String.format(Locale.ROOT, "%,.0f", r.imagesPerSecond()),
                        String.format(Locale.ROOT, "%.3f", r.epochSeconds()), s == null ? "-" : String.format(Locale.ROOT, "%.2fx", s),
                        String.format(Locale.ROOT, "%.2f%%", 100 * r.testAccuracy()),
                        ratio == null ? "-" : String.format(Locale.ROOT, "%,.0f", r.pytorchImagesPerSecond()),
                        ratio == null ? "-" : String.format(Locale.ROOT, "%.2fx", ratio));
            }
            printCudnnRatios(out, modelRows);
        }
        for (Map.Entry<String, String> m : missing.entrySet()) {
            out.println("No " + m.getKey() + " row: " + m.getValue());
        }
        for (Map.Entry<String, String> f : pytorchFailures.entrySet()) {
            out.println("No PyTorch figure for " + f.getKey() + ": " + f.getValue());
        }
    }

    /** cuDNN's images/s over the kernels' at each batch size both ran. */
    private static void printCudnnRatios(PrintWriter out, List<Row> modelRows) {
        for (Row cudnn : modelRows) {
            if (!cudnn.device().equals(BenchCommand.CUDA_CUDNN)) {
                continue;
            }
            modelRows.stream().filter(k -> k.device().equals(BenchCommand.CUDA) && k.batch() == cudnn.batch()).findFirst()
                    .ifPresent(k -> out.printf(Locale.ROOT, "cuDNN vs kernels at batch %d: %.2fx the images/s%n",
                            cudnn.batch(), cudnn.imagesPerSecond() / k.imagesPerSecond()));
        }
    }

    String toJson() {
        JsonObject root = new JsonObject();
        JsonObject jobWithModels = job.deepCopy();
        jobWithModels.add("models", modelSetups.deepCopy());
        root.add("job", jobWithModels);
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
            o.addProperty("model", r.model());
            o.addProperty("device", r.device());
            o.addProperty("description", r.description());
            o.addProperty("batch_size", r.batch());
            o.addProperty("epochs", r.epochs());
            o.addProperty("images_per_second", finiteOrNull(r.imagesPerSecond()));
            o.addProperty("epoch_train_seconds", finiteOrNull(r.epochSeconds()));
            o.addProperty("speed_up_over_cpu", finiteOrNull(speedUp(r)));
            o.addProperty("test_accuracy", finiteOrNull(r.testAccuracy()));
            o.addProperty("pytorch_images_per_second", finiteOrNull(r.pytorchImagesPerSecond()));
            o.addProperty("ratio_to_pytorch", finiteOrNull(r.ratioToPyTorch()));
            rowArray.add(o);
        }
        root.add("rows", rowArray);
        root.add("missing", reasons(missing, "device"));
        root.add("pytorch_failures", reasons(pytorchFailures, "run"));
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(root) + "\n";
    }

    /** JSON has no NaN or infinity (a rate over zero seconds): null, as for a figure that is missing. */
    private static Double finiteOrNull(Double v) {
        return v == null || !Double.isFinite(v) ? null : v;
    }

    /** [{key: what, "reason": why}, ...] in insertion order. */
    private static JsonArray reasons(Map<String, String> why, String key) {
        JsonArray array = new JsonArray();
        for (Map.Entry<String, String> e : why.entrySet()) {
            JsonObject o = new JsonObject();
            o.addProperty(key, e.getKey());
            o.addProperty("reason", e.getValue());
            array.add(o);
        }
        return array;
    }
}
