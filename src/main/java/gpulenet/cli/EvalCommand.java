package gpulenet.cli;

import gpulenet.InputException;
import gpulenet.backend.Backend;
import gpulenet.data.Dataset;
import gpulenet.model.Checkpoint;
import gpulenet.model.LeNet5;
import gpulenet.model.Parameters;
import gpulenet.train.DeviceDataset;
import gpulenet.train.Evaluation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code eval}: test-set loss, accuracy, per-class accuracy and the confusion matrix of a checkpoint. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a checkpoint on the test set.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true, description = "A checkpoint written by train --save.")
    Path checkpoint;

    @Mixin
    DeviceOptions deviceOptions;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "1000", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (batchSize <= 0) {
            throw new InputException("--batch-size must be positive, got " + batchSize);
        }
        Checkpoint saved = Checkpoint.read(checkpoint);
        saved.nonFiniteWeights().ifPresent(problem -> {
            throw new InputException(checkpoint + ": " + problem + ", so it has no accuracy to measure");
        });
        Dataset test = deviceOptions.loadTestData();
        LeNet5.requireInputSize(test);
        try (Backend backend = deviceOptions.openBackend(out).backend()) {
            Parameters params = new Parameters(backend);
            saved.applyTo(params);
            LeNet5 model = LeNet5.forInference(backend, params, batchSize);
            Evaluation eval = Evaluation.run(model, new DeviceDataset(backend, test), test.count(), true);
            print(out, saved, test, eval);
        }
        return 0;
    }

    private void print(PrintWriter out, Checkpoint saved, Dataset test, Evaluation eval) {
        out.printf(Locale.ROOT, "Checkpoint: %s (epoch %s%s, trained on %s)%n", checkpoint,
                saved.metadata().getOrDefault(Checkpoint.EPOCH, "?"), saved.isDryRun() ? ", a dry run" : "",
                saved.metadata().getOrDefault(Checkpoint.DATASET, "?"));
        out.printf(Locale.ROOT, "Test set (%s): Average loss: %.4f, Accuracy: %d/%d (%.2f%%)%n", test.name(),
                eval.meanLoss(), eval.correct(), eval.count(), 100 * eval.accuracy());
        long[][] m = eval.confusion();
        out.println("Per-class accuracy:");
        for (int c = 0; c < LeNet5.CLASSES; c++) {
            long total = 0;
            for (long v : m[c]) {
                total += v;
            }
            out.printf(Locale.ROOT, "  %d: %6.2f%% (%d/%d)%n", c, total == 0 ? 0.0 : 100.0 * m[c][c] / total, m[c][c], total);
        }
        out.println("Confusion matrix (rows: true label, columns: predicted label):");
        StringBuilder header = new StringBuilder("     ");
        for (int c = 0; c < LeNet5.CLASSES; c++) {
            header.append(String.format(Locale.ROOT, "%6d", c));
        }
        out.println(header);
        for (int r = 0; r < LeNet5.CLASSES; r++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %d  ", r));
            for (int c = 0; c < LeNet5.CLASSES; c++) {
                row.append(String.format(Locale.ROOT, "%6d", m[r][c]));
            }
            out.println(row);
        }
        out.flush();
    }
}
