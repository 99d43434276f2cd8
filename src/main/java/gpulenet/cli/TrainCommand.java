package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.data.DataSets;
import gpulenet.model.Checkpoint;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code train}: momentum-SGD training with a test-set evaluation after every epoch. With --resume, the
 * hyper-parameters come from the checkpoint unless given on the command line.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train LeNet-5 with momentum SGD. The defaults reach >= 99%% test accuracy on MNIST.",
                "With --resume, hyper-parameters not given here are the checkpoint's."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Train up to this epoch (a resumed run continues from its checkpoint). Default: " + TrainConfig.DEFAULT_EPOCHS + ".")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "B", description = "Default: " + TrainConfig.DEFAULT_BATCH_SIZE + ".")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "Learning rate of epoch 1. Default: " + TrainConfig.DEFAULT_LR + ".")
    Float lr;

    @Option(names = "--lr-decay", paramLabel = "GAMMA",
            description = "The learning rate is multiplied by this after every epoch. Default: " + TrainConfig.DEFAULT_LR_DECAY + ".")
    Float lrDecay;

    @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum. Default: " + TrainConfig.DEFAULT_MOMENTUM + ".")
    Float momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "L2 weight decay. Default: " + TrainConfig.DEFAULT_WEIGHT_DECAY + ".")
    Float weightDecay;

    @Option(names = "--seed", paramLabel = "S", description = "Seeds the init and the shuffles. Default: " + TrainConfig.DEFAULT_SEED + ".")
    Long seed;

    @Mixin
    DeviceOptions deviceOptions;

    @Option(names = "--log-interval", paramLabel = "STEPS", defaultValue = "" + TrainConfig.DEFAULT_LOG_INTERVAL,
            description = "Steps between 'Train Epoch' lines. Default: ${DEFAULT-VALUE}.")
    int logInterval;

    @Option(names = "--save", paramLabel = "FILE",
            description = "Write a checkpoint (safetensors) here after every epoch, atomically. A symlink is followed: "
                    + "its target is replaced, not the link.")
    Path save;

    @Option(names = "--resume", paramLabel = "FILE", description = "Continue the run saved in this checkpoint.")
    Path resume;

    @Option(names = "--dry-run", description = "A few steps of one epoch and a short eval, to check that everything runs.")
    boolean dryRun;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        OutputFile.requireWritable("--save", save);
        Checkpoint checkpoint = resume != null ? Checkpoint.read(resume) : null;
        if (checkpoint != null) {
            Trainer.requireResumable(checkpoint, resume);
        }
        TrainConfig config = config(checkpoint);
        DataSets data = deviceOptions.loadData();
        try (Backend backend = deviceOptions.openBackend(out).backend()) {
            out.printf("Data: %s, %d training and %d test images%n", data.name(), data.train().count(), data.test().count());
            out.flush();
            Trainer trainer = new Trainer(backend, data, config, out, System.console() != null);
            if (checkpoint != null) {
                trainer.resumeFrom(checkpoint, resume);
                out.println("Resuming " + resume + " after epoch " + checkpoint.require(Checkpoint.EPOCH, resume));
            }
            trainer.run();
        }
        return 0;
    }

    /** Flags given on the command line win; then the checkpoint's values when resuming; then the defaults. */
    private TrainConfig config(Checkpoint checkpoint) {
        TrainConfig d = TrainConfig.defaults();
        return new TrainConfig(
                epochs != null ? epochs : d.epochs(),
                batchSize != null ? batchSize : (int) savedLong(checkpoint, Checkpoint.BATCH_SIZE, d.batchSize()),
                lr != null ? lr : savedFloat(checkpoint, Checkpoint.LR, d.lr()),
                momentum != null ? momentum : savedFloat(checkpoint, Checkpoint.MOMENTUM, d.momentum()),
                weightDecay != null ? weightDecay : savedFloat(checkpoint, Checkpoint.WEIGHT_DECAY, d.weightDecay()),
                lrDecay != null ? lrDecay : savedFloat(checkpoint, Checkpoint.LR_DECAY, d.lrDecay()),
                seed != null ? seed : savedLong(checkpoint, Checkpoint.SEED, d.seed()),
                logInterval, dryRun, save);
    }

    private long savedLong(Checkpoint checkpoint, String key, long fallback) {
        return checkpoint == null ? fallback : checkpoint.requireLong(key, resume);
    }

    private float savedFloat(Checkpoint checkpoint, String key, float fallback) {
        return checkpoint == null ? fallback : checkpoint.requireFloat(key, resume);
    }
}
