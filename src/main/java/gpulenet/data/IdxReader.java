package gpulenet.data;

import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Reads one IDX file of uint8 data, raw or gzip-compressed, and checks it completely: magic, dtype,
 * number of dimensions, positive dimensions, and a data length that matches them exactly. Every
 * problem is an {@link InputException} whose one-line message starts with the file's name.
 *
 * <p>IDX: a big-endian int32 magic (two zero bytes, the dtype byte, the number of dimensions), one
 * big-endian int32 per dimension, then the data, row-major.
 */
public final class IdxReader {
    public static final int LABELS_MAGIC = 0x00000801;
    public static final int IMAGES_MAGIC = 0x00000803;

    private static final int UINT8 = 0x08;
    private static final int BUFFER_BYTES = 1 << 16;
    // The largest Java array the JVMs in use allocate.
    private static final long MAX_DATA_BYTES = Integer.MAX_VALUE - 8;
    // Big enough for all of MNIST's training images, so real data sets are read in one go.
    private static final int FIRST_DATA_CHUNK = 64 << 20;

    /**
     * The contents of one IDX file.
     *
     * @param source the file's name as it appears in messages
     * @param dims   dimensions, outermost first (for images: count, rows, cols)
     * @param data   the uint8 data, row-major
     */
    public record IdxArray(String source, int[] dims, byte[] data) {
        public int dim(int i) {
            return dims[i];
        }
    }

    private IdxReader() {
    }

    /**
     * Reads {@code file}, which must hold {@code ndims} dimensions of uint8. A gzip file is recognised by its
     * magic bytes; a file whose name ends in {@code .gz} must be one. It must be a regular file, checked
     * before it is opened (a FIFO would block the open, a device would never end).
     */
    public static IdxArray read(Path file, int ndims) {
        String source = file.toString();
        InputFiles.requireRegularFile(file);
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, source, ndims);
        } catch (IOException e) {
            throw new InputException(source + ": cannot read: " + IoReasons.reason(e));
        }
    }

    /**
     * Reads an IDX stream named {@code source} (the name decides whether it must be gzip and appears in
     * messages). Does not close {@code in}.
     */
    public static IdxArray read(InputStream in, String source, int ndims) {
        BufferedInputStream buffered = new BufferedInputStream(in, BUFFER_BYTES);
        boolean gzip;
        try {
            gzip = startsWithGzipMagic(buffered);
        } catch (IOException e) {
            throw new InputException(source + ": cannot read: " + IoReasons.reason(e));
        }
        if (!gzip && source.endsWith(".gz")) {
            throw new InputException(source + ": not a gzip file (no gzip magic bytes 1f 8b)");
        }
        try {
            InputStream content = gzip
                    ? new BufferedInputStream(GzipCompressorInputStream.builder().setInputStream(buffered)
                            .setDecompressConcatenated(true).get(), BUFFER_BYTES)
                    : buffered;
            return readIdx(content, source, ndims);
        } catch (EOFException e) {
            // The decompressor's only way of saying that the stream stops before its end.
            throw new InputException(source + ": " + (gzip ? "truncated gzip stream" : "cannot read: " + IoReasons.reason(e)));
        } catch (IOException e) {
            throw new InputException(source + ": " + (gzip ? "corrupt gzip data: " : "cannot read: ") + IoReasons.reason(e));
        }
    }

    private static boolean startsWithGzipMagic(BufferedInputStream in) throws IOException {
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        return b0 == 0x1f && b1 == 0x8b;
    }

    private static IdxArray readIdx(InputStream in, String source, int ndims) throws IOException {
        int magic = ByteBuffer.wrap(readHeader(in, 4, source)).getInt();
        int expectedMagic = (UINT8 << 8) | ndims;
        if (magic >>> 16 != 0) {
            throw new InputException(String.format("%s: wrong magic 0x%08x, expected 0x%08x: not an IDX file",
                    source, magic, expectedMagic));
        }
        int dtype = (magic >>> 8) & 0xff;
        if (dtype != UINT8) {
            throw new InputException(String.format("%s: unsupported dtype 0x%02x, expected 0x08 (uint8)", source, dtype));
        }
        if ((magic & 0xff) != ndims) {
            throw new InputException(String.format("%s: wrong magic 0x%08x (%d dimensions), expected 0x%08x (%d dimensions)",
                    source, magic, magic & 0xff, expectedMagic, ndims));
        }

        ByteBuffer header = ByteBuffer.wrap(readHeader(in, 4 * ndims, source));
        int[] dims = new int[ndims];
        for (int i = 0; i < ndims; i++) {
            dims[i] = header.getInt();
            if (dims[i] <= 0) {
                throw new InputException(String.format("%s: dimension %d is %s, must be positive",
                        source, i, Integer.toUnsignedString(dims[i])));
            }
        }
        long length = 1;
        for (int d : dims) {
            length *= d;
            if (length > MAX_DATA_BYTES) {
                throw new InputException(source + ": dimensions " + shape(dims) + " too large for one array");
            }
        }

        byte[] data = readData(in, (int) length);
        if (data.length < length) {
            throw new InputException(String.format("%s: truncated: expected %d data bytes, found %d", source, length, data.length));
        }
        long trailing = in.transferTo(OutputStream.nullOutputStream());
        if (trailing > 0) {
            throw new InputException(String.format("%s: %d trailing bytes after the %d data bytes of a %s array",
                    source, trailing, length, shape(dims)));
        }
        return new IdxArray(source, dims, data);
    }

    /**
     * Reads up to {@code length} bytes. The array grows with the data actually present, so a header that
     * claims gigabytes in a small file fails as truncated instead of exhausting the heap.
     */
    private static byte[] readData(InputStream in, int length) throws IOException {
        byte[] data = new byte[Math.min(length, FIRST_DATA_CHUNK)];
        int found = in.readNBytes(data, 0, data.length);
        while (found == data.length && found < length) {
            data = Arrays.copyOf(data, (int) Math.min(length, 2L * data.length));
            found += in.readNBytes(data, found, data.length - found);
        }
        return found == data.length ? data : Arrays.copyOf(data, found);
    }

    private static byte[] readHeader(InputStream in, int bytes, String source) throws IOException {
        byte[] header = in.readNBytes(bytes);
        if (header.length < bytes) {
            throw new InputException(String.format("%s: truncated header: expected %d more bytes, found %d",
                    source, bytes, header.length));
        }
        return header;
    }

    private static String shape(int[] dims) {
        return Arrays.stream(dims).mapToObj(Integer::toString).collect(Collectors.joining("x"));
    }
}
