package gpulenet.model.layer;

/**
 * One parameter tensor of a layer: its full state_dict name, its shape and the fan-in of PyTorch's
 * default init bound 1/sqrt(fanIn).
 */
public record ParameterShape(String name, int[] shape, int fanIn) {
    public long size() {
        return Shapes.elements(shape);
    }
}
