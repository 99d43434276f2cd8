package gpulenet.model.layer;

/** Dropout2d(p): whole channels per sample while training, the identity in eval. Input [C,H,W]. */
public record Dropout2d(String name, float p) implements Layer {
    public Dropout2d {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("Dropout2d p must be in [0, 1), got " + p);
        }
    }

    @Override
    public int[] outputShape(int[] input) {
        if (input.length != 3) {
            throw new ShapeMismatch(this, input, "it needs [C, H, W]");
        }
        return input.clone();
    }

    @Override
    public String repr() {
        return "Dropout2d(p=" + p + ", inplace=False)";
    }
}
