package gpulenet.model.layer;

/** Flatten(): [C,H,W] to [C*H*W], row-major, as Flatten() or x.view(-1, n) in forward(). */
public record Flatten(String name) implements Layer {
    @Override
    public int[] outputShape(int[] input) {
        return Shapes.output(this, input, Shapes.elements(input));
    }

    @Override
    public String repr() {
        return "Flatten(start_dim=1, end_dim=-1)";
    }
}
