package gpulenet.format;

import gpulenet.backend.Tensor;
import gpulenet.format.pth.PthFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Parameters;
import gpulenet.model.layer.Shapes;
import gpulenet.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A training checkpoint as a safetensors file: the weights under their PyTorch names (so
 * {@code model.load_state_dict(...)} takes them once the {@code optimizer.} keys are dropped), the optimizer
 * state as {@code optimizer.<state>.<name>} (momentum; exp_avg, exp_avg_sq), and {@code __metadata__} with the
 * network (layers, input transform), the run's state and hyper-parameters.
 *
 * <p>A file read here is checked against the network it is loaded into before anything is copied, so a bad
 * file never reaches a model half-loaded. A weights-only file (for example one PyTorch saved) can be
 * evaluated, not resumed.
 */
public final class Checkpoint {
    public static final String OPTIMIZER_PREFIX = "optimizer.";
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
    /** "sgd" or "adam"; a checkpoint without it was written by momentum SGD. */
    public static final String OPTIMIZER = "optimizer";
    /** The preset's name or the --model-file the network came from. */
    public static final String MODEL = "model";
    /** The layer list as JSON (see ModelCodec); a checkpoint without it holds LeNet-5. */
    public static final String LAYERS = "layers";
    /** MEAN,STD or none, as --normalize takes it. */
    public static final String NORMALIZE = "normalize";
    /** The square size images were resized to, or 0. */
    public static final String RESIZE = "resize";
    /**
     * A JSON list of the hyper-parameters that applied, each from an epoch on:
     * [{"from_epoch":"1","batch_size":"64","lr":"0.05",...}, {"from_epoch":"3","lr":"0.01",...}]. The plain keys
     * hold the values of the last entry, the ones in force.
     */
    public static final String HISTORY = "history";
    /** "true" when written by a dry run: a few steps of an epoch, not the whole epoch it names. */
    public static final String DRY_RUN = "dry_run";

    /** One stored tensor. */
    public record Stored(int[] shape, float[] data) {
    }

    private final String source;
    private final Map<String, Stored> tensors;
    private final Map<String, String> metadata;
    private final List<String> notes;

    private Checkpoint(String source, Map<String, Stored> tensors, Map<String, String> metadata, List<String> notes) {
        this.source = source;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        this.notes = List.copyOf(notes);
    }

    /**
     * A checkpoint read from another format ({@code source} names the file); {@code notes} are the lines
     * a command prints about how it was read (which key held the state_dict, which tensors were converted).
     */
    public static Checkpoint of(String source, Map<String, Stored> tensors, Map<String, String> metadata, List<String> notes) {
        return new Checkpoint(source, new LinkedHashMap<>(tensors), metadata, notes);
    }

