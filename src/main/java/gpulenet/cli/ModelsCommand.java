package gpulenet.cli;

import gpulenet.model.Model;
import gpulenet.model.Presets;
import gpulenet.model.layer.Shapes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code models}: the presets, each with its layers (and their output shapes), parameter count, input
 * transform and the training set-up that {@code train --model NAME} defaults to; or the one network that
 * --model or --model-file names, as train would build it.
 */
@Command(name = "models", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"List the networks of the PyTorch MNIST tutorials that --model names, with their defaults.",
                "With --model or --model-file, show that network alone (with --normalize and --resize applied)."})
public final class ModelsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (modelOptions.given()) {
            Model m = modelOptions.resolve(null);
            print(out, m, modelOptions.presetChosen().orElse(null));
        } else {
            for (Presets.Preset p : Presets.ALL) {
                print(out, p.model(), p);
            }
        }
        out.flush();
        return 0;
    }

    /** One network: its layers with their output shapes; a preset's also with its tutorial and set-up. */
    private static void print(PrintWriter out, Model m, Presets.Preset preset) {
        int size = m.inputSize(28);
        List<int[]> shapes = m.outputShapes(size, size);
        out.printf(Locale.ROOT, "%s%s: %,d parameters, %dx%d input%n", m.name(),
                m.name().equals(Presets.DEFAULT) ? " (default)" : "", m.parameterCount(), size, size);
        if (preset != null) {
            out.println("  tutorial " + preset.tutorial());
        }
        out.println("  input:   " + m.transform().describe());
        if (preset != null) {
            Presets.Defaults d = preset.defaults();
            out.printf(Locale.ROOT, "  train:   --optimizer %s --lr %s%s --lr-decay %s --batch-size %d --epochs %d%n",
                    d.optimizer(), d.lr(), d.optimizer().equals("sgd") ? " --momentum " + d.momentum() : "", d.lrDecay(),
                    d.batchSize(), d.epochs());
            out.println("  as in the tutorial: train " + preset.tutorialCommand());
        }
        List<String> lines = m.layers().stream().map(l -> "(" + l.name() + "): " + l.repr()).toList();
        int width = lines.stream().mapToInt(String::length).max().orElse(0);
        for (int i = 0; i < lines.size(); i++) {
            out.printf(Locale.ROOT, "    %-" + width + "s  -> %s%n", lines.get(i), Shapes.text(shapes.get(i)));
        }
        out.println();
    }
}
