package gpulenet.train;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import gpulenet.backend.Backend;
import gpulenet.backend.StepScalars;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Optimizers;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a network with its optimizer: per epoch a shuffle that depends only on (seed, epoch), batches
 * gathered on the backend from the data set uploaded once, the loss kept on the backend except at log
 * lines, then a test-set evaluation and optionally a checkpoint.
 */
public final class Trainer {
    private static final String FROM_EPOCH = "from_epoch";
    /** A loss this many times its starting level is diverged (see {@link #requireNotDiverged}). */
    static final int DIVERGED_FACTOR = 1000;
    private static final float UNIFORM_GUESS_LOSS = (float) Math.log(Model.CLASSES);
    /** The metadata keys of the values a resumed run may change, recorded in {@link Checkpoint#HISTORY}. */
    private static final List<String> HYPER_PARAMETERS = List.of(Checkpoint.SEED, Checkpoint.LR, Checkpoint.MOMENTUM,
            Checkpoint.WEIGHT_DECAY, Checkpoint.BATCH_SIZE, Checkpoint.LR_DECAY, Checkpoint.DATASET);
    private final Backend backend;
    private final DataSets data;
    private final TrainConfig config;
    private final PrintWriter out;
    private final boolean progressBar;
    private final Model model;
    private final Parameters params;
    private final Network network;
    private final Optimizer optimizer;
    private final TrainingStep trainingStep;
    private final StepScalars scalars;
    private boolean graphs = true;
    /** Made by the first {@link #run}, with the {@link #useGraphs} setting. */
    private StepRunner stepRunner;
    private Evaluator evaluator;
    private final DeviceDataset train;
    private final DeviceDataset test;
    private final List<Float> loggedLosses = new ArrayList<>();
    private final List<TrainingListener> listeners = new ArrayList<>();
    /** The hyper-parameters that applied from which epoch on, as {@link Checkpoint#HISTORY} records them. */
    private final List<Map<String, String>> history = new ArrayList<>();
    private int nextEpoch = 1;
    /** The level the loss is judged diverged against: see {@link #requireNotDiverged}; NaN before the first log line. */
    private float startingLoss = Float.NaN;
    private long step;

    /**
     * @param progressBar draw a progress bar on System.out instead of "Train Epoch" lines (when it is a terminal)
     */
    public Trainer(Backend backend, DataSets data, TrainConfig config, PrintWriter out, boolean progressBar) {
        this(backend, data, Presets.get(Presets.DEFAULT).model(), config, out, progressBar);
    }

    /**
     * @param data already transformed as the model says (resized when it resizes): its images are the
     *             network's input size
     */
    public Trainer(Backend backend, DataSets data, Model model, TrainConfig config, PrintWriter out, boolean progressBar) {
        requireInputFits(model, data.train());
        requireInputFits(model, data.test());
        this.backend = backend;
        this.data = data;
        this.model = model;
        this.config = batchCappedToTheTrainingSet(config, data.train().count(), out);
        this.out = out;
        MemoryEstimate.requireFits(backend, data, model, this.config);
        this.progressBar = progressBar;
        this.params = new Parameters(backend, model.parameterShapes());
        this.network = Network.forTraining(backend, model, params, data.train().rows(), data.train().cols(),
                this.config.batchSize());
        this.optimizer = Optimizers.create(this.config.optimizer(), params, this.config.momentum(), this.config.weightDecay());
        this.trainingStep = new TrainingStep(network, optimizer);
        this.train = new DeviceDataset(backend, data.train());
        this.test = new DeviceDataset(backend, data.test());
        this.scalars = new StepScalars(backend, stepsPerEpoch(data.train().count(), this.config.batchSize()));
        params.initialize(this.config.seed());
        history.add(hyperParameters(1));
    }

    private static int stepsPerEpoch(int samples, int batch) {
        return (samples + batch - 1) / batch;
    }

    /**
     * Whether to capture each batch size's step (and eval pass) once and replay it as a CUDA graph (the
     * default) or queue every kernel of every step (--no-graph); no effect on the CPU. Call before {@link #run}.
     */
    public void useGraphs(boolean graphs) {
        if (stepRunner != null) {
            throw new IllegalStateException("useGraphs must come before run");
        }
        this.graphs = graphs;
    }

