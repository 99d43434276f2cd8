package gpulenet.data;

import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * A picture of a handwritten digit, from any image file javax.imageio reads (PNG, JPEG, BMP, GIF; any size,
 * colour or bit depth), made into a 28x28 uint8 image as MNIST's own were made, light ink on black:
 * <ol>
 *   <li>grayscale by luminance (0.299 R + 0.587 G + 0.114 B; a gray image's samples as stored), transparent
 *       pixels composited over the background that contrasts with the opaque ones;</li>
 *   <li>dark ink on a light background is detected (the border pixels' median, taken as the background, is
 *       brighter than the image's mean, which the ink pulls away from it) and inverted;</li>
 *   <li>the background level is subtracted and the contrast stretched so the brightest ink is 255;</li>
 *   <li>cropped to the ink's bounding box (pixels above {@link #INK_THRESHOLD} of the stretched range);</li>
 *   <li>scaled so its longer side is {@link #BOX} (20) pixels, keeping the aspect ratio, with Pillow's
 *       bilinear filter (widened when shrinking, so every source pixel counts: {@link Resize#taps}), then
 *       stretched again so a thin stroke shrunk from a large picture still peaks at 255;</li>
 *   <li>placed in 28x28 with its centre of mass (in pixel-index coordinates, as MNIST's are: their mean is
 *       (14.0, 14.0)) shifted by whole pixels to (14, 14), clamped so that the digit stays inside.</li>
 * </ol>
 * An image that already looks like an MNIST sample is kept exactly as it is, since the steps above would
 * change an MNIST image slightly (its ink box is 19 or 20 pixels by the nonzero pixels, not by the threshold;
 * the stretch; the resampling): 28x28, light on a dark background (no inversion, border median at most
 * {@link #DARK_BACKGROUND}), its ink (above {@link #FAINT_INK}) filling a 20x20 box (the longer side 18 to 20
 * pixels) and its centre of mass within one pixel of (14, 14). Every image of MNIST's training and test sets
 * passes that test (their ink boxes are 19 or 20 pixels on the longer side, their centres of mass within 0.52
 * pixels of (14, 14)), so an MNIST image written to a PNG reaches the network unchanged. A digit drawn small
 * or large, or off centre, in a 28x28 picture is prepared as any other. A 32x32 network's resize comes after
 * this, as for the data set.
 */
public final class DigitImage {
    public static final int SIZE = 28;
    public static final int BOX = 20;
    /** Ink for the bounding box: above a quarter of the stretched range (JPEG noise and faint smudges stay out). */
    public static final int INK_THRESHOLD = 64;
    /** The faintest ink an MNIST-like image's box counts (its anti-aliased edge, not the background). */
    static final int FAINT_INK = 16;
    /** The largest border median an image kept as it is may have. */
    public static final int DARK_BACKGROUND = 8;
    /** A picture whose brightest and background levels differ by less than this holds no digit. */
    static final int MIN_CONTRAST = 16;
    /** Decoding allocates 4 bytes a pixel and more: a larger picture is refused before it is decoded. */
    public static final long MAX_PIXELS = 40_000_000L;
    public static final long MAX_FILE_BYTES = 256L << 20;
    /** The file name extensions a directory is searched for, lower case. */
    public static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "bmp", "gif");

    /**
     * A prepared digit.
     *
     * @param pixels   28x28 uint8, row-major, light ink on black
     * @param width    the source image's width
     * @param height   the source image's height
     * @param inverted the source was dark ink on a light background
     * @param asIs     the source already looked like an MNIST sample and was kept unchanged
     */
    public record Prepared(byte[] pixels, int width, int height, boolean inverted, boolean asIs) {
        public int pixel(int x, int y) {
            return pixels[y * SIZE + x] & 0xff;
        }
    }

    static {
        // Decoding needs no display; a JVM with DISPLAY set but no X libraries must not try to open one.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private DigitImage() {
    }

    /** Whether a directory entry's name has one of the {@link #EXTENSIONS}, in any case. */
    public static boolean hasImageExtension(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /**
     * Reads and prepares one file, turned upright as a JPEG's Exif Orientation says; anything wrong is an
     * {@link InputException} naming the file and why.
     */
    public static Prepared read(Path file) {
        byte[] bytes = readBytes(file);
        BufferedImage image = decode(file, bytes);
        try {
            ExifOrientation.Image upright = ExifOrientation.apply(ExifOrientation.of(bytes), gray(image),
                    image.getWidth(), image.getHeight());
            return prepare(upright.lum(), upright.width(), upright.height());
        } catch (InputException e) {
            throw new InputException(file + ": " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            throw new InputException(file + ": " + DecodeMemory.outOfMemory(image.getWidth(), image.getHeight()));
        }
    }

    /** The bytes of {@code file}, which must be a regular file (a FIFO or a device is refused before it is opened). */
    private static byte[] readBytes(Path file) {
        long size = InputFiles.requireRegularFile(file);
        if (size > MAX_FILE_BYTES) {
            throw new InputException(file + ": " + size + " bytes, more than an image file of a digit may have ("
                    + MAX_FILE_BYTES + ")");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InputException(file + ": cannot read: " + IoReasons.reason(e), e);
        }
        if (bytes.length == 0) {
            throw new InputException(file + ": empty file, not an image");
        }
        return bytes;
    }

    /**
     * Decodes the first image in {@code bytes}, read from {@code file}: a PNG, JPEG, BMP, GIF (or TIFF) that
     * javax.imageio reads without a warning, of at most {@link #MAX_PIXELS} pixels and no more than the Java
     * heap can take (see {@link DecodeMemory}).
     */
    static BufferedImage decode(Path file, byte[] bytes) {
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = readerWithSignature(in);
            if (reader == null) {
                throw new InputException(file + ": not an image (no PNG, JPEG, BMP or GIF signature)");
            }
            String format = reader.getFormatName().toUpperCase(Locale.ROOT);
            // the JPEG decoder reports truncated or damaged data as warnings and fills in grey
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int width = 0;
            int height = 0;
            try {
                reader.setInput(in, true, true);
                width = reader.getWidth(0);
                height = reader.getHeight(0);
                if (width <= 0 || height <= 0) {
                    throw new InputException(file + ": " + format + " image of " + width + "x" + height + " pixels");
                }
                if ((long) width * height > MAX_PIXELS) {
                    throw new InputException(String.format(Locale.ROOT, "%s: %s image of %dx%d pixels, more than the %,d a digit may have",
                            file, format, width, height, MAX_PIXELS));
                }
                if (format.equals("JPEG") && bytes.length < DecodeMemory.leastJpegBytes(width, height)) {
                    throw new InputException(String.format(Locale.ROOT, "%s: corrupt JPEG image: its header says %dx%d "
                                    + "pixels, which take at least %,d bytes, and the file has %,d", file, width, height,
                            DecodeMemory.leastJpegBytes(width, height), bytes.length));
                }
                DecodeMemory.requireHeapFor(file, format, width, height, DecodeMemory.bytesPerPixel(reader));
                BufferedImage image = reader.read(0);
                if (!warnings.isEmpty()) {
                    throw new InputException(file + ": corrupt " + format + " image: " + warnings.get(0));
                }
                return image;
            } catch (IOException | RuntimeException e) {
                if (e instanceof InputException ie) {
                    throw ie;
                }
                if (DecodeMemory.ranOut(e)) {
                    throw new InputException(file + ": " + DecodeMemory.outOfMemory(width, height), e);
                }
                throw new InputException(file + ": corrupt " + format + " image: " + describe(e), e);
            } catch (OutOfMemoryError e) {
                throw new InputException(file + ": " + DecodeMemory.outOfMemory(width, height));
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new InputException(file + ": cannot read: " + IoReasons.reason(e), e);
        }
    }

    /**
     * The first reader that recognises the bytes by their signature, or null. WBMP has no signature, so its
     * reader takes almost any bytes for an image; it is never used.
     */
    private static ImageReader readerWithSignature(ImageInputStream in) {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        while (readers.hasNext()) {
            ImageReader reader = readers.next();
            try {
                if (!reader.getFormatName().equalsIgnoreCase("wbmp")) {
                    return reader;
                }
            } catch (IOException e) {
                // a reader that cannot name its format is not used
            }
            reader.dispose();
        }
        return null;
    }

    /**
     * A decoder's exception and its causes in words ("Error reading PNG image data (unexpected end of file)"),
     * never empty: a cause without a message is named by its class.
     */
    private static String describe(Throwable e) {
        String text = e instanceof IOException io ? IoReasons.reason(io) : message(e);
        for (Throwable cause = e.getCause(); cause != null && cause != e; e = cause, cause = cause.getCause()) {
            String more = cause instanceof IOException io ? IoReasons.reason(io) : message(cause);
            if (!text.contains(more)) {
                text = text.isBlank() ? more : text.strip().replaceFirst(":$", "") + " (" + more + ")";
            }
        }
        return text;
    }

    private static String message(Throwable e) {
        return e.getMessage() != null && !e.getMessage().isBlank() ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Prepares a decoded image (see the class comment); a picture without a digit is an {@link InputException}. */
    public static Prepared prepare(BufferedImage image) {
        return prepare(gray(image), image.getWidth(), image.getHeight());
    }

    /**
     * The image's luminance, 0..255, row-major. A gray image's samples are taken as stored (getRGB would
     * convert a linear gray colour space to sRGB and so change them); anything else goes through sRGB.
     * Transparent pixels are composited over black when the opaque ones are light on average, else over white.
     */
    public static float[] gray(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        float[] lum = new float[w * h];
        float[] alpha = null;
        Raster raster = image.getRaster();
        if (image.getColorModel() instanceof ComponentColorModel cm
                && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && raster.getNumBands() == (cm.hasAlpha() ? 2 : 1)) {
            float grayMax = (1L << cm.getComponentSize(0)) - 1;
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    lum[y * w + x] = row[x] * 255f / grayMax;
                }
            }
            if (cm.hasAlpha()) {
                float alphaMax = (1L << cm.getComponentSize(1)) - 1;
                alpha = new float[w * h];
                for (int y = 0; y < h; y++) {
                    raster.getSamples(0, y, w, 1, 1, row);
                    for (int x = 0; x < w; x++) {
                        alpha[y * w + x] = row[x] / alphaMax;
                    }
                }
            }
        } else {
            boolean hasAlpha = image.getColorModel().hasAlpha();
            if (hasAlpha) {
                alpha = new float[w * h];
            }
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x];
                    lum[y * w + x] = (float) (0.299 * ((argb >> 16) & 0xff) + 0.587 * ((argb >> 8) & 0xff) + 0.114 * (argb & 0xff));
                    if (hasAlpha) {
                        alpha[y * w + x] = (argb >>> 24) / 255f;
                    }
                }
            }
        }
        if (alpha != null) {
            composite(lum, alpha);
        }
        return lum;
    }

    private static void composite(float[] lum, float[] alpha) {
        double weighted = 0;
        double weight = 0;
        boolean transparent = false;
        for (int i = 0; i < lum.length; i++) {
            weighted += alpha[i] * lum[i];
            weight += alpha[i];
            transparent |= alpha[i] < 1f;
        }
        if (!transparent) {
            return;
        }
        float background = weight > 0 && weighted / weight > 127.5 ? 0f : 255f;
        for (int i = 0; i < lum.length; i++) {
            lum[i] = alpha[i] * lum[i] + (1 - alpha[i]) * background;
        }
    }

    /** Prepares a luminance image, width x height, 0..255 (see the class comment). */
    public static Prepared prepare(float[] lum, int width, int height) {
        if (lum.length != width * height || width <= 0 || height <= 0) {
            throw new IllegalArgumentException("luminance has " + lum.length + " values, not " + width + "x" + height);
        }
        float[] v = lum.clone();
        float background = borderMedian(v, width, height);
        double mean = 0;
        for (float p : v) {
            mean += p;
        }
        mean /= v.length;
        boolean inverted = background > mean;
        if (inverted) {
            for (int i = 0; i < v.length; i++) {
                v[i] = 255f - v[i];
            }
            background = 255f - background;
        }
        if (!inverted && width == SIZE && height == SIZE && background <= DARK_BACKGROUND && looksLikeMnist(v)) {
            byte[] out = new byte[SIZE * SIZE];
            for (int i = 0; i < out.length; i++) {
                out[i] = (byte) Math.round(Math.min(Math.max(v[i], 0f), 255f));
            }
            return new Prepared(out, width, height, false, true);
        }

        float max = 0;
        for (float p : v) {
            max = Math.max(max, p);
        }
        if (max - background < MIN_CONTRAST) {
            throw new InputException(String.format(Locale.ROOT,
                    "no digit found: the image is almost uniform (background %.0f, %s ink %.0f)",
                    inverted ? 255 - background : background, inverted ? "darkest" : "brightest", inverted ? 255 - max : max));
        }
        float scale = 255f / (max - background);
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.min(Math.max((v[i] - background) * scale, 0f), 255f);
        }

        int[] box = inkBox(v, width, height, INK_THRESHOLD);
        int bw = box[2] - box[0] + 1;
        int bh = box[3] - box[1] + 1;
        double fit = (double) BOX / Math.max(bw, bh);
        int ow = Math.max(1, Math.min(BOX, (int) Math.round(bw * fit)));
        int oh = Math.max(1, Math.min(BOX, (int) Math.round(bh * fit)));
        float[] digit = resample(v, width, box[0], box[1], bw, bh, ow, oh);
        float digitMax = 0;
        for (float p : digit) {
            digitMax = Math.max(digitMax, p);
        }
        float gain = digitMax > 0 ? 255f / digitMax : 0f;

        int[] small = new int[ow * oh];
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int p = Math.round(Math.min(digit[y * ow + x] * gain, 255f));
                small[y * ow + x] = p;
                mass += p;
                mx += (double) p * x;
                my += (double) p * y;
            }
        }
        int left = place(mass > 0 ? mx / mass : (ow - 1) / 2.0, ow);
        int top = place(mass > 0 ? my / mass : (oh - 1) / 2.0, oh);
        byte[] out = new byte[SIZE * SIZE];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                out[(top + y) * SIZE + left + x] = (byte) small[y * ow + x];
            }
        }
        return new Prepared(out, width, height, inverted, false);
    }

    /** Where a side of {@code length} with its centre of mass at {@code centre} starts, so that centre lands on 14. */
    private static int place(double centre, int length) {
        int start = (int) Math.round(SIZE / 2.0 - centre);
        return Math.min(Math.max(start, 0), SIZE - length);
    }

    /** The median of the pixels on the image's outer ring: its background. */
    static float borderMedian(float[] v, int width, int height) {
        float[] ring = new float[width == 1 || height == 1 ? width * height : 2 * (width + height) - 4];
        int n = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (y == 0 || y == height - 1 || x == 0 || x == width - 1) {
                    ring[n++] = v[y * width + x];
                }
            }
        }
        Arrays.sort(ring, 0, n);
        return n % 2 == 1 ? ring[n / 2] : (ring[n / 2 - 1] + ring[n / 2]) / 2;
    }

    /**
     * Ink (above {@link #FAINT_INK}) filling a 20x20 box (its longer side 18 to 20 pixels) and centred by mass
     * within a pixel of (14, 14), as every MNIST image is (their longer side is 19 or 20).
     */
    private static boolean looksLikeMnist(float[] v) {
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                float p = v[y * SIZE + x];
                mass += p;
                mx += p * x;
                my += p * y;
            }
        }
        int[] box = inkBox(v, SIZE, SIZE, FAINT_INK);
        if (box == null) {
            return false;
        }
        int longer = Math.max(box[2] - box[0], box[3] - box[1]) + 1;
        return longer >= BOX - 2 && longer <= BOX
                && Math.abs(mx / mass - SIZE / 2.0) <= 1 && Math.abs(my / mass - SIZE / 2.0) <= 1;
    }

    /** {x0, y0, x1, y1} (inclusive) of the pixels above {@code threshold}, or null when there are none. */
    static int[] inkBox(float[] v, int width, int height, int threshold) {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (v[y * width + x] > threshold) {
                    x0 = Math.min(x0, x);
                    x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y);
                    y1 = Math.max(y1, y);
                }
            }
        }
        return x1 < 0 ? null : new int[] {x0, y0, x1, y1};
    }

    /**
     * The {@code bw x bh} region at ({@code bx}, {@code by}) of an image {@code stride} wide, resized to
     * {@code ow x oh} with Pillow's bilinear taps (a horizontal pass, then a vertical one), in float.
     */
    private static float[] resample(float[] v, int stride, int bx, int by, int bw, int bh, int ow, int oh) {
        Resize.Taps horizontal = Resize.taps(bw, ow);
        Resize.Taps vertical = Resize.taps(bh, oh);
        double one = 1 << Resize.PRECISION_BITS;
        float[] tmp = new float[bh * ow];
        for (int y = 0; y < bh; y++) {
            int row = (by + y) * stride + bx;
            for (int o = 0; o < ow; o++) {
                double acc = 0;
                for (int k = 0; k < horizontal.count()[o]; k++) {
                    acc += v[row + horizontal.first()[o] + k] * (horizontal.weight(o, k) / one);
                }
                tmp[y * ow + o] = (float) acc;
            }
        }
        float[] out = new float[ow * oh];
        for (int o = 0; o < oh; o++) {
            for (int x = 0; x < ow; x++) {
                double acc = 0;
                for (int k = 0; k < vertical.count()[o]; k++) {
                    acc += tmp[(vertical.first()[o] + k) * ow + x] * (vertical.weight(o, k) / one);
                }
                out[o * ow + x] = (float) Math.max(acc, 0);
            }
        }
        return out;
    }
}
