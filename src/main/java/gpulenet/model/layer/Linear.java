package gpulenet.model.layer;

import java.util.List;

/** Linear(in, out) with bias: y = x W^T + b, W [out,in]. Input [in]. */
public record Linear(String name, int in, int out) implements Layer {
    public Linear {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("invalid Linear(" + in + ", " + out + ")");
        }
    }

    @Override
    public int[] outputShape(int[] input) {
        if (input.length != 1 || input[0] != in) {
            throw new ShapeMismatch(this, input, "it needs [" + in + "]" + (input.length != 1 ? " (flatten first)" : ""));
        }
        return Shapes.output(this, input, out);
    }

    @Override
    public List<ParameterShape> parameters() {
        return List.of(new ParameterShape(name + ".weight", new int[]{out, in}, in),
                new ParameterShape(name + ".bias", new int[]{out}, in));
    }

    @Override
    public String repr() {
        return "Linear(in_features=" + in + ", out_features=" + out + ", bias=True)";
    }
}
