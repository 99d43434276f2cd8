package gpulenet.model.layer;

import java.util.List;

/** Conv2d(in, out, kernel_size=k, stride=1, padding=p), square kernel, with bias. Input [in,H,W]. */
public record Conv2d(String name, int in, int out, int kernel, int padding) implements Layer {
    public Conv2d {
        if (in <= 0 || out <= 0 || kernel <= 0 || padding < 0) {
            throw new IllegalArgumentException("invalid Conv2d(" + in + ", " + out + ", " + kernel + ", padding " + padding + ")");
        }
    }

    @Override
    public int[] outputShape(int[] input) {
        if (input.length != 3 || input[0] != in) {
            throw new ShapeMismatch(this, input, "it needs [" + in + ", H, W]");
        }
        long h = input[1] + 2L * padding - kernel + 1;
        long w = input[2] + 2L * padding - kernel + 1;
        if (h <= 0 || w <= 0) {
            throw new ShapeMismatch(this, input, "a " + kernel + "x" + kernel + " kernel with padding " + padding
                    + " needs H and W of at least " + (kernel - 2L * padding));
        }
        return Shapes.output(this, input, out, h, w);
    }

    @Override
    public List<ParameterShape> parameters() {
        // Clamped only for a weight too large to fit, which Model refuses with its size.
        int fanIn = (int) Math.min(Integer.MAX_VALUE, (long) in * kernel * kernel);
        return List.of(new ParameterShape(name + ".weight", new int[]{out, in, kernel, kernel}, fanIn),
                new ParameterShape(name + ".bias", new int[]{out}, fanIn));
    }

    @Override
    public String repr() {
        return "Conv2d(" + in + ", " + out + ", kernel_size=(" + kernel + ", " + kernel + "), stride=(1, 1)"
                + (padding == 0 ? "" : ", padding=(" + padding + ", " + padding + ")") + ")";
    }
}