    /** How the training steps ran so far: as CUDA graph replays or kernel by kernel, and why. */
    public String describeSteps() {
        return stepRunner == null ? "no step run yet" : stepRunner.describe();
    }

    /** Checks that the network takes this data set's images, in one line naming both when it does not. */
    public static void requireInputFits(Model model, Dataset split) {
        try {
            model.outputShapes(split.rows(), split.cols());
        } catch (InputException e) {
            throw new InputException(split.name() + " has " + split.rows() + "x" + split.cols() + " images, and the "
                    + model.name() + " network does not take them: " + e.getMessage());
        }
    }

    /** A batch larger than the training set would only allocate rows that no step fills. */
    private static TrainConfig batchCappedToTheTrainingSet(TrainConfig config, int trainCount, PrintWriter out) {
        if (config.batchSize() <= trainCount) {
            return config;
        }
        out.printf(Locale.ROOT, "--batch-size %d is more than the %d training images: using %d%n", config.batchSize(),
                trainCount, trainCount);
        return config.withBatchSize(trainCount);
    }

    /** Continues the run saved in {@code checkpoint}: its parameters, optimizer state, epoch and step count. */
    public void resumeFrom(Checkpoint checkpoint, Path source) {
        requireResumable(checkpoint, source);
        String saved = checkpoint.optimizer().orElseThrow();
        if (!saved.equals(optimizer.name())) {
            throw new InputException(source + ": written by " + saved + ", so it cannot continue with --optimizer "
                    + optimizer.name() + " (its state would start over)");
        }
        checkpoint.applyTo(params, optimizer);
        nextEpoch = (int) checkpoint.requireLong(Checkpoint.EPOCH, source) + 1;
        step = checkpoint.requireLong(Checkpoint.STEP, source);
        history.clear();
        history.addAll(savedHistory(checkpoint, source));
        Map<String, String> now = hyperParameters(nextEpoch);
        Map<String, String> last = new LinkedHashMap<>(history.get(history.size() - 1));
        last.put(FROM_EPOCH, now.get(FROM_EPOCH));
        if (!last.equals(now)) {
            history.add(now);
        }
    }

    /** The checkpoint's history; for one written before histories were kept, its plain values from epoch 1. */
    private static List<Map<String, String>> savedHistory(Checkpoint checkpoint, Path source) {
        String json = checkpoint.metadata().get(Checkpoint.HISTORY);
        if (json == null) {
            Map<String, String> entry = new LinkedHashMap<>();
            entry.put(FROM_EPOCH, "1");
            for (String key : HYPER_PARAMETERS) {
                entry.put(key, checkpoint.metadata().getOrDefault(key, "?"));
            }
            return List.of(entry);
        }
        try {
            List<Map<String, String>> saved = new Gson().fromJson(json, new TypeToken<List<Map<String, String>>>() { }.getType());
            if (saved == null || saved.isEmpty()) {
                throw new JsonParseException("empty");
            }
            return saved;
        } catch (JsonParseException e) {
            throw new InputException(source + ": checkpoint metadata " + Checkpoint.HISTORY + " is not a JSON list of objects");
        }
    }

