package gpulenet.cli;

import gpulenet.model.Model;
import gpulenet.model.Presets;

import java.util.Optional;

/**
 * The line saying that flags replaced the network or input transform a checkpoint records, as --resume says
 * which flags override a saved value: weights of the same shapes load into another network silently, and its
 * results would pass for the checkpoint's own.
 */
final class ReplacedNetwork {
    private ReplacedNetwork() {
    }

    /** The note for {@code loaded}, or empty when the checkpoint records no network or the flags kept it. */
    static Optional<String> note(CheckpointModel loaded, ModelOptions options) {
        if (!loaded.saved().describesModel()) {
            return Optional.empty();
        }
        Model recorded = loaded.saved().model(Presets.get(Presets.DEFAULT).model());
        Model used = loaded.model();
        if (recorded.layers().equals(used.layers()) && recorded.transform().equals(used.transform())) {
            return Optional.empty();
        }
        return Optional.of(options.flags() + " replaces the network the checkpoint records: " + describe(recorded)
                + " runs as " + describe(used) + " (the weights' shapes match)");
    }

    private static String describe(Model m) {
        return m.name() + ", input " + m.transform().describe();
    }
}
