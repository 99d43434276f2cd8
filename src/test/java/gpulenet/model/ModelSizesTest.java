package gpulenet.model;

import gpulenet.io.InputException;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Sizes past an int are worked out in long and refused with one line naming the layer, never wrapped. */
class ModelSizesTest {
    private static Model model(Layer... layers) {
        return new Model("net.txt", List.of(layers), InputTransform.NONE);
    }

    private static String refusal(Runnable build) {
        return assertThrows(InputException.class, build::run).getMessage();
    }

    @Test
    void parametersPastOneTensorAreRefusedAtTheLayerThatPassesTheBound() {
        // 784 x 3,000,000 wrapped to a negative count before
        assertEquals("net.txt: layer fc1 (Linear(in_features=784, out_features=3000000, bias=True)) takes the network to "
                        + "2,352,000,000 parameters, more than the 2,147,483,639 one tensor can hold",
                refusal(() -> model(new Flatten("f"), new Linear("fc1", 784, 3_000_000), new Linear("fc2", 3_000_000, 10))));
        assertEquals("net.txt: layer c (Conv2d(1, 100000000, kernel_size=(5, 5), stride=(1, 1))) takes the network to "
                        + "2,500,000,000 parameters, more than the 2,147,483,639 one tensor can hold",
                refusal(() -> model(new Conv2d("c", 1, 100_000_000, 5, 0), new Flatten("f"), new Linear("fc", 10, 10))));
        // each layer fits, together they do not
        assertEquals("net.txt: layer b (Linear(in_features=1000000, out_features=1200, bias=True)) takes the network to "
                        + "2,400,001,200 parameters, more than the 2,147,483,639 one tensor can hold",
                refusal(() -> model(new Flatten("f"), new Linear("a", 1_000_000, 1200), new Linear("b", 1_000_000, 1200))));
        assertEquals(954_000_010L, model(new Flatten("f"), new Linear("a", 784, 1_200_000),
                new Linear("b", 1_200_000, 10)).parameterCount());
    }

    @Test
    void outputsPastOneTensorAreRefusedNamingTheLayerAndTheShapes() {
        Model wide = model(new Conv2d("c", 1, 10_000_000, 5, 0), new Flatten("f"), new Linear("fc", 10, 10));
        assertEquals("layer c (Conv2d(1, 10000000, kernel_size=(5, 5), stride=(1, 1))) gives [10000000, 24, 24] per sample "
                        + "for input [1, 28, 28]: 5,760,000,000 elements, more than the 2,147,483,639 one tensor can hold",
                refusal(() -> wide.outputShapes(28, 28)));
        // a padding of 2e9 wrapped the height to a negative number before; the product overflows even a long
        Model padded = model(new Conv2d("c", 1, 6, 5, 2_000_000_000), new Flatten("f"), new Linear("fc", 10, 10));
        assertEquals("layer c (Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2000000000, 2000000000))) gives "
                        + "[6, 4000000024, 4000000024] per sample for input [1, 28, 28]: too many elements, more than the "
                        + "2,147,483,639 one tensor can hold", refusal(() -> padded.outputShapes(28, 28)));
    }
}