    /** This run's values of {@link #HYPER_PARAMETERS}, as applying from {@code fromEpoch} on. */
    private Map<String, String> hyperParameters(int fromEpoch) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(FROM_EPOCH, Integer.toString(fromEpoch));
        m.put(Checkpoint.SEED, Long.toString(config.seed()));
        m.put(Checkpoint.LR, Float.toString(config.lr()));
        m.put(Checkpoint.MOMENTUM, Float.toString(config.momentum()));
        m.put(Checkpoint.WEIGHT_DECAY, Float.toString(config.weightDecay()));
        m.put(Checkpoint.BATCH_SIZE, Integer.toString(config.batchSize()));
        m.put(Checkpoint.LR_DECAY, Float.toString(config.lrDecay()));
        m.put(Checkpoint.DATASET, data.name());
        return m;
    }

    /**
     * Checks that a run can continue from {@code checkpoint} (optimizer state, a whole epoch, sane epoch
     * and step), so that a command can refuse it before it prints or allocates anything.
     */
    public static void requireResumable(Checkpoint checkpoint, Path source) {
        if (!checkpoint.hasOptimizerState()) {
            throw new InputException(source + ": checkpoint has no optimizer state (optimizer.*), so it cannot be resumed; "
                    + "train --init " + source + " starts a new run from its weights");
        }
        if (checkpoint.isDryRun()) {
            throw new InputException(source + ": written by --dry-run (a few steps, not a whole epoch), so it cannot be resumed");
        }
        checkpoint.nonFinite().ifPresent(problem -> {
            throw new InputException(source + ": " + problem + ", so it cannot be resumed");
        });
        long epoch = checkpoint.requireLong(Checkpoint.EPOCH, source);
        long savedStep = checkpoint.requireLong(Checkpoint.STEP, source);
        if (epoch < 0 || savedStep < 0 || epoch > Integer.MAX_VALUE) {
            throw new InputException(source + ": checkpoint metadata epoch " + epoch + " / step " + savedStep + " is invalid");
        }
    }

    public Parameters parameters() {
        return params;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** The loss printed at each log line, in order (the mean over the steps since the previous one). */
    public List<Float> loggedLosses() {
        return loggedLosses;
    }

    /** Adds a listener, called at every log line and epoch end from now on, in the order added. */
    public void addListener(TrainingListener listener) {
        listeners.add(listener);
    }

    /** Trains from the next epoch up to {@code config.epochs()} (one epoch when dry-running). */
    public List<EpochSummary> run() {
        if (stepRunner == null) {
            int stride = config.batchSize();
            long seed = config.seed();
            // each step reads its batch and its scalars from the backend, so a GPU can replay it as a graph
            stepRunner = new StepRunner(backend, b -> trainingStep.run(train, stride, b, seed, scalars), graphs, out);
            evaluator = new Evaluator(network, test, graphs, out);
        }
        List<EpochSummary> summaries = new ArrayList<>();
        int last = config.dryRun() ? nextEpoch : config.epochs();
        if (nextEpoch > last) {
            out.printf(Locale.ROOT, "Nothing to train: the checkpoint is at epoch %d and --epochs is %d%n", nextEpoch - 1, last);
        }
        for (; nextEpoch <= last; nextEpoch++) {
            summaries.add(epoch(nextEpoch));
        }
        return summaries;
    }

    private EpochSummary epoch(int epoch) {
        int n = train.count();
        int batch = config.batchSize();
        int steps = stepsPerEpoch(n, batch);
        if (config.dryRun()) {
            steps = Math.min(steps, TrainConfig.DRY_RUN_STEPS);
        }
        float lr = config.learningRate(epoch);
        train.setOrder(Shuffle.permutation(config.seed(), epoch, n));
        float[] schedule = new float[steps * StepScalars.COLUMNS];
        for (int s = 0; s < steps; s++) {
            optimizer.scheduleRow(lr, step + s, schedule, s * StepScalars.COLUMNS);
        }
        scalars.startEpoch(step, schedule);
        network.resetStats();
        double lossSum = 0;
        int trained = 0;
        int sinceLog = 0;
        long t0 = System.nanoTime();
        try (ProgressBar bar = progressBar ? bar(epoch, steps) : null) {
            for (int s = 0; s < steps; s++) {
                int b = Math.min(batch, n - s * batch);
                stepRunner.run(b);
                step++;
                trained += b;
                sinceLog += b;
                if (bar != null) {
                    bar.stepTo(s + 1);
                }
                if ((s + 1) % config.logInterval() == 0 || s == steps - 1) {
                    float[] stats = network.readStats();
                    network.resetStats();
                    requireNotDiverged(stats[0], sinceLog, epoch, s + 1);
                    lossSum += stats[0];
                    float loss = stats[0] / sinceLog;
                    sinceLog = 0;
                    loggedLosses.add(loss);
                    if (bar != null) {
                        bar.setExtraMessage(String.format(Locale.ROOT, "Loss: %.6f", loss));
                    } else {
                        out.printf(Locale.ROOT, "Train Epoch: %d [%d/%d (%.0f%%)]\tLoss: %.6f%n",
                                epoch, trained, n, 100.0 * trained / n, loss);
                    }
                    if (!listeners.isEmpty()) {
                        TrainingListener.LogLine line = new TrainingListener.LogLine(epoch, step, trained, n, loss, lr,
                                (System.nanoTime() - t0) / 1e9);
                        listeners.forEach(l -> l.logLine(line));
                    }
                }
            }
            backend.synchronize();
        }
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        int evalCount = config.dryRun() ? Math.min(TrainConfig.DRY_RUN_EVAL_SAMPLES, test.count()) : test.count();
        Evaluation eval = evaluator.run(evalCount, false, null);
        EpochSummary summary = new EpochSummary(epoch, lr, trained, lossSum / trained, trainSeconds, eval);
        out.printf(Locale.ROOT, "Test set: Average loss: %.4f, Accuracy: %d/%d (%.2f%%)%n",
                eval.meanLoss(), eval.correct(), eval.count(), 100 * eval.accuracy());
        out.printf(Locale.ROOT, "Epoch %d: train %.2f s, %.0f images/s, lr %s, train loss %.4f; eval %.2f s%n",
                epoch, trainSeconds, summary.imagesPerSecond(), ShortNumber.of(lr), summary.trainLoss(), eval.seconds());
        if (config.save() != null) {
            Checkpoint.capture(model, params, optimizer, metadata(epoch)).write(config.save());
            out.println("Saved checkpoint " + config.save());
        }
        listeners.forEach(l -> l.epochEnd(summary, step));
        return summary;
    }

    /**
     * Stops a diverged run at the first log line that shows it, before a checkpoint of its weights can
     * replace a good one. The loss sum is read there anyway, so this costs no extra device read. Diverged: the
     * mean loss of the line is NaN, infinite, or more than {@value #DIVERGED_FACTOR} times the run's starting
     * level: ln 10 (the loss of a uniform guess over the ten classes) at the first log line, then the larger of
     * that and the first line's loss (a resumed run may start lower, a pasted network higher). Weights that give
     * such a loss have blown up, and its values only make every later number and picture meaningless.
     */
    private void requireNotDiverged(float lossSum, int images, int epoch, int stepInEpoch) {
        float loss = lossSum / images;
        float level = Float.isNaN(startingLoss) ? UNIFORM_GUESS_LOSS : startingLoss;
        String what = Float.isNaN(lossSum) ? "NaN" : Float.isInfinite(lossSum) ? "infinite"
                : loss > DIVERGED_FACTOR * level ? String.format(Locale.ROOT, "%.3g, over %d times its starting level %.3g",
                        loss, DIVERGED_FACTOR, level) : null;
        if (what != null) {
            throw new InputException(String.format(Locale.ROOT,
                    "training diverged at epoch %d, step %d: the loss is %s; try a lower --lr (was %s)", epoch,
                    stepInEpoch, what, ShortNumber.of(config.lr())));
        }
        if (Float.isNaN(startingLoss)) {
            startingLoss = Math.max(loss, UNIFORM_GUESS_LOSS);
        }
    }

    private ProgressBar bar(int epoch, int steps) {
        out.flush();
        return new ProgressBarBuilder().setTaskName("Epoch " + epoch).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.out)).build();
    }

    private Map<String, String> metadata(int epoch) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(Checkpoint.EPOCH, Integer.toString(epoch));
        m.put(Checkpoint.STEP, Long.toString(step));
        m.putAll(hyperParameters(epoch));
        m.remove(FROM_EPOCH);
        m.put(Checkpoint.SCHEDULE, config.schedule());
        m.put(Checkpoint.HISTORY, new Gson().toJson(history));
        if (config.dryRun()) {
            m.put(Checkpoint.DRY_RUN, "true");
        }
        return m;
    }
}
