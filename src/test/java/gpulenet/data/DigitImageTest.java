package gpulenet.data;

import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Digits drawn with java.awt strokes, in every polarity, place, size and colour, made MNIST-like. */
public class DigitImageTest {
    @TempDir
    Path dir;

    /** A "7" (a bar and a slanted stem) as a path in a 60 x 100 box, for drawing at any scale and place. */
    public static Path2D seven() {
        Path2D p = new Path2D.Double();
        p.moveTo(5, 8);
        p.lineTo(55, 8);
        p.lineTo(25, 95);
        return p;
    }

    /** A "1", 60 x 100. */
    public static Path2D one() {
        Path2D p = new Path2D.Double();
        p.moveTo(18, 25);
        p.lineTo(32, 6);
        p.lineTo(32, 95);
        return p;
    }

    /** A "0", 60 x 100. */
    public static Path2D zero() {
        return new Path2D.Double(new java.awt.geom.Ellipse2D.Double(8, 6, 44, 88));
    }

    /**
     * {@code shape} (60 x 100 units) scaled by {@code scale} at ({@code x}, {@code y}) in a width x height
     * image of {@code type}, ink on background, with anti-aliased round strokes 12 units wide.
     */
    public static BufferedImage draw(Path2D shape, int width, int height, int type, Color background, Color ink,
                              double x, double y, double scale) {
        BufferedImage image = new BufferedImage(width, height, type);
        Graphics2D g = image.createGraphics();
        g.setComposite(java.awt.AlphaComposite.Src);
        g.setColor(background);
        g.fillRect(0, 0, width, height);
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setColor(ink);
        AffineTransform at = new AffineTransform();
        at.translate(x, y);
        at.scale(scale, scale);
        g.setStroke(new BasicStroke((float) (12 * scale), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.draw(at.createTransformedShape(shape));
        g.dispose();
        return image;
    }

    static BufferedImage darkOnWhite(Path2D shape) {
        return draw(shape, 120, 160, BufferedImage.TYPE_INT_RGB, Color.WHITE, Color.BLACK, 30, 30, 1);
    }

    /** Centre of mass of a 28x28 result, pixel-index coordinates: {x, y}. */
    static double[] centreOfMass(DigitImage.Prepared d) {
        double m = 0, mx = 0, my = 0;
        for (int y = 0; y < DigitImage.SIZE; y++) {
            for (int x = 0; x < DigitImage.SIZE; x++) {
                m += d.pixel(x, y);
                mx += d.pixel(x, y) * x;
                my += d.pixel(x, y) * y;
            }
        }
        return new double[] {mx / m, my / m};
    }

    /** {x0, y0, x1, y1} of the nonzero pixels. */
    static int[] box(DigitImage.Prepared d) {
        int x0 = 99, y0 = 99, x1 = -1, y1 = -1;
        for (int y = 0; y < DigitImage.SIZE; y++) {
            for (int x = 0; x < DigitImage.SIZE; x++) {
                if (d.pixel(x, y) > 0) {
                    x0 = Math.min(x0, x);
                    x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y);
                    y1 = Math.max(y1, y);
                }
            }
        }
        return new int[] {x0, y0, x1, y1};
    }

    /** Centred by mass, fitted to the 20x20 box (its longer side filling it), light ink peaking at 255 on black. */
    static void assertMnistLike(DigitImage.Prepared d, String what) {
        double[] c = centreOfMass(d);
        assertEquals(14.0, c[0], 1.0, what + ": centre of mass x");
        assertEquals(14.0, c[1], 1.0, what + ": centre of mass y");
        int[] b = box(d);
        int w = b[2] - b[0] + 1, h = b[3] - b[1] + 1;
        assertTrue(w <= DigitImage.BOX && h <= DigitImage.BOX, what + ": ink box " + w + "x" + h + " fits 20x20");
        assertTrue(Math.max(w, h) >= DigitImage.BOX - 1, what + ": ink box " + w + "x" + h + " fills 20 on its longer side");
        int max = 0;
        for (byte p : d.pixels()) {
            max = Math.max(max, p & 0xff);
        }
        assertEquals(255, max, what + ": brightest ink");
        assertEquals(0, d.pixel(0, 0), what + ": background black");
        assertEquals(0, d.pixel(27, 27), what + ": background black");
    }

    @Test
    void darkOnLightIsDetectedInvertedCentredAndFitted() {
        for (Path2D shape : new Path2D[] {seven(), one(), zero()}) {
            DigitImage.Prepared d = DigitImage.prepare(darkOnWhite(shape));
            assertTrue(d.inverted(), "black on white is inverted");
            assertFalse(d.asIs());
            assertMnistLike(d, "dark on white");
        }
    }

    @Test
    void lightOnDarkIsNotInvertedAndGivesTheSameDigit() {
        DigitImage.Prepared dark = DigitImage.prepare(darkOnWhite(seven()));
        DigitImage.Prepared light = DigitImage.prepare(draw(seven(), 120, 160, BufferedImage.TYPE_INT_RGB, Color.BLACK,
                Color.WHITE, 30, 30, 1));
        assertFalse(light.inverted());
        assertMnistLike(light, "white on black");
        assertArrayEquals(dark.pixels(), light.pixels(), "the same digit whichever way round it is drawn");
    }

    @Test
    void anOffCentreDigitIsMovedToTheCentre() {
        BufferedImage corner = draw(seven(), 300, 260, BufferedImage.TYPE_INT_RGB, Color.WHITE, Color.BLACK, 3, 140, 1);
        DigitImage.Prepared d = DigitImage.prepare(corner);
        assertMnistLike(d, "off centre");
        assertArrayEquals(DigitImage.prepare(darkOnWhite(seven())).pixels(), d.pixels(),
                "the same digit, moved by whole pixels, gives the same result");
    }

    @Test
    void aLargeColouredPictureIsFittedTo20x20() {
        // A blue 7 on a yellow page, 400x300: luminance 44 on 230.
        BufferedImage big = draw(seven(), 400, 300, BufferedImage.TYPE_3BYTE_BGR, new Color(250, 230, 80),
                new Color(30, 30, 160), 120, 20, 2.6);
        DigitImage.Prepared d = DigitImage.prepare(big);
        assertTrue(d.inverted(), "dark blue on yellow is dark on light");
        assertEquals(400, d.width());
        assertEquals(300, d.height());
        assertMnistLike(d, "400x300 colour");
        int[] b = box(d);
        assertTrue(b[3] - b[1] + 1 >= 19 && b[2] - b[0] + 1 < 19, "a 7 is taller than wide: " + Arrays.toString(b));
    }

    @Test
    void aTinyDigitIsScaledUpAndABigOneIn28x28IsScaledDown() {
        DigitImage.Prepared tiny = DigitImage.prepare(draw(one(), 28, 28, BufferedImage.TYPE_BYTE_GRAY, Color.BLACK,
                Color.WHITE, 10, 8, 0.12));
        assertFalse(tiny.asIs(), "a 12-pixel digit is not MNIST-like");
        assertMnistLike(tiny, "tiny");
        DigitImage.Prepared big = DigitImage.prepare(draw(zero(), 28, 28, BufferedImage.TYPE_BYTE_GRAY, Color.BLACK,
                Color.WHITE, 1, 0, 0.27));
        assertFalse(big.asIs(), "ink beyond 20x20 is not MNIST-like");
        assertMnistLike(big, "big in 28x28");
    }

    @Test
    void transparentBackgroundIsCompositedAgainstTheInk() {
        DigitImage.Prepared black = DigitImage.prepare(draw(seven(), 120, 160, BufferedImage.TYPE_INT_ARGB,
                new Color(0, 0, 0, 0), Color.BLACK, 30, 30, 1));
        assertTrue(black.inverted(), "black ink on transparent: composited over white");
        assertMnistLike(black, "black on transparent");
        DigitImage.Prepared white = DigitImage.prepare(draw(seven(), 120, 160, BufferedImage.TYPE_INT_ARGB,
                new Color(255, 255, 255, 0), Color.WHITE, 30, 30, 1));
        assertFalse(white.inverted(), "white ink on transparent: composited over black");
        assertArrayEquals(black.pixels(), white.pixels());
    }

    /** Every MNIST test image reaches the network unchanged; the first 50 also through a PNG file. */
    @Test
    void mnistImagesPassThroughUnchanged() throws Exception {
        Dataset test = DataSets.embeddedTest();
        for (int i = 0; i < test.count(); i++) {
            byte[] expected = Arrays.copyOfRange(test.images(), i * 784, (i + 1) * 784);
            DigitImage.Prepared d = DigitImage.prepare(mnistImage(test, i));
            assertTrue(d.asIs(), "MNIST test image " + i + " is MNIST-like");
            assertFalse(d.inverted());
            if (!Arrays.equals(expected, d.pixels())) {
                assertArrayEquals(expected, d.pixels(), "MNIST test image " + i);
            }
            if (i < 50) {
                Path png = dir.resolve(i + ".png");
                ImageIO.write(mnistImage(test, i), "png", png.toFile());
                assertArrayEquals(expected, DigitImage.read(png).pixels(), "MNIST test image " + i + " as PNG");
            }
        }
    }

    /** Image {@code i} of a data set as an 8-bit gray BufferedImage. */
    public static BufferedImage mnistImage(Dataset d, int i) {
        BufferedImage image = new BufferedImage(d.cols(), d.rows(), BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = image.getRaster();
        for (int y = 0; y < d.rows(); y++) {
            for (int x = 0; x < d.cols(); x++) {
                r.setSample(x, y, 0, d.images()[i * d.imageSize() + y * d.cols() + x] & 0xff);
            }
        }
        return image;
    }

    @Test
    void everyFormatReadsAsThePngDoes() throws Exception {
        BufferedImage rgb = darkOnWhite(seven());
        Path png = dir.resolve("seven.png");
        ImageIO.write(rgb, "png", png.toFile());
        byte[] expected = DigitImage.read(png).pixels();
        assertArrayEquals(DigitImage.prepare(rgb).pixels(), expected);

        BufferedImage gray16 = draw(seven(), 120, 160, BufferedImage.TYPE_USHORT_GRAY, Color.WHITE, Color.BLACK, 30, 30, 1);
        Path png16 = dir.resolve("seven16.PNG");
        ImageIO.write(gray16, "png", png16.toFile());
        assertMaxDifference(expected, DigitImage.read(png16).pixels(), 3, "16-bit gray PNG");

        for (String format : new String[] {"bmp", "gif", "jpeg"}) {
            Path file = dir.resolve("seven." + format);
            assertTrue(ImageIO.write(rgb, format, file.toFile()), format);
            DigitImage.Prepared d = DigitImage.read(file);
            assertTrue(d.inverted(), format);
            assertMnistLike(d, format);
            assertMaxDifference(expected, d.pixels(), format.equals("jpeg") ? 40 : 3, format);
        }
    }

    private static void assertMaxDifference(byte[] expected, byte[] actual, int limit, String what) {
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs((expected[i] & 0xff) - (actual[i] & 0xff)));
        }
        assertTrue(worst <= limit, what + ": a pixel differs by " + worst + " from the PNG's");
    }

