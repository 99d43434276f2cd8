package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.data.Dataset;
import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.train.DeviceDataset;
import gpulenet.train.Evaluation;
import gpulenet.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code eval}: test-set loss, accuracy, per-class accuracy and the confusion matrix of a checkpoint. The
 * network and input transform come from the checkpoint; a weights-only file (PyTorch's
 * {@code save_file(model.state_dict(), ...)}) names them with --model or --model-file.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a checkpoint on the test set.",
                "A checkpoint written by train records its network; for weights saved from PyTorch, give --model or "
                        + "--model-file (and --normalize/--resize where they differ from the model's)."})
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true, description = "A checkpoint written by train --save, or a state_dict saved from PyTorch (torch.save .pth/.pt, or safetensors).")
    Path checkpoint;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    DeviceOptions deviceOptions;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "1000", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--confusion", paramLabel = "FILE",
            description = "Draw the confusion matrix as a heatmap, with the count in every cell, into this PNG.")
    Path confusionPng;

    @Option(names = "--errors", paramLabel = "FILE",
            description = "Draw the first " + Charts.MAX_ERRORS + " misclassified test images, each with its true and "
                    + "predicted label, into this PNG.")
    Path errorsPng;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (batchSize <= 0) {
            throw new InputException("--batch-size must be positive, got " + batchSize);
        }
        new FileFlags(spec).reads("--checkpoint", checkpoint).reads("--model-file", modelOptions.file)
                .readsDataSet("--data", deviceOptions.dataDir())
                .writes("--confusion", confusionPng).writes("--errors", errorsPng).check();
        CheckpointModel loaded = CheckpointModel.read(checkpoint, modelOptions, "it has no accuracy to measure",
                spec.commandLine().getErr());
        Checkpoint saved = loaded.saved();
        Model model = loaded.model();
        Dataset test = model.transform().applyTo(deviceOptions.loadTestData());
        Trainer.requireInputFits(model, test);
        int batch = batchCappedToTheTestSet(test.count(), out);
        try (Backend backend = deviceOptions.openBackend(out).backend()) {
            Parameters params = loaded.weightsOn(backend);
            ReplacedNetwork.note(loaded, modelOptions).ifPresent(out::println);
            Network network = Network.forInference(backend, model, params, test.rows(), test.cols(), batch);
            int[] predictions = errorsPng != null ? new int[test.count()] : null;
            Evaluation eval = Evaluation.run(network, new DeviceDataset(backend, test), test.count(), true, predictions);
            print(out, saved, model, test, eval);
            String title = model.name() + " on " + test.name();
            if (confusionPng != null) {
                Charts.writePng(confusionPng, Charts.confusion(String.format(Locale.ROOT, "%s: %.2f%% correct (%d/%d)",
                        title, 100 * eval.accuracy(), eval.correct(), eval.count()), eval.confusion()));
                out.println("Saved confusion matrix " + confusionPng);
            }
            if (errorsPng != null) {
                Charts.writePng(errorsPng, Charts.errorGrid(title, test, predictions));
                out.println("Saved misclassified images " + errorsPng);
            }
            out.flush();
        }
        return 0;
    }

    /** A batch larger than the test set would only allocate rows that no step fills, as train caps it to the training set. */
    private int batchCappedToTheTestSet(int testCount, PrintWriter out) {
        if (batchSize <= testCount) {
            return batchSize;
        }
        if (!spec.commandLine().getParseResult().hasMatchedOption("--batch-size")) {
            return testCount; // the default is a size to work in, not something the user asked for
        }
        out.printf(Locale.ROOT, "--batch-size %d is more than the %d test images: using %d%n", batchSize, testCount, testCount);
        return testCount;
    }

    private void print(PrintWriter out, Checkpoint saved, Model model, Dataset test, Evaluation eval) {
        out.printf(Locale.ROOT, "Checkpoint: %s (epoch %s%s, trained on %s)%n", checkpoint,
                saved.metadata().getOrDefault(Checkpoint.EPOCH, "?"), saved.isDryRun() ? ", a dry run" : "",
                saved.metadata().getOrDefault(Checkpoint.DATASET, "?"));
        out.printf(Locale.ROOT, "Model: %s, %,d parameters; input %s%n", model.name(), model.parameterCount(),
                model.transform().describe());
        out.printf(Locale.ROOT, "Test set (%s): Average loss: %.4f, Accuracy: %d/%d (%.2f%%)%n", test.name(),
                eval.meanLoss(), eval.correct(), eval.count(), 100 * eval.accuracy());
        long[][] m = eval.confusion();
        out.println("Per-class accuracy:");
        for (int c = 0; c < Model.CLASSES; c++) {
            long total = 0;
            for (long v : m[c]) {
                total += v;
            }
            if (total == 0) {
                out.printf(Locale.ROOT, "  %d:      - (no test images)%n", c);
            } else {
                out.printf(Locale.ROOT, "  %d: %6.2f%% (%d/%d)%n", c, 100.0 * m[c][c] / total, m[c][c], total);
            }
        }
        out.println("Confusion matrix (rows: true label, columns: predicted label):");
        StringBuilder header = new StringBuilder("     ");
        for (int c = 0; c < Model.CLASSES; c++) {
            header.append(String.format(Locale.ROOT, "%6d", c));
        }
        out.println(header);
        for (int r = 0; r < Model.CLASSES; r++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %d  ", r));
            for (int c = 0; c < Model.CLASSES; c++) {
                row.append(String.format(Locale.ROOT, "%6d", m[r][c]));
            }
            out.println(row);
        }
        out.flush();
    }
}
