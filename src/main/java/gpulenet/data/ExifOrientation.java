package gpulenet.data;

import java.nio.charset.StandardCharsets;

/**
 * The Exif Orientation tag of a JPEG (how a camera or phone says the stored pixels must be turned to be
 * seen upright), and the turn itself. javax.imageio decodes the pixels as stored and ignores the tag, so a
 * phone photo of a digit would otherwise reach the network on its side.
 */
final class ExifOrientation {
    /** Stored upright: the tag's value 1, and the value of a file without the tag. */
    static final int UPRIGHT = 1;
    private static final int TAG = 0x0112;

    /** A luminance image, width x height, row-major. */
    record Image(float[] lum, int width, int height) {
    }

    private ExifOrientation() {
    }

    /**
     * The Orientation (1 to 8) in the JPEG's APP1 Exif segment, or {@link #UPRIGHT} for any other file or
     * a tag that cannot be read (the pixels are then used as stored).
     */
    static int of(byte[] jpeg) {
        if (jpeg.length < 4 || u8(jpeg, 0) != 0xFF || u8(jpeg, 1) != 0xD8) {
            return UPRIGHT;
        }
        int pos = 2;
        // the markers before the image data, each FF xx and a big-endian length that counts itself
        while (pos + 4 <= jpeg.length && u8(jpeg, pos) == 0xFF) {
            int marker = u8(jpeg, pos + 1);
            int length = (u8(jpeg, pos + 2) << 8) | u8(jpeg, pos + 3);
            if (marker == 0xDA || length < 2) {
                return UPRIGHT;
            }
            int start = pos + 4;
            int end = Math.min(jpeg.length, pos + 2 + length);
            if (marker == 0xE1 && end - start >= 6 && new String(jpeg, start, 6, StandardCharsets.ISO_8859_1)
                    .equals("Exif\0\0")) {
                return tiffOrientation(jpeg, start + 6, end);
            }
            pos += 2 + length;
        }
        return UPRIGHT;
    }

    /** The tag in IFD0 of the TIFF structure at [base, end). */
    private static int tiffOrientation(byte[] b, int base, int end) {
        if (end - base < 8) {
            return UPRIGHT;
        }
        boolean little = u8(b, base) == 'I' && u8(b, base + 1) == 'I';
        if (!little && !(u8(b, base) == 'M' && u8(b, base + 1) == 'M')) {
            return UPRIGHT;
        }
        long ifd = base + u32(b, base + 4, little);
        if (ifd + 2 > end) {
            return UPRIGHT;
        }
        int entries = u16(b, (int) ifd, little);
        for (int i = 0; i < entries; i++) {
            int entry = (int) ifd + 2 + 12 * i;
            if (entry + 12 > end) {
                return UPRIGHT;
            }
            if (u16(b, entry, little) == TAG) {
                int value = u16(b, entry + 8, little);
                return value >= 1 && value <= 8 ? value : UPRIGHT;
            }
        }
        return UPRIGHT;
    }

    /** The image turned upright as {@code orientation} says (transposed for 5 to 8, which swap the sides). */
    static Image apply(int orientation, float[] lum, int width, int height) {
        if (orientation == UPRIGHT) {
            return new Image(lum, width, height);
        }
        boolean swap = orientation >= 5;
        int w = swap ? height : width;
        int h = swap ? width : height;
        float[] out = new float[lum.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                // (sx, sy): the stored pixel shown at (x, y), per the Exif specification's table
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = width - 1 - x; sy = y; }
                    case 3 -> { sx = width - 1 - x; sy = height - 1 - y; }
                    case 4 -> { sx = x; sy = height - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = height - 1 - x; }
                    case 7 -> { sx = width - 1 - y; sy = height - 1 - x; }
                    default -> { sx = width - 1 - y; sy = x; }
                }
                out[y * w + x] = lum[sy * width + sx];
            }
        }
        return new Image(out, w, h);
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    private static int u16(byte[] b, int i, boolean little) {
        return little ? u8(b, i) | u8(b, i + 1) << 8 : u8(b, i) << 8 | u8(b, i + 1);
    }

    private static long u32(byte[] b, int i, boolean little) {
        return little ? (u16(b, i, true) | (long) u16(b, i + 2, true) << 16)
                : ((long) u16(b, i, false) << 16 | u16(b, i + 2, false));
    }
}
