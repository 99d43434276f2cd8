package gpulenet.cli;

import gpulenet.model.Model;
import gpulenet.model.Presets;
import gpulenet.model.layer.Shapes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code models}: the presets, each with its layers (and their output shapes), parameter count, input
 * transform and the training set-up that {@code train --model NAME} defaults to.
 */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List the networks of the PyTorch MNIST tutorials that --model names, with their defaults.")
public final class ModelsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (Presets.Preset p : Presets.ALL) {
            Model m = p.model();
            int size = m.inputSize(28);
            Presets.Defaults d = p.defaults();
            out.printf(Locale.ROOT, "%s%s: %,d parameters, %dx%d input%n", p.name(),
                    p.name().equals(Presets.DEFAULT) ? " (default)" : "", m.parameterCount(), size, size);
            out.println("  tutorial " + p.tutorial());
            out.println("  input:   " + m.transform().describe());
            out.printf(Locale.ROOT, "  train:   --optimizer %s --lr %s%s --lr-decay %s --batch-size %d --epochs %d%n",
                    d.optimizer(), d.lr(), d.optimizer().equals("sgd") ? " --momentum " + d.momentum() : "", d.lrDecay(),
                    d.batchSize(), d.epochs());
            out.println("  as in the tutorial: train " + p.tutorialCommand());
            List<int[]> shapes = m.outputShapes(size, size);
            List<String> lines = m.layers().stream().map(l -> "(" + l.name() + "): " + l.repr()).toList();
            int width = lines.stream().mapToInt(String::length).max().orElse(0);
            for (int i = 0; i < lines.size(); i++) {
                out.printf(Locale.ROOT, "    %-" + width + "s  -> %s%n", lines.get(i), Shapes.text(shapes.get(i)));
            }
            out.println();
        }
        out.flush();
        return 0;
    }
}
