package gpulenet.model;

import gpulenet.io.InputException;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The networks of the PyTorch MNIST tutorials, each with its tutorial's input transform and training
 * set-up, which become the defaults of {@code train --model NAME}. lenet5 is the exception: its defaults are
 * this project's (lr 0.05 decayed by 0.7 per epoch, 8 epochs), which reach 99% where tutorial 000's lr 0.001
 * for 3 epochs reaches about 97%; {@link Preset#tutorialCommand} gives the tutorial's own.
 */
public final class Presets {
    public static final String DEFAULT = "lenet5";
    private static final InputTransform MINUS_ONE_TO_ONE = new InputTransform(0, 0.5f, 0.5f);

    /**
     * The lr an optimizer starts from when --optimizer picks one its network's set-up does not use: Adam's is
     * PyTorch's default 0.001 (tutorial 004's, lenet5-adam's); SGD's is lenet5's 0.05. An lr tuned for one
     * optimizer is far off for the other (Adam at SGD's 0.05 diverges).
     */
    public static float defaultLr(String optimizer) {
        return get(optimizer.equals("adam") ? "lenet5-adam" : DEFAULT).defaults().lr();
    }

    /** The training set-up a preset defaults to. */
    public record Defaults(String optimizer, float lr, float momentum, float lrDecay, int batchSize, int epochs) {
    }

    /**
     * @param tutorial        which tutorial, and its own figure
     * @param tutorialCommand the flags that reproduce the tutorial's set-up exactly
     */
    public record Preset(String name, String tutorial, Model model, Defaults defaults, String tutorialCommand) {
    }

    public static final List<Preset> ALL = List.of(
            new Preset("lenet5", "000 (SGD) and 004 (Adam): LeNet-5 with padding; 96.66% after 3 epochs (000), 99.05% after 5 (004)",
                    new Model("lenet5", lenet5(2), MINUS_ONE_TO_ONE),
                    new Defaults("sgd", 0.05f, 0.9f, 0.7f, 64, 8),
                    "--model lenet5 --lr 0.001 --momentum 0.9 --lr-decay 1 --epochs 3 (000); "
                            + "--model lenet5-adam (004)"),
            new Preset("lenet5-adam", "004: LeNet-5 with Adam on x/255; 99.05% after 5 epochs",
                    new Model("lenet5-adam", lenet5(2), InputTransform.NONE),
                    new Defaults("adam", 0.001f, 0f, 1f, 64, 5),
                    "--model lenet5-adam"),
            new Preset("lenet5-32", "002: LeNet-5 without padding on 32x32; 98% after 5 + 4 resumed epochs",
                    new Model("lenet5-32", lenet5(0), new InputTransform(32, 0.1307f, 0.3081f)),
                    new Defaults("sgd", 0.001f, 0.9f, 1f, 64, 5),
                    "--model lenet5-32 --epochs 5, then --resume CHECKPOINT --epochs 9"),
            new Preset("cnn-dropout", "001: 2 conv + Dropout2d + 2 linear, ReLU on the logits; about 98% after 25 epochs",
                    new Model("cnn-dropout", cnnDropout(), MINUS_ONE_TO_ONE),
                    new Defaults("sgd", 0.01f, 0f, 1f, 64, 25),
                    "--model cnn-dropout"),
            new Preset("cnn3", "003: 3 conv + 3 linear (no activation between the Linear layers); 97.99% after 7 epochs",
                    new Model("cnn3", cnn3(), InputTransform.NONE),
                    new Defaults("adam", 0.0001f, 0f, 1f, 128, 7),
                    "--model cnn3"));

    private Presets() {
    }

    public static Preset get(String name) {
        for (Preset p : ALL) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new InputException("--model must be one of " + names() + ", got " + name + " (or use --model-file)");
    }

    public static String names() {
        return ALL.stream().map(Preset::name).collect(Collectors.joining(", "));
    }

    /** Tutorials 000, 002 and 004: LeNet-5 with ReLU and max-pool called in forward(), so named as the goldens name them. */
    private static List<Layer> lenet5(int conv1Padding) {
        return List.of(new Conv2d("conv1", 1, 6, 5, conv1Padding), new ReLU("relu1"), new MaxPool2d("pool1"),
                new Conv2d("conv2", 6, 16, 5, 0), new ReLU("relu2"), new MaxPool2d("pool2"), new Flatten("flatten"),
                new Linear("fc1", 400, 120), new ReLU("relu3"), new Linear("fc2", 120, 84), new ReLU("relu4"),
                new Linear("fc3", 84, 10));
    }

    /** Tutorial 001's cnn module: named Sequentials, view(-1, 2000) in forward(). */
    private static List<Layer> cnnDropout() {
        return List.of(new Conv2d("conv1.0", 1, 10, 5, 0), new ReLU("conv1.1"), new Conv2d("conv2.0", 10, 20, 5, 0),
                new ReLU("conv2.1"), new MaxPool2d("maxpool"), new Dropout2d("drop", 0.25f), new Flatten("view"),
                new Linear("fc3.0", 2000, 100), new ReLU("fc3.1"), new Linear("fc4.0", 100, 10), new ReLU("fc4.1"));
    }

    /** Tutorial 003's nn.Sequential. */
    private static List<Layer> cnn3() {
        return List.of(new Conv2d("0", 1, 32, 3, 0), new ReLU("1"), new Conv2d("2", 32, 16, 3, 0), new ReLU("3"),
                new Conv2d("4", 16, 8, 3, 0), new ReLU("5"), new MaxPool2d("6"), new Flatten("7"),
                new Linear("8", 968, 512), new Linear("9", 512, 128), new Linear("10", 128, 10));
    }
}
