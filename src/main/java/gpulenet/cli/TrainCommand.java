package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.data.DataSets;
import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Presets;
import gpulenet.train.MetricsLog;
import gpulenet.train.ShortNumber;
import gpulenet.train.TensorBoardWriter;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code train}: trains a network (a tutorial's preset or a pasted PyTorch printout) with a test-set
 * evaluation after every epoch. Flags not given take the model's defaults; with --resume, the checkpoint's.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a network on MNIST (or --data). The defaults (LeNet-5, momentum SGD) reach >= 99%% test accuracy.",
                "Flags not given take the model's defaults (see the models command); with --resume, the checkpoint's."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Train up to this epoch (a resumed run continues from its checkpoint). Default: the model's (lenet5: "
                    + TrainConfig.DEFAULT_EPOCHS + ").")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "B", description = "Default: the model's (lenet5: " + TrainConfig.DEFAULT_BATCH_SIZE + ").")
    Integer batchSize;

    @Option(names = "--optimizer", paramLabel = "sgd|adam", description = "Default: the model's (lenet5: sgd).")
    String optimizer;

    @Option(names = "--lr", converter = TypedFloat.Converter.class, paramLabel = "LR", description = "Learning rate of epoch 1. Default: the model's (lenet5: " + TrainConfig.DEFAULT_LR + ").")
    TypedFloat lr;

    @Option(names = "--lr-decay", converter = TypedFloat.Converter.class, paramLabel = "GAMMA",
            description = "The learning rate is multiplied by this after every epoch. Default: the model's (lenet5: "
                    + TrainConfig.DEFAULT_LR_DECAY + ", the tutorials' networks: 1).")
    TypedFloat lrDecay;

    @Option(names = "--momentum", converter = TypedFloat.Converter.class, paramLabel = "M", description = "SGD momentum (0 for plain SGD). Default: the model's (lenet5: " + TrainConfig.DEFAULT_MOMENTUM + ").")
    TypedFloat momentum;

    @Option(names = "--weight-decay", converter = TypedFloat.Converter.class, paramLabel = "WD", description = "L2 weight decay. Default: " + TrainConfig.DEFAULT_WEIGHT_DECAY + ".")
    TypedFloat weightDecay;

    @Option(names = "--seed", paramLabel = "S", description = "Seeds the init and the shuffles. Default: " + TrainConfig.DEFAULT_SEED + ".")
    Long seed;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    DeviceOptions deviceOptions;

    @Mixin
    GraphOption graph;

    @Option(names = "--log-interval", paramLabel = "STEPS", defaultValue = "" + TrainConfig.DEFAULT_LOG_INTERVAL,
            description = "Steps between 'Train Epoch' lines; each line's Loss is the mean over the steps since the previous line. "
                    + "Default: ${DEFAULT-VALUE}.")
    int logInterval;

    @Option(names = "--save", paramLabel = "FILE",
            description = "Write a checkpoint here after every epoch (safetensors, or PyTorch's format for a .pth/.pt name, "
                    + "which torch.load reads as a state_dict), atomically. A symlink is followed: its target is replaced, not the link.")
    Path save;

    @Option(names = "--resume", paramLabel = "FILE", description = "Continue the run saved in this checkpoint.")
    Path resume;

    @Option(names = "--init", paramLabel = "FILE",
            description = "Start a new run (epoch 1, a new optimizer) from the weights in this checkpoint: one written by "
                    + "train, or a state_dict saved from PyTorch (.pth/.pt or safetensors).")
    Path init;

    /** The preset whose training set-up is the default: the one --init's network is, when no flag names one. */
    private Presets.Preset initPreset;

    @Option(names = "--metrics", paramLabel = "FILE",
            description = "Write one JSON object per log line and per epoch here (JSON Lines), flushed as the run goes. "
                    + "With --resume, added to the end of the file.")
    Path metrics;

    @Option(names = "--tensorboard", paramLabel = "DIR",
            description = "Write a TensorBoard event file into this directory: train/loss per log line; test/loss, "
                    + "test/accuracy, lr and images_per_second per epoch.")
    Path tensorboard;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "Draw the training loss and the test loss and accuracy into this PNG after every epoch.")
    Path plot;

    @Option(names = "--dry-run", description = "A few steps of one epoch and a short eval, to check that everything runs.")
    boolean dryRun;

    /** Which lr applies when --optimizer brought its own default (see defaults()), or null. */
    private String lrNote;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        new FileFlags(spec).reads("--resume", resume).reads("--init", init).reads("--model-file", modelOptions.file)
                .readsDataSet("--data", deviceOptions.dataDir())
                .updates("--save", save, "--resume", "--init").appends("--metrics", metrics).writes("--plot", plot)
                .writesInto("--tensorboard", tensorboard).check();
        if (init != null && resume != null) {
            throw new InputException("--init starts a new run from a checkpoint's weights and --resume continues its run: give one");
        }
        Checkpoint checkpoint = resume != null ? Checkpoint.read(resume) : null;
        CheckpointModel initial = init != null
                ? CheckpointModel.read(init, modelOptions, "training cannot start from it", spec.commandLine().getErr()) : null;
        Model model;
        if (checkpoint != null) {
            checkpoint.notes().forEach(spec.commandLine().getErr()::println);
            Trainer.requireResumable(checkpoint, resume);
            if (modelOptions.given()) {
                throw new InputException("--resume continues the checkpoint's network and input transform: "
                        + "--model, --model-file, --normalize and --resize cannot change them");
            }
            model = checkpoint.model(Presets.get(Presets.DEFAULT).model());
        } else if (initial != null) {
            model = initial.model();
            initPreset = modelOptions.namesNetwork() ? null
                    : Presets.ALL.stream().filter(p -> p.name().equals(initial.model().name())).findFirst().orElse(null);
        } else {
            model = modelOptions.resolve(null);
        }
        List<String> overrides = new ArrayList<>();
        TrainConfig config = config(checkpoint, overrides);
        DataSets data = model.transform().applyTo(deviceOptions.loadData());
        if (checkpoint != null) {
            dataSetOverride(checkpoint, data).ifPresent(overrides::add);
        }
        try (Backend backend = deviceOptions.openBackend(out).backend()) {
            out.printf("Data: %s, %d training and %d test images%n", data.name(), data.train().count(), data.test().count());
            out.printf(Locale.ROOT, "Model: %s, %,d parameters; input %s; %s lr %s%n", model.name(), model.parameterCount(),
                    model.transform().describe(), config.optimizer(), ShortNumber.of(config.lr()));
            if (lrNote != null) {
                out.println(lrNote);
            }
            out.flush();
            Trainer trainer = new Trainer(backend, data, model, config, out, System.console() != null);
            trainer.useGraphs(graph.graphs());
            if (checkpoint != null) {
                trainer.resumeFrom(checkpoint, resume);
                out.println("Resuming " + resume + " after epoch " + checkpoint.require(Checkpoint.EPOCH, resume));
                overrides.forEach(out::println);
            }
            if (initial != null) {
                initial.saved().applyTo(trainer.parameters(), null);
                out.println("Starting from the weights in " + init + " (epoch 1, a new optimizer)");
            }
            try (MetricsLog log = metrics == null ? null : MetricsLog.open(metrics, backend.name(), checkpoint != null);
                 TensorBoardWriter board = tensorboard == null ? null : TensorBoardWriter.open(tensorboard)) {
                if (log != null) {
                    trainer.addListener(log);
                }
                if (board != null) {
                    trainer.addListener(board);
                    out.println("TensorBoard events: " + board.file());
                }
                if (plot != null) {
                    Charts.TrainingPlot picture = new Charts.TrainingPlot(plot, model.name() + " on " + data.name() + " ("
                            + backend.name() + ")", spec.commandLine().getErr());
                    if (checkpoint != null) {
                        picture.resumedAfter((int) checkpoint.requireLong(Checkpoint.EPOCH, resume), metrics)
                                .ifPresent(out::println);
                    }
                    trainer.addListener(picture);
                }
                out.flush();
                trainer.run();
            }
        }
        return 0;
    }

    /**
     * Flags given on the command line win; then the checkpoint's values when resuming; then the defaults.
     * A flag that changes a resumed run's value adds a line saying so to {@code overrides}.
     */
    private TrainConfig config(Checkpoint checkpoint, List<String> overrides) {
        TrainConfig d = defaults();
        String chosenOptimizer = optimizer != null ? optimizer
                : checkpoint != null ? checkpoint.optimizer().orElse(d.optimizer()) : d.optimizer();
        return new TrainConfig(
                epochs != null ? epochs : d.epochs(),
                (int) choose(checkpoint, "--batch-size", Checkpoint.BATCH_SIZE, batchSize == null ? null : batchSize.doubleValue(),
                        String.valueOf(batchSize), String.valueOf(batchSize), d.batchSize(), overrides),
                chosenOptimizer,
                (float) choose(checkpoint, "--lr", Checkpoint.LR, lr, d.lr(), overrides),
                (float) choose(checkpoint, "--momentum", Checkpoint.MOMENTUM, momentum, d.momentum(), overrides),
                (float) choose(checkpoint, "--weight-decay", Checkpoint.WEIGHT_DECAY, weightDecay, d.weightDecay(), overrides),
                (float) choose(checkpoint, "--lr-decay", Checkpoint.LR_DECAY, lrDecay, d.lrDecay(), overrides),
                seed != null ? seed : (checkpoint == null ? d.seed() : checkpoint.requireLong(Checkpoint.SEED, resume)),
                logInterval, dryRun, save);
    }

    /**
     * The chosen preset's set-up (with --init, the preset its network is); a --model-file network takes lenet5's.
     * An --optimizer the set-up does not use brings its own default lr (see {@link Presets#defaultLr}), which
     * {@link #lrNote} then states.
     */
    private TrainConfig defaults() {
        TrainConfig d = TrainConfig.defaults();
        Optional<Presets.Preset> preset = initPreset != null ? Optional.of(initPreset) : modelOptions.presetChosen();
        Presets.Defaults p = preset.map(Presets.Preset::defaults)
                .orElse(new Presets.Defaults(d.optimizer(), d.lr(), d.momentum(), d.lrDecay(), d.batchSize(), d.epochs()));
        float defaultLr = p.lr();
        if (optimizer != null && !optimizer.equals(p.optimizer()) && resume == null && lr == null) {
            defaultLr = Presets.defaultLr(optimizer);
            lrNote = "--optimizer " + optimizer + " starts at its own default lr " + ShortNumber.of(defaultLr) + " (the "
                    + p.optimizer() + " lr " + ShortNumber.of(p.lr()) + " of this network's set-up is not for it); "
                    + "--lr sets another";
        }
        return new TrainConfig(p.epochs(), p.batchSize(), p.optimizer(), defaultLr, p.momentum(), d.weightDecay(),
                p.lrDecay(), d.seed(), d.logInterval(), false, null);
    }

    private double choose(Checkpoint checkpoint, String flag, String key, TypedFloat given, double fallback,
                          List<String> overrides) {
        return given == null ? choose(checkpoint, flag, key, null, null, null, fallback, overrides)
                : choose(checkpoint, flag, key, (double) given.value(), given.text(), given.shown(), fallback, overrides);
    }

    /**
     * The value of one hyper-parameter: the flag's (checked against what was typed), else the checkpoint's
     * (checked as the checkpoint's fault), else the default.
     */
    private double choose(Checkpoint checkpoint, String flag, String key, Double given, String typed, String shown,
                          double fallback, List<String> overrides) {
        if (given != null) {
            TrainConfig.require(flag, given, shown);
        }
        if (checkpoint == null) {
            return given != null ? given : fallback;
        }
        double saved = checkpoint.requireFloat(key, resume);
        String rule = TrainConfig.rule(flag, saved);
        if (rule != null) {
            throw new InputException(resume + ": checkpoint metadata " + key + " " + checkpoint.require(key, resume)
                    + " is invalid (it " + rule + ")");
        }
        if (given == null) {
            return saved;
        }
        if (given != saved) {
            overrides.add(flag + " " + typed + " overrides the checkpoint's " + ShortNumber.of(saved) + " from epoch "
                    + (checkpoint.requireLong(Checkpoint.EPOCH, resume) + 1) + " on");
        }
        return given;
    }

    /**
     * A resumed run continues on the checkpoint's data set unless --data names another one explicitly
     * (then one line says so): the default data set standing in for another would go unnoticed.
     */
    private Optional<String> dataSetOverride(Checkpoint checkpoint, DataSets data) {
        String saved = checkpoint.metadata().get(Checkpoint.DATASET);
        if (saved == null || saved.equals(data.name())) {
            return Optional.empty();
        }
        if (deviceOptions.dataDir() == null) {
            throw new InputException(resume + ": trained on " + saved + ", not on " + data.name()
                    + " (the default data set); give --data to continue it on another data set");
        }
        return Optional.of("--data " + data.name() + " overrides the checkpoint's data set " + saved + " from epoch "
                + (checkpoint.requireLong(Checkpoint.EPOCH, resume) + 1) + " on");
    }
}
