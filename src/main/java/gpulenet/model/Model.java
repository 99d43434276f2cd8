package gpulenet.model;

import gpulenet.backend.Tensor;
import gpulenet.io.InputException;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.ParameterShape;
import gpulenet.model.layer.Shapes;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A network as data: its name (a preset's, or the file it was read from), its layers in the order they
 * run, and the input transform it was trained with. Checkpoints record all three (see ModelCodec), so a
 * model is rebuilt from its checkpoint alone.
 */
public record Model(String name, List<Layer> layers, InputTransform transform) {
    /** MNIST's ten digits: the last layer must give one logit each. */
    public static final int CLASSES = 10;

    public Model {
        layers = List.copyOf(layers);
        if (layers.stream().allMatch(l -> l.parameters().isEmpty())) {
            throw new InputException(name + ": the network has no Conv2d or Linear layer, so nothing to train");
        }
        Set<String> names = new HashSet<>();
        long total = 0;
        for (Layer l : layers) {
            if (!names.add(l.name())) {
                throw new InputException(name + ": two layers are named " + l.name());
            }
            // All parameters live in one flat tensor (see Parameters).
            for (ParameterShape p : l.parameters()) {
                total = p.size() > Tensor.MAX_ELEMENTS ? p.size() : total + p.size();
                if (total > Tensor.MAX_ELEMENTS) {
                    throw new InputException(String.format(Locale.ROOT, "%s: layer %s (%s) takes the network to %s "
                            + "parameters, more than the %,d one tensor can hold", name, l.name(), l.repr(),
                            Shapes.count(total), Tensor.MAX_ELEMENTS));
                }
            }
        }
    }

    /** Every parameter in state_dict order. */
    public List<ParameterShape> parameterShapes() {
        List<ParameterShape> out = new ArrayList<>();
        for (Layer l : layers) {
            out.addAll(l.parameters());
        }
        return out;
    }

    public long parameterCount() {
        long n = 0;
        for (ParameterShape p : parameterShapes()) {
            n += p.size();
        }
        return n;
    }

    /** The square image size the network takes: the resize, or {@code dataSize} when there is none. */
    public int inputSize(int dataSize) {
        return transform.resize() > 0 ? transform.resize() : dataSize;
    }

    /**
     * Each layer's per-sample output shape for single-channel {@code height x width} input; a layer that
     * cannot take its input, or a last layer that does not give [10], is one line naming it and both shapes.
     */
    public List<int[]> outputShapes(int height, int width) {
        List<int[]> out = new ArrayList<>();
        int[] shape = {1, height, width};
        for (Layer l : layers) {
            shape = l.outputShape(shape);
            out.add(shape);
        }
        if (shape.length != 1 || shape[0] != CLASSES) {
            Layer last = layers.get(layers.size() - 1);
            throw new InputException("layer " + last.name() + " (" + last.repr() + ") gives " + Shapes.text(shape)
                    + " per sample for " + height + "x" + width + " input, but the loss needs [" + CLASSES + "] (one logit per digit)");
        }
        return out;
    }

    public Model withTransform(InputTransform t) {
        return new Model(name, layers, t);
    }

    /** The layers as PyTorch's print(model) shows a Sequential of them, one per line. */
    public String printout() {
        StringBuilder sb = new StringBuilder();
        for (Layer l : layers) {
            sb.append("  (").append(l.name()).append("): ").append(l.repr()).append('\n');
        }
        return sb.toString();
    }
}
