package gpulenet.cli;

import gpulenet.io.InputException;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Presets;
import gpulenet.model.layer.ModulePrintout;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** --model, --model-file, --normalize, --resize: which network, and how its input is transformed. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "NAME",
            description = "A tutorial's network: lenet5 (default), lenet5-adam, lenet5-32, cnn-dropout, cnn3 (see the models command). "
                    + "Its tutorial's input transform and training set-up are the defaults.")
    String preset;

    @Option(names = "--model-file", paramLabel = "FILE",
            description = "A network as PyTorch's print(model) shows it: an nn.Sequential, or a module whose named children "
                    + "(and nested Sequentials) run in the printed order; a view(-1, n) before the first Linear is implied.")
    Path file;

    @Option(names = "--normalize", paramLabel = "MEAN,STD|none",
            description = "Input x = (pixel/255 - MEAN)/STD, or pixel/255 with none. Default: the model's.")
    String normalize;

    @Option(names = "--resize", paramLabel = "SIZE",
            description = "Resize images to SIZE x SIZE as torchvision's Resize((SIZE,SIZE)) does, 0 for none. Default: the model's.")
    Integer resize;

    /** Whether any of these flags was given. */
    public boolean given() {
        return preset != null || file != null || normalize != null || resize != null;
    }

    /** Whether --model or --model-file names the network. */
    public boolean namesNetwork() {
        return preset != null || file != null;
    }

    /** The flags given, as typed: "--model lenet5-32 --resize 32". */
    public String flags() {
        StringBuilder s = new StringBuilder();
        if (preset != null) {
            s.append(" --model ").append(preset);
        }
        if (file != null) {
            s.append(" --model-file ").append(file);
        }
        if (normalize != null) {
            s.append(" --normalize ").append(normalize);
        }
        if (resize != null) {
            s.append(" --resize ").append(resize);
        }
        return s.toString().strip();
    }

    /** The preset named by --model, or the default one when neither --model nor --model-file is given. */
    public Optional<Presets.Preset> presetChosen() {
        if (file != null) {
            return Optional.empty();
        }
        return Optional.of(Presets.get(preset != null ? preset : Presets.DEFAULT));
    }

    /**
     * The network the flags name, with --normalize and --resize applied; {@code fallback} when none of
     * --model and --model-file is given (a checkpoint's own network, or null for the default preset).
     */
    public Model resolve(Model fallback) {
        if (preset != null && file != null) {
            throw new InputException("--model and --model-file name two networks: give one");
        }
        Model base;
        if (file != null) {
            base = new Model(file.getFileName().toString(), ModulePrintout.read(file), new InputTransform(0, 0.5f, 0.5f));
        } else if (preset != null || fallback == null) {
            base = presetChosen().orElseThrow().model();
        } else {
            base = fallback;
        }
        InputTransform t = base.transform();
        if (resize != null) {
            if (resize < 0 || resize > 1024) {
                throw new InputException("--resize must be between 0 and 1024, got " + resize);
            }
            t = t.withResize(resize);
        }
        if (normalize != null) {
            t = InputTransform.withNormalize(t.resize(), normalize, "--normalize");
        }
        return base.withTransform(t);
    }
}
