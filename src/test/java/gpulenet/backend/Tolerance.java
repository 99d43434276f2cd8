package gpulenet.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Element-wise comparison with tolerance abs + rel * |expected|, reporting the worst element. */
public final class Tolerance {
    private Tolerance() {
    }

    public static void assertClose(float[] expected, float[] actual, double abs, double rel, String what) {
        assertClose(toDouble(expected), actual, abs, rel, what);
    }

    public static void assertClose(double[] expected, float[] actual, double abs, double rel, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double limit = abs + rel * Math.abs(expected[i]);
            double err = Math.abs(expected[i] - actual[i]);
            if (!(err <= limit) && (worst < 0 || !(err - limit <= worstExcess))) {
                worst = i;
                worstExcess = err - limit;
            }
        }
        if (worst >= 0) {
            fail(what + ": element " + worst + " is " + actual[worst] + ", expected " + expected[worst]
                    + " (tolerance " + abs + " + " + rel + "*|expected|)");
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
