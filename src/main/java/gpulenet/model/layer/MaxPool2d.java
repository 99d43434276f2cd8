package gpulenet.model.layer;

/** MaxPool2d(2): 2x2 windows, stride 2, an odd last row or column dropped. Input [C,H,W]. */
public record MaxPool2d(String name) implements Layer {
    @Override
    public int[] outputShape(int[] input) {
        if (input.length != 3 || input[1] < 2 || input[2] < 2) {
            throw new ShapeMismatch(this, input, "it needs [C, H, W] with H and W of at least 2");
        }
        return Shapes.output(this, input, input[0], input[1] / 2, input[2] / 2);
    }

    @Override
    public String repr() {
        return "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)";
    }
}