    /** The parameters' values, the optimizer's state (when given), the model's description and {@code metadata}. */
    public static Checkpoint capture(Model model, Parameters params, Optimizer optimizer, Map<String, String> metadata) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT, FORMAT_NAME);
        meta.put(FORMAT_VERSION, VERSION);
        meta.put(MODEL, model.name());
        meta.put(LAYERS, ModelCodec.layersToJson(model.layers()));
        meta.put(NORMALIZE, model.transform().normalizeText());
        meta.put(RESIZE, Integer.toString(model.transform().resize()));
        if (optimizer != null) {
            meta.put(OPTIMIZER, optimizer.name());
        }
        meta.putAll(metadata);
        Map<String, Stored> tensors = new LinkedHashMap<>();
        float[] values = params.downloadValues();
        for (Parameters.Spec s : params.specs()) {
            tensors.put(s.name(), new Stored(s.shape(), params.slice(values, s.name())));
        }
        if (optimizer != null) {
            for (Map.Entry<String, Tensor> state : optimizer.state().entrySet()) {
                float[] flat = params.download(state.getValue());
                for (Parameters.Spec s : params.specs()) {
                    tensors.put(stateKey(state.getKey(), s.name()), new Stored(s.shape(), params.slice(flat, s.name())));
                }
            }
        }
        return new Checkpoint("checkpoint", tensors, meta, List.of());
    }

    private static String stateKey(String state, String parameter) {
        return OPTIMIZER_PREFIX + state + "." + parameter;
    }

    /**
     * Writes atomically (temporary file, then rename): a crash leaves the old file or the new one. Refuses
     * NaN or infinite values, so a diverged run never replaces a good checkpoint. A .pth or .pt name gets
     * PyTorch's format ({@link PthFile}), any other safetensors.
     */
    public void write(Path path) {
        nonFinite().ifPresent(problem -> {
            throw new InputException(path + ": not writing a checkpoint whose " + problem
                    + " (training diverged; try a lower --lr)");
        });
        try {
            if (PthFile.hasPthName(path)) {
                PthFile.write(this, path);
            } else {
                Safetensors.Writer w = new Safetensors.Writer();
                tensors.forEach((name, t) -> w.add(name, t.shape(), t.data()));
                metadata.forEach(w::metadata);
                w.writeAtomically(path);
            }
        } catch (IOException e) {
            throw new InputException(path + ": cannot write checkpoint: " + IoReasons.reason(e), e);
        }
    }

    /**
     * Reads a checkpoint: every problem with the file itself (missing, truncated or corrupt, a tensor that is
     * not F32, a newer format) is an {@link InputException} naming it. Whether its tensors fit a network is
     * checked when they are loaded ({@link #applyTo}). A PyTorch file (.pth/.pt, or a file that starts as one)
     * is read by {@link PthFile}.
     */
    public static Checkpoint read(Path path) {
        if (PthFile.isPth(path)) {
            return PthFile.read(path);
        }
        Safetensors st = Safetensors.read(path);
        String format = st.metadata().get(FORMAT_VERSION);
        if (format != null && !format.equals(VERSION)) {
            throw new InputException(path + ": checkpoint format version " + format + " is not supported (this build reads "
                    + VERSION + ")");
        }
        Map<String, Stored> tensors = new LinkedHashMap<>();
        for (String name : st.names()) {
            int[] shape = st.shape(name);
            tensors.put(name, new Stored(shape, st.floats(name, shape)));
        }
        return new Checkpoint(path.toString(), tensors, st.metadata(), List.of());
    }

    /**
     * The network this checkpoint holds, from its metadata; {@code fallback} for a file that does not say
     * (weights exported from PyTorch; checkpoints written before networks were recorded hold LeNet-5).
     */
    public Model model(Model fallback) {
        String layers = metadata.get(LAYERS);
        if (layers == null) {
            return fallback;
        }
        int resize = (int) requireLong(RESIZE, source);
        if (resize < 0) {
            throw new InputException(source + ": checkpoint metadata " + RESIZE + " " + resize + " is invalid");
        }
        InputTransform transform = InputTransform.withNormalize(resize, require(NORMALIZE, source),
                source + ": checkpoint metadata " + NORMALIZE);
        return new Model(metadata.getOrDefault(MODEL, "checkpoint"), ModelCodec.layersFromJson(layers, source), transform);
    }

    /** Whether the network is recorded in the metadata (else {@link #model} falls back). */
    public boolean describesModel() {
        return metadata.containsKey(LAYERS);
    }

    /** The optimizer that wrote the state: the metadata's, else SGD's momentum when present. */
    public Optional<String> optimizer() {
        String name = metadata.get(OPTIMIZER);
        if (name != null) {
            return Optional.of(name);
        }
        return tensors.keySet().stream().anyMatch(k -> k.startsWith(OPTIMIZER_PREFIX + "momentum."))
                ? Optional.of("sgd") : Optional.empty();
    }

    public boolean hasOptimizerState() {
        return tensors.keySet().stream().anyMatch(k -> k.startsWith(OPTIMIZER_PREFIX));
    }

    /**
     * Checks every tensor against {@code params} (and {@code optimizer}'s state when given) and only then
     * loads them: a tensor the network lacks, one it has that is missing, or a wrong shape is one line naming
     * the first such tensor and both shapes.
     */
    public void applyTo(Parameters params, Optimizer optimizer) {
        float[] values = flat(params, "");
        Map<String, float[]> states = new LinkedHashMap<>();
        if (optimizer != null) {
            for (String state : optimizer.state().keySet()) {
                states.put(state, flat(params, OPTIMIZER_PREFIX + state + "."));
            }
        }
        for (String name : tensors.keySet()) {
            String parameter = parameterName(name, optimizer);
            if (parameter != null && !params.specs().stream().anyMatch(s -> s.name().equals(parameter))) {
                throw new InputException(source + ": holds tensor " + name + " " + Shapes.text(tensors.get(name).shape())
                        + ", which the network does not have (it has " + names(params) + ")");
            }
        }
        params.upload(values);
        if (optimizer != null) {
            states.forEach((state, flat) -> params.backend().upload(optimizer.state().get(state), flat));
        }
    }

    /** The parameter a tensor holds, or null for another optimizer's state, which loading ignores. */
    private static String parameterName(String name, Optimizer optimizer) {
        if (!name.startsWith(OPTIMIZER_PREFIX)) {
            return name;
        }
        if (optimizer == null) {
            return null;
        }
        for (String state : optimizer.state().keySet()) {
            String prefix = OPTIMIZER_PREFIX + state + ".";
            if (name.startsWith(prefix)) {
                return name.substring(prefix.length());
            }
        }
        return null;
    }

    private float[] flat(Parameters params, String prefix) {
        float[] out = new float[params.total()];
        for (Parameters.Spec s : params.specs()) {
            Stored t = tensors.get(prefix + s.name());
            if (t == null) {
                throw new InputException(source + ": does not fit the network: no tensor " + prefix + s.name() + " "
                        + Shapes.text(s.shape()) + (prefix.isEmpty() ? " (the file holds " + weightNames() + ")" : ""));
            }
            if (!Arrays.equals(t.shape(), s.shape())) {
                throw new InputException(source + ": does not fit the network: tensor " + prefix + s.name() + " is "
                        + Shapes.text(t.shape()) + " in the file, the network needs " + Shapes.text(s.shape()));
            }
            System.arraycopy(t.data(), 0, out, s.offset(), s.size());
        }
        return out;
    }

    private static String names(Parameters params) {
        return abbreviate(params.specs().stream().map(Parameters.Spec::name).toList());
    }

    private String weightNames() {
        return abbreviate(tensors.keySet().stream().filter(k -> !k.startsWith(OPTIMIZER_PREFIX)).toList());
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 6 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 6)) + ", ... (" + names.size() + " tensors)";
    }

    /**
     * Which tensor holds NaN or infinite values and how many ("fc1.weight holds 120 non-finite values"),
     * the weights first, then the optimizer state; empty when every value is finite.
     */
    public Optional<String> nonFinite() {
        Optional<String> inWeights = nonFiniteWeights();
        return inWeights.isPresent() ? inWeights : nonFinite(true);
    }

    /** As {@link #nonFinite()}, for the weights alone (what evaluation uses). */
    public Optional<String> nonFiniteWeights() {
        return nonFinite(false);
    }

    private Optional<String> nonFinite(boolean optimizerState) {
        for (Map.Entry<String, Stored> e : tensors.entrySet()) {
            if (e.getKey().startsWith(OPTIMIZER_PREFIX) != optimizerState) {
                continue;
            }
            int count = 0;
            for (float v : e.getValue().data()) {
                if (!Float.isFinite(v)) {
                    count++;
                }
            }
            if (count > 0) {
                return Optional.of(e.getKey() + " holds " + count + " non-finite value" + (count == 1 ? "" : "s")
                        + " (NaN or infinite)");
            }
        }
        return Optional.empty();
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The stored tensors by name, in file order. */
    public Map<String, Stored> tensors() {
        return tensors;
    }

    /** What a command says about how the file was read (one line each; none for a safetensors file). */
    public List<String> notes() {
        return notes;
    }

    /** Names of the stored tensors, in file order. */
    public List<String> tensorNames() {
        return List.copyOf(tensors.keySet());
    }

    /** Whether a dry run wrote it: a few steps, not the whole epoch its metadata names. */
    public boolean isDryRun() {
        return "true".equals(metadata.get(DRY_RUN));
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
