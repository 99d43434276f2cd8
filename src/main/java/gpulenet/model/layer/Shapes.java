package gpulenet.model.layer;

import java.util.StringJoiner;

/** Per-sample shapes as the messages print them: [6, 14, 14]. */
public final class Shapes {
    private Shapes() {
    }

    public static String text(int[] shape) {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int d : shape) {
            j.add(Integer.toString(d));
        }
        return j.toString();
    }

    public static int elements(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
