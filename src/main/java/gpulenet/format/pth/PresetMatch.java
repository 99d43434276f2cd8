package gpulenet.format.pth;

import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.layer.ParameterShape;
import gpulenet.model.Presets;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The network of a weights-only file (a PyTorch state_dict records no network): the one preset whose parameter
 * names and shapes are exactly the file's. Several presets share one network (lenet5, lenet5-adam and lenet5-32
 * differ only in their input), and then only --model can say which is meant.
 */
public final class PresetMatch {
    /** The network, and the line that says where it came from. */
    public record Match(Model model, String note) {
    }

    private PresetMatch() {
    }

    public static Match infer(Checkpoint saved, String source) {
        List<Presets.Preset> matching = Presets.ALL.stream().filter(p -> fits(p.model(), saved)).toList();
        if (matching.size() == 1) {
            Presets.Preset p = matching.get(0);
            return new Match(p.model(), source + ": no network recorded; its parameter names and shapes are the " + p.name()
                    + " preset's, so that network is used (input " + p.model().transform().describe() + ")");
        }
        String names = String.join(", ", matching.stream().map(Presets.Preset::name).toList());
        throw new InputException(source + ": no network recorded, and its parameter names and shapes match "
                + (matching.isEmpty() ? "none of the presets (" + Presets.names() + ")" : "the presets " + names)
                + ": give --model NAME or --model-file FILE");
    }

    private static boolean fits(Model model, Checkpoint saved) {
        Map<String, Checkpoint.Stored> tensors = saved.tensors();
        List<ParameterShape> shapes = model.parameterShapes();
        long weights = tensors.keySet().stream().filter(k -> !k.startsWith(Checkpoint.OPTIMIZER_PREFIX)).count();
        return weights == shapes.size() && shapes.stream().allMatch(s -> tensors.containsKey(s.name())
                && Arrays.equals(tensors.get(s.name()).shape(), s.shape()));
    }
}
