package gpulenet.model.layer;

import java.util.List;

/**
 * One module of a network, as PyTorch names and prints it. A network is a list of layers run in order;
 * {@code name} is the module's path in PyTorch's module tree ("conv1", "conv1.0" for a child of a named
 * Sequential, "0" for a child of a plain one), which prefixes its parameter names in the state_dict.
 */
public sealed interface Layer permits Conv2d, ReLU, MaxPool2d, Dropout2d, Flatten, Linear {

    String name();

    /**
     * The per-sample output shape ([C,H,W] or [N]) for a per-sample input shape, or a {@link ShapeMismatch}
     * saying what this layer needs instead.
     */
    int[] outputShape(int[] input);

    /** The parameters, in state_dict order (weight, then bias). */
    default List<ParameterShape> parameters() {
        return List.of();
    }

    /** PyTorch's current repr of the module, as {@code print(model)} shows it. */
    String repr();
}
