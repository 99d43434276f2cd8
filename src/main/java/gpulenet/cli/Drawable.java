package gpulenet.cli;

/**
 * The points of a series that a chart can draw. XChart's tick calculation never ends on an axis reaching about
 * 1e18 (it steps through the range in increments too small to move such a value), and NaN or infinity has no place
 * on an axis: values beyond {@link #LIMIT} in magnitude, and non-finite ones, are left out, and counted so the
 * picture can say so.
 *
 * @param left how many points were left out
 */
record Drawable(double[] x, double[] y, int left) {
    /** Far above any loss or images/s a run reports, and far below where XChart's ticks stop working (about 1e18). */
    static final double LIMIT = 1e12;
    static final String LIMIT_TEXT = "1e12";

    static Drawable of(double[] x, double[] y) {
        int[] keep = new int[x.length];
        int n = 0;
        for (int i = 0; i < x.length; i++) {
            if (drawable(x[i]) && drawable(y[i])) {
                keep[n++] = i;
            }
        }
        double[] kx = new double[n], ky = new double[n];
        for (int i = 0; i < n; i++) {
            kx[i] = x[keep[i]];
            ky[i] = y[keep[i]];
        }
        return new Drawable(kx, ky, x.length - n);
    }

    /** {@code v}, or 0 where it cannot be drawn (a bar of no height rather than a chart that never finishes). */
    static double orZero(double v) {
        return drawable(v) ? v : 0;
    }

    static boolean drawable(double v) {
        return Double.isFinite(v) && Math.abs(v) <= LIMIT;
    }
}
