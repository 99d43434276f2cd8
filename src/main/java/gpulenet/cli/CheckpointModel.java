package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.data.DigitImage;
import gpulenet.format.Checkpoint;
import gpulenet.format.pth.PresetMatch;
import gpulenet.format.pth.PthFile;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * A checkpoint read for inference (eval, predict): the network it records, or the one --model/--model-file
 * name for a weights-only file, with --normalize/--resize applied, and its weights, which must be finite.
 *
 * @param file  the checkpoint's path as the user gave it
 * @param saved the checkpoint
 * @param model the network and input transform the weights are used with
 */
record CheckpointModel(Path file, Checkpoint saved, Model model) {
    /**
     * Reads {@code file} and resolves its network through {@code options} (when the file records none and no
     * flag names one: for a PyTorch .pth the one preset its tensors fit, for safetensors the default preset).
     * Non-finite weights are refused with "FILE: WHAT, so {@code consequence}". How the file was read (a .pth's
     * key, conversions, the inferred network) goes to {@code notes}, a line each.
     */
    static CheckpointModel read(Path file, ModelOptions options, String consequence, PrintWriter notes) {
        Checkpoint saved = Checkpoint.read(file);
        saved.notes().forEach(notes::println);
        saved.nonFiniteWeights().ifPresent(problem -> {
            throw new InputException(file + ": " + problem + ", so " + consequence);
        });
        Model fallback = saved.model(Presets.get(Presets.DEFAULT).model());
        if (!saved.describesModel() && !options.namesNetwork() && PthFile.isPth(file)) {
            PresetMatch.Match match = PresetMatch.infer(saved, file.toString());
            notes.println(match.note());
            fallback = match.model();
        }
        notes.flush();
        return new CheckpointModel(file, saved, options.resolve(fallback));
    }

    /**
     * The square size of the images the network takes: its --resize, else MNIST's 28; one line naming the
     * layer that cannot take it when the network does not fit that size.
     */
    int inputSize() {
        int size = model.inputSize(DigitImage.SIZE);
        try {
            model.outputShapes(size, size);
        } catch (InputException e) {
            throw new InputException("the " + model.name() + " network does not take " + size + "x" + size + " images"
                    + (size == DigitImage.SIZE ? " (its input size is set with --resize)" : "") + ": " + e.getMessage());
        }
        return size;
    }

    /** The weights, uploaded to {@code backend} (checked against the network first: names and shapes). */
    Parameters weightsOn(Backend backend) {
        Parameters params = new Parameters(backend, model.parameterShapes());
        saved.applyTo(params, null);
        return params;
    }
}