    @Test
    void unusableFilesAreOneMessageNamingTheFile() throws Exception {
        Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
        Path empty = Files.createFile(dir.resolve("empty.png"));
        Path png = dir.resolve("seven.png");
        ImageIO.write(darkOnWhite(seven()), "png", png.toFile());
        byte[] bytes = Files.readAllBytes(png);
        Path cut = Files.write(dir.resolve("cut.png"), Arrays.copyOf(bytes, bytes.length / 2));
        Path blank = dir.resolve("blank.png");
        ImageIO.write(new BufferedImage(40, 40, BufferedImage.TYPE_BYTE_GRAY), "png", blank.toFile());

        assertEquals(text + ": not an image (no PNG, JPEG, BMP or GIF signature)", message(text));
        assertEquals(empty + ": empty file, not an image", message(empty));
        assertTrue(message(cut).startsWith(cut + ": corrupt PNG image: "), message(cut));
        assertTrue(message(blank).startsWith(blank + ": no digit found: the image is almost uniform"), message(blank));
        assertEquals(dir.resolve("absent.png") + ": no such file", message(dir.resolve("absent.png")));
        assertEquals(dir + ": not a regular file: a directory", message(dir));
        for (Path p : new Path[] {text, empty, cut, blank}) {
            assertFalse(message(p).contains("\n"), p.toString());
        }
    }

    private static String message(Path file) {
        InputException e = assertThrows(InputException.class, () -> DigitImage.read(file));
        assertNotNull(e.getMessage());
        return e.getMessage();
    }

    @Test
    void directoriesFindImagesByExtensionInAnyCase() {
        for (String name : new String[] {"a.png", "b.PNG", "c.jpg", "d.JPEG", "e.bmp", "f.Gif"}) {
            assertTrue(DigitImage.hasImageExtension(Path.of(name)), name);
        }
        for (String name : new String[] {"a.txt", "png", ".png", "a.png.bak", "a.tiff"}) {
            assertFalse(DigitImage.hasImageExtension(Path.of(name)), name);
        }
    }
}
