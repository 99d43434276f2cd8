package gpulenet.model.layer;

import gpulenet.backend.Tensor;
import gpulenet.io.InputException;

import java.util.Arrays;
import java.util.Locale;
import java.util.StringJoiner;

/** Per-sample shapes as the messages print them: [6, 14, 14]; and the bound every shape must keep. */
public final class Shapes {
    private Shapes() {
    }

    public static String text(int[] shape) {
        return text(Arrays.stream(shape).asLongStream().toArray());
    }

    private static String text(long[] shape) {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (long d : shape) {
            j.add(Long.toString(d));
        }
        return j.toString();
    }

    public static long elements(int[] shape) {
        return elements(Arrays.stream(shape).asLongStream().toArray());
    }

    /** The product, or Long.MAX_VALUE where it would overflow: every such size is refused anyway. */
    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyHigh(n, d) != 0 || n * d < 0 ? Long.MAX_VALUE : n * d;
        }
        return n;
    }

    /** A size as the messages print it: 2,352,000,000, or "too many" for one that overflowed. */
    public static String count(long elements) {
        return elements == Long.MAX_VALUE ? "too many" : String.format(Locale.ROOT, "%,d", elements);
    }

    /**
     * {@code dims}, worked out in long, as the per-sample output shape of {@code layer}, or one line naming the
     * layer when one sample's output is more than a tensor can hold.
     */
    static int[] output(Layer layer, int[] input, long... dims) {
        long elements = elements(dims);
        if (elements > Tensor.MAX_ELEMENTS) {
            throw new InputException(String.format(Locale.ROOT, "layer %s (%s) gives %s per sample for input %s: %s "
                    + "elements, more than the %,d one tensor can hold", layer.name(), layer.repr(), text(dims),
                    text(input), count(elements),
                    Tensor.MAX_ELEMENTS));
        }
        return Arrays.stream(dims).mapToInt(Math::toIntExact).toArray();
    }
}
