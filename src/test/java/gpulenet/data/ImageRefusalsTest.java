package gpulenet.data;

import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files a decoder reads with a warning or as something else are refused, not classified. */
class ImageRefusalsTest {
    @TempDir
    Path dir;

    private static byte[] jpeg(BufferedImage image) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(image, "jpeg", out));
        return out.toByteArray();
    }

    private static String refusal(Path file) {
        String message = assertThrows(InputException.class, () -> DigitImage.read(file)).getMessage();
        assertFalse(message.contains("\n"), message);
        return message;
    }

    @Test
    void truncatedOrDamagedJpegsAreCorruptNotGrey() throws Exception {
        byte[] whole = jpeg(DigitImageTest.darkOnWhite(DigitImageTest.seven()));
        DigitImage.read(Files.write(dir.resolve("whole.jpg"), whole));
        // 90% of a "7" decoded with grey fill-in and was classified as a 2
        Path cut = Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(whole, whole.length * 9 / 10));
        assertEquals(cut + ": corrupt JPEG image: Truncated File - Missing EOI marker", refusal(cut));
        byte[] damaged = whole.clone();
        Arrays.fill(damaged, whole.length / 2, whole.length / 2 + 40, (byte) 0x55);
        Path bad = Files.write(dir.resolve("bad.jpg"), damaged);
        assertTrue(refusal(bad).startsWith(bad + ": corrupt JPEG image: Corrupt JPEG data"), refusal(bad));
    }

    @Test
    void aJpegHeaderClaimingMorePixelsThanItsDataCanHoldIsRefusedBeforeDecoding() throws Exception {
        byte[] bytes = jpeg(DigitImageTest.darkOnWhite(DigitImageTest.seven()));
        int sof = 2;
        while (!((bytes[sof] & 0xff) == 0xFF && (bytes[sof + 1] & 0xff) == 0xC0)) {
            sof++;
        }
        ByteBuffer.wrap(bytes, sof + 5, 4).putShort((short) 6000).putShort((short) 6000);
        Path claims = Files.write(dir.resolve("claims.jpg"), bytes);
        assertEquals(String.format("%s: corrupt JPEG image: its header says 6000x6000 pixels, which take at least 70,312 "
                + "bytes, and the file has %,d", claims, bytes.length), refusal(claims));
    }

    @Test
    void bytesWithoutAnImageSignatureAreNotReadAsWbmp() throws Exception {
        // WBMP has no signature: its reader took these for a 104x111 picture, which had "no digit"
        Path text = Files.write(dir.resolve("notes.png"), "\0\0hello, this is not an image".getBytes());
        assertEquals(text + ": not an image (no PNG, JPEG, BMP or GIF signature)", refusal(text));
    }

    /** A JPEG with an APP1 Exif segment holding just an Orientation tag, big-endian. */
    private static byte[] withOrientation(byte[] jpeg, int orientation) {
        ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4);
        tiff.put((byte) 'M').put((byte) 'M').putShort((short) 42).putInt(8);
        tiff.putShort((short) 1).putShort((short) 0x0112).putShort((short) 3).putInt(1)
                .putShort((short) orientation).putShort((short) 0).putInt(0);
        byte[] exif = new byte[6 + tiff.capacity()];
        System.arraycopy("Exif\0\0".getBytes(), 0, exif, 0, 6);
        System.arraycopy(tiff.array(), 0, exif, 6, tiff.capacity());
        ByteBuffer out = ByteBuffer.allocate(jpeg.length + 4 + exif.length);
        out.put(jpeg, 0, 2).put((byte) 0xFF).put((byte) 0xE1).putShort((short) (2 + exif.length)).put(exif)
                .put(jpeg, 2, jpeg.length - 2);
        return out.array();
    }

    /** {@code image} turned a quarter clockwise. */
    private static BufferedImage clockwise(BufferedImage image) {
        BufferedImage out = new BufferedImage(image.getHeight(), image.getWidth(), image.getType());
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                out.setRGB(image.getHeight() - 1 - y, x, image.getRGB(x, y));
            }
        }
        return out;
    }

    @Test
    void aJpegIsTurnedUprightAsItsExifOrientationSays() throws Exception {
        BufferedImage upright = DigitImageTest.darkOnWhite(DigitImageTest.seven());
        byte[] expected = DigitImage.read(Files.write(dir.resolve("upright.jpg"), jpeg(upright))).pixels();
        // a phone stores the pixels as the sensor saw them: here turned a quarter clockwise, tagged 8 (turn back)
        BufferedImage stored = clockwise(upright);
        byte[] bytes = jpeg(stored);
        DigitImage.Prepared asStored = DigitImage.read(Files.write(dir.resolve("stored.jpg"), bytes));
        DigitImage.Prepared tagged = DigitImage.read(Files.write(dir.resolve("tagged.jpg"), withOrientation(bytes, 8)));
        assertEquals(120, tagged.width());
        assertEquals(160, tagged.height());
        assertTrue(maxDifference(expected, tagged.pixels()) <= 40, "tagged: " + maxDifference(expected, tagged.pixels()));
        assertTrue(maxDifference(expected, asStored.pixels()) > 200, "the tag matters");
    }

    private static int maxDifference(byte[] a, byte[] b) {
        int worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
        }
        return worst;
    }

    @Test
    void everyOrientationFollowsTheExifTable() {
        // stored 3 wide, 2 high: a b c / d e f
        float[] stored = {1, 2, 3, 4, 5, 6};
        float[][] shown = {
                {1, 2, 3, 4, 5, 6}, {3, 2, 1, 6, 5, 4}, {6, 5, 4, 3, 2, 1}, {4, 5, 6, 1, 2, 3},
                {1, 4, 2, 5, 3, 6}, {4, 1, 5, 2, 6, 3}, {6, 3, 5, 2, 4, 1}, {3, 6, 2, 5, 1, 4}};
        for (int orientation = 1; orientation <= 8; orientation++) {
            ExifOrientation.Image image = ExifOrientation.apply(orientation, stored, 3, 2);
            assertArrayEquals(shown[orientation - 1], image.lum(), "orientation " + orientation);
            assertEquals(orientation >= 5 ? 2 : 3, image.width());
        }
    }
}
