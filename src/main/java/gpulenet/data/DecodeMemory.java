package gpulenet.data;

import gpulenet.io.InputException;

import java.awt.image.DataBuffer;
import java.awt.image.SampleModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;

/**
 * What decoding and preparing one picture takes, worked out from its header before the pixels are decoded,
 * so that a picture too large for the Java heap is refused on its own and the other files still get their
 * results: running out of memory halfway would end the whole run.
 */
final class DecodeMemory {
    private static final double MIB = 1024.0 * 1024;
    private static final double GIB = MIB * 1024;
    /** The luminance, its working copy and an alpha plane, in float (see DigitImage.gray and prepare). */
    private static final int WORKING_BYTES_PER_PIXEL = 3 * Float.BYTES;

    private DecodeMemory() {
    }

    /** Bytes per pixel of the image the reader will decode into (its first image type; 4 if it names none). */
    static long bytesPerPixel(ImageReader reader) throws IOException {
        Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
        if (!types.hasNext()) {
            return Integer.BYTES;
        }
        SampleModel sample = types.next().getSampleModel(1, 1);
        return Math.max(1, DataBuffer.getDataTypeSize(sample.getDataType()) / 8L * sample.getNumDataElements());
    }

    /** Refuses, naming the file and what would help, a picture whose decoding does not fit in the free heap. */
    static void requireHeapFor(Path file, String format, int width, int height, long bytesPerPixel) {
        long need = (long) width * height * (bytesPerPixel + WORKING_BYTES_PER_PIXEL);
        if (need <= free()) {
            return;
        }
        System.gc(); // what is in use counts garbage too: look again before refusing
        long free = free();
        if (need > free) {
            long inUse = Runtime.getRuntime().maxMemory() - free;
            throw new InputException(String.format(Locale.ROOT, "%s: decoding this %dx%d %s image needs about %d MiB of "
                            + "Java heap and %d MiB is free; give Java more memory (java -Xmx%dg -jar gpu-lenet.jar ...)",
                    file, width, height, format, Math.round(need / MIB), Math.round(free / MIB),
                    (long) Math.ceil((inUse + need) * 10 / 9 / GIB)));
        }
    }

    private static long free() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** The reason for a picture that ran out of memory anyway (the estimate is not exact). */
    static String outOfMemory(int width, int height) {
        long heap = Runtime.getRuntime().maxMemory();
        return String.format(Locale.ROOT, "out of memory decoding this %dx%d image (the Java heap is %d MiB); give Java "
                + "more memory (java -Xmx%dg -jar gpu-lenet.jar ...)", width, height, Math.round(heap / MIB),
                Math.max(2, 2 * (long) Math.ceil(heap / GIB)));
    }

    /** Whether a decoder's exception wraps running out of memory (the PNG decoder wraps every Throwable). */
    static boolean ranOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    /**
     * The fewest bytes a JPEG of {@code width x height} can have: every 8x8 block of its first component
     * codes at least its DC difference, a Huffman code of one bit or more, even in a progressive file.
     */
    static long leastJpegBytes(int width, int height) {
        long blocks = ((width + 7L) / 8) * ((height + 7L) / 8);
        return blocks / 8;
    }
}
