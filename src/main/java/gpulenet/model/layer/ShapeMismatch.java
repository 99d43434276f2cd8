package gpulenet.model.layer;

import gpulenet.io.InputException;

import java.util.Arrays;

/** A layer given an input it cannot take: names the layer, the shape it got and what it needs. */
public final class ShapeMismatch extends InputException {
    public ShapeMismatch(Layer layer, int[] input, String needs) {
        super("layer " + layer.name() + " (" + layer.repr() + ") gets input " + Shapes.text(input) + " per sample, but "
                + needs);
    }
}
