package gpulenet.model.layer;

/** ReLU(): any shape. */
public record ReLU(String name) implements Layer {
    @Override
    public int[] outputShape(int[] input) {
        return input.clone();
    }

    @Override
    public String repr() {
        return "ReLU()";
    }
}
