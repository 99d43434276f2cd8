package gpulenet.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Builds IDX files byte by byte, so tests can write valid ones and break them on purpose. */
public final class IdxFiles {
    private IdxFiles() {
    }

    static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer out = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        out.putInt(magic);
        for (int d : dims) {
            out.putInt(d);
        }
        return out.put(data).array();
    }

    static byte[] images(int count, int rows, int cols, byte[] pixels) {
        return idx(IdxReader.IMAGES_MAGIC, new int[] {count, rows, cols}, pixels);
    }

    static byte[] labels(byte[] labels) {
        return idx(IdxReader.LABELS_MAGIC, new int[] {labels.length}, labels);
    }

    /** {@code n} bytes that differ from each other and from those of another seed. */
    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed * 7 + i / 256);
        }
        return b;
    }

    static byte[] classes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ((i + seed) % DataSetLoader.CLASSES);
        }
        return b;
    }

    static byte[] gzip(byte[] raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(raw);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Writes a small learnable 28x28 data set in MNIST's layout (four raw IDX files) to {@code dir}: each
     * image is noise plus a bright bar whose position is its class.
     */
    public static Path writeDataSet(Path dir, int trainCount, int testCount) {
        writeSplit(dir, DataSetLoader.TRAIN_IMAGES, DataSetLoader.TRAIN_LABELS, trainCount, 1);
        writeSplit(dir, DataSetLoader.TEST_IMAGES, DataSetLoader.TEST_LABELS, testCount, 2);
        return dir;
    }

    private static void writeSplit(Path dir, String imagesName, String labelsName, int count, int seed) {
        int side = 28;
        byte[] pixels = pattern(count * side * side, seed);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] &= 0x3f;
        }
        byte[] labels = classes(count, seed);
        for (int i = 0; i < count; i++) {
            int row = 2 + 2 * labels[i];
            for (int c = 4; c < 24; c++) {
                pixels[i * side * side + row * side + c] = (byte) 255;
            }
        }
        write(dir.resolve(imagesName), images(count, side, side, pixels));
        write(dir.resolve(labelsName), labels(labels));
    }

    static Path write(Path file, byte[] content) {
        try {
            return Files.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
