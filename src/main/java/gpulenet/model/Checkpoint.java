package gpulenet.model;

import gpulenet.InputException;
import gpulenet.IoReasons;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A training checkpoint as a safetensors file: the weights under their PyTorch names (so
 * {@code model.load_state_dict(safetensors.torch.load_file(path), strict=False)} works, or strict after
 * dropping the optimizer keys), the momentum buffers as {@code optimizer.momentum.<name>}, and
 * {@code __metadata__} with the run's state and hyper-parameters.
 *
 * <p>Reading validates every tensor (presence, dtype, shape) before anything is returned, so a bad file
 * never reaches a model half-loaded.
 *
 * @param values   flat parameter values in {@link Parameters#SPECS} order
 * @param momentum flat momentum buffers in the same order, or null when the file has no optimizer state
 *                 (for example weights exported from PyTorch); such a file can be evaluated, not resumed
 * @param metadata string metadata; see the key constants
 */
public record Checkpoint(float[] values, float[] momentum, Map<String, String> metadata) {
    public static final String MOMENTUM_PREFIX = "optimizer.momentum.";
    public static final String FORMAT = "format";
    public static final String FORMAT_NAME = "gpu-lenet-checkpoint";
    public static final String FORMAT_VERSION = "format_version";
    public static final String VERSION = "1";
    public static final String EPOCH = "epoch";
    public static final String STEP = "step";
    public static final String SEED = "seed";
    public static final String LR = "lr";
    public static final String MOMENTUM = "momentum";
    public static final String WEIGHT_DECAY = "weight_decay";
    public static final String BATCH_SIZE = "batch_size";
    public static final String SCHEDULE = "schedule";
    public static final String LR_DECAY = "lr_decay";
    public static final String DATASET = "dataset";
    /**
     * A JSON list of the hyper-parameters that applied, each from an epoch on:
     * [{"from_epoch":"1","batch_size":"64","lr":"0.05",...}, {"from_epoch":"3","lr":"0.01",...}]. The plain keys
     * hold the values of the last entry, the ones in force.
     */
    public static final String HISTORY = "history";
    /** "true" when written by a dry run: a few steps of an epoch, not the whole epoch it names. */
    public static final String DRY_RUN = "dry_run";

    public Checkpoint {
        if (values.length != Parameters.TOTAL || (momentum != null && momentum.length != Parameters.TOTAL)) {
            throw new IllegalArgumentException("checkpoint arrays must hold " + Parameters.TOTAL + " values");
        }
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The parameters' current values and momentum, with {@code metadata} plus the format keys. */
    public static Checkpoint capture(Parameters params, Map<String, String> metadata) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT, FORMAT_NAME);
        meta.put(FORMAT_VERSION, VERSION);
        meta.putAll(metadata);
        return new Checkpoint(params.downloadValues(), params.downloadMomentum(), meta);
    }

    /**
     * Writes atomically (temporary file, then rename): a crash leaves the old file or the new one. Refuses
     * NaN or infinite values, so a diverged run never replaces a good checkpoint.
     */
    public void write(Path path) {
        nonFinite().ifPresent(problem -> {
            throw new InputException(path + ": not writing a checkpoint whose " + problem
                    + " (training diverged; try a lower --lr)");
        });
        Safetensors.Writer w = new Safetensors.Writer();
        for (Parameters.Spec s : Parameters.SPECS) {
            w.add(s.name(), s.shape(), Parameters.slice(values, s.name()));
        }
        if (momentum != null) {
            for (Parameters.Spec s : Parameters.SPECS) {
                w.add(MOMENTUM_PREFIX + s.name(), s.shape(), Parameters.slice(momentum, s.name()));
            }
        }
        metadata.forEach(w::metadata);
        try {
            w.writeAtomically(path);
        } catch (IOException e) {
            throw new InputException(path + ": cannot write checkpoint: " + IoReasons.reason(e), e);
        }
    }

    /**
     * Reads and validates a checkpoint. Every problem (missing, truncated or corrupt file, missing tensor,
     * wrong dtype or shape, a newer format) is an {@link InputException} naming the file.
     */
    public static Checkpoint read(Path path) {
        Safetensors st = Safetensors.read(path);
        String format = st.metadata().get(FORMAT_VERSION);
        if (format != null && !format.equals(VERSION)) {
            throw new InputException(path + ": checkpoint format version " + format + " is not supported (this build reads "
                    + VERSION + ")");
        }
        float[] values = new float[Parameters.TOTAL];
        for (Parameters.Spec s : Parameters.SPECS) {
            copy(st, s.name(), s, values);
        }
        float[] momentum = null;
        if (Parameters.SPECS.stream().anyMatch(s -> st.has(MOMENTUM_PREFIX + s.name()))) {
            momentum = new float[Parameters.TOTAL];
            for (Parameters.Spec s : Parameters.SPECS) {
                copy(st, MOMENTUM_PREFIX + s.name(), s, momentum);
            }
        }
        return new Checkpoint(values, momentum, st.metadata());
    }

    private static void copy(Safetensors st, String name, Parameters.Spec spec, float[] flat) {
        if (!st.has(name)) {
            throw new InputException(st.source() + ": not a LeNet-5 checkpoint: missing tensor " + name);
        }
        int[] shape = st.shape(name);
        if (!Arrays.equals(shape, spec.shape())) {
            throw new InputException(st.source() + ": tensor " + name + " has shape " + Arrays.toString(shape)
                    + ", LeNet-5 needs " + Arrays.toString(spec.shape()));
        }
        float[] v = st.floats(name, spec.shape());
        System.arraycopy(v, 0, flat, spec.offset(), v.length);
    }

    /**
     * Which tensor holds NaN or infinite values and how many ("fc1.weight holds 120 non-finite values"),
     * the weights first, then the momentum; empty when every value is finite.
     */
    public Optional<String> nonFinite() {
        Optional<String> inValues = nonFiniteWeights();
        return inValues.isPresent() || momentum == null ? inValues : nonFinite(momentum, MOMENTUM_PREFIX);
    }

    /** As {@link #nonFinite()}, for the weights alone (what evaluation uses). */
    public Optional<String> nonFiniteWeights() {
        return nonFinite(values, "");
    }

    private static Optional<String> nonFinite(float[] flat, String prefix) {
        for (Parameters.Spec s : Parameters.SPECS) {
            int count = 0;
            for (int i = s.offset(); i < s.offset() + s.size(); i++) {
                if (!Float.isFinite(flat[i])) {
                    count++;
                }
            }
            if (count > 0) {
                return Optional.of(prefix + s.name() + " holds " + count + " non-finite value" + (count == 1 ? "" : "s")
                        + " (NaN or infinite)");
            }
        }
        return Optional.empty();
    }

    public boolean hasOptimizerState() {
        return momentum != null;
    }

    /** Whether a dry run wrote it: a few steps, not the whole epoch its metadata names. */
    public boolean isDryRun() {
        return "true".equals(metadata.get(DRY_RUN));
    }

    /** Loads the values (and momentum, zero when absent) into {@code params}. */
    public void applyTo(Parameters params) {
        params.upload(values, momentum != null ? momentum : new float[Parameters.TOTAL]);
    }

    /** A metadata value that must be present; {@code source} names the file in the error. */
    public String require(String key, Object source) {
        String v = metadata.get(key);
        if (v == null) {
            throw new InputException(source + ": checkpoint metadata has no " + key);
        }
        return v;
    }

    public long requireLong(String key, Object source) {
        String v = require(key, source);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new InputException(source + ": checkpoint metadata " + key + " is not an integer: " + v);
        }
    }

    public float requireFloat(String key, Object source) {
        String v = require(key, source);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new InputException(source + ": checkpoint metadata " + key + " is not a number: " + v);
        }
    }
}
