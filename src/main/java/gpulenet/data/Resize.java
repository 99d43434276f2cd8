package gpulenet.data;

/**
 * torchvision's {@code Resize((size, size))} on a PIL image, bit for bit: Pillow's bilinear filter
 * (ImagingResample for 8-bit images) in its fixed point with 22 fraction bits, a horizontal pass, a
 * rounding to uint8, then a vertical pass over that uint8 result. Rounding between the passes matters:
 * one float pass is off by one on a few percent of MNIST's pixels.
 *
 * <p>Each output index o samples the source around center = (o + 0.5) * scale, scale = in/out, with the
 * triangle filter; when shrinking, the filter is widened by the scale (its support becomes scale pixels
 * each side), so every source pixel contributes, as Pillow does. torchvision's {@code antialias} flag
 * does not apply to PIL images.
 */
public final class Resize {
    /** Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2. */
    static final int PRECISION_BITS = 22;

    private Resize() {
    }

    /**
     * The fixed-point filter taps of one axis. Output o reads {@code count[o]} source pixels from
     * {@code first[o]} on, with weights {@code weights[o * width() + k]} (unused slots are 0).
     */
    public record Taps(int[] first, int[] count, int[] weights, int width) {
        public int weight(int o, int k) {
            return weights[o * width + k];
        }
    }

    /** Pillow's precompute_coeffs and normalize_coeffs_8bpc for the bilinear filter, {@code in} to {@code out}. */
    public static Taps taps(int in, int out) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("sizes must be positive, got " + in + " -> " + out);
        }
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // the triangle's support is 1, widened when shrinking
        double inverseScale = 1.0 / filterScale; // Pillow multiplies by it (dividing could round differently)
        int width = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[out];
        int[] count = new int[out];
        int[] weights = new int[out * width];
        double[] w = new double[width];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            // (int) truncates toward zero, as C's cast does in Pillow
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), in) - xmin;
            double sum = 0;
            for (int k = 0; k < xmax; k++) {
                w[k] = triangle((k + xmin - center + 0.5) * inverseScale);
                sum += w[k];
            }
            for (int k = 0; k < xmax; k++) {
                double normalised = sum != 0 ? w[k] / sum : w[k];
                weights[o * width + k] = (int) (normalised < 0 ? -0.5 + normalised * (1 << PRECISION_BITS)
                        : 0.5 + normalised * (1 << PRECISION_BITS));
            }
            first[o] = xmin;
            count[o] = xmax;
        }
        return new Taps(first, count, weights, width);
    }

    private static double triangle(double x) {
        double a = Math.abs(x);
        return a < 1.0 ? 1.0 - a : 0.0;
    }

    /** Every image of {@code d} resized to size x size, once, as a new data set with the same name and labels. */
    public static Dataset bilinear(Dataset d, int size) {
        Taps horizontal = taps(d.cols(), size);
        Taps vertical = taps(d.rows(), size);
        int inSize = d.imageSize();
        int outSize = size * size;
        byte[] out = new byte[d.count() * outSize];
        byte[] tmp = new byte[d.rows() * size];
        for (int i = 0; i < d.count(); i++) {
            resize(d.images(), i * inSize, d.rows(), d.cols(), horizontal, vertical, tmp, out, i * outSize);
        }
        return new Dataset(d.name(), out, d.labels().clone(), d.count(), size, size);
    }

    /** One uint8 image, rows x cols, row-major, resized to size x size. */
    public static byte[] bilinear(byte[] image, int rows, int cols, int size) {
        if (image.length != rows * cols) {
            throw new IllegalArgumentException("image has " + image.length + " bytes, not " + rows + "x" + cols);
        }
        byte[] out = new byte[size * size];
        resize(image, 0, rows, cols, taps(cols, size), taps(rows, size), new byte[rows * size], out, 0);
        return out;
    }

    /** Horizontal pass into {@code tmp} (rows x outCols, uint8), then the vertical pass from it into {@code out}. */
    private static void resize(byte[] src, int srcOffset, int rows, int cols, Taps horizontal, Taps vertical,
                               byte[] tmp, byte[] out, int outOffset) {
        int outCols = horizontal.first().length;
        int outRows = vertical.first().length;
        for (int y = 0; y < rows; y++) {
            int row = srcOffset + y * cols;
            for (int o = 0; o < outCols; o++) {
                int acc = 1 << (PRECISION_BITS - 1);
                for (int k = 0; k < horizontal.count()[o]; k++) {
                    acc += (src[row + horizontal.first()[o] + k] & 0xff) * horizontal.weight(o, k);
                }
                tmp[y * outCols + o] = clip8(acc);
            }
        }
        for (int o = 0; o < outRows; o++) {
            for (int x = 0; x < outCols; x++) {
                int acc = 1 << (PRECISION_BITS - 1);
                for (int k = 0; k < vertical.count()[o]; k++) {
                    acc += (tmp[(vertical.first()[o] + k) * outCols + x] & 0xff) * vertical.weight(o, k);
                }
                out[outOffset + o * outCols + x] = clip8(acc);
            }
        }
    }

    /** The accumulator back to uint8: its integer part, clamped to 0..255. */
    private static byte clip8(int acc) {
        return (byte) Math.min(Math.max(acc >> PRECISION_BITS, 0), 255);
    }
}
