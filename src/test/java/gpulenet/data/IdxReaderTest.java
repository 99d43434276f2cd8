package gpulenet.data;

import gpulenet.SpecialFiles;
import gpulenet.data.IdxReader.IdxArray;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static gpulenet.data.IdxFiles.gzip;
import static gpulenet.data.IdxFiles.idx;
import static gpulenet.data.IdxFiles.images;
import static gpulenet.data.IdxFiles.pattern;
import static gpulenet.data.IdxFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdxReaderTest {
    @TempDir
    Path dir;

    private final byte[] pixels = pattern(3 * 5 * 7, 1);

    @Test
    void readsRawAndGzipToTheSameArray() {
        IdxArray raw = IdxReader.read(write(dir.resolve("a-idx3-ubyte"), images(3, 5, 7, pixels)), 3);
        IdxArray gz = IdxReader.read(write(dir.resolve("a-idx3-ubyte.gz"), gzip(images(3, 5, 7, pixels))), 3);
        for (IdxArray a : new IdxArray[] {raw, gz}) {
            assertArrayEquals(new int[] {3, 5, 7}, a.dims());
            assertArrayEquals(pixels, a.data());
        }
    }

    @Test
    void recognisesGzipByItsMagicBytesNotItsName() {
        IdxArray a = IdxReader.read(write(dir.resolve("compressed-anyway"), gzip(images(3, 5, 7, pixels))), 3);
        assertArrayEquals(pixels, a.data());
    }

    @Test
    void readsLabels() {
        byte[] labels = {0, 9, (byte) 255, 4};
        IdxArray a = IdxReader.read(write(dir.resolve("l"), IdxFiles.labels(labels)), 1);
        assertArrayEquals(new int[] {4}, a.dims());
        assertArrayEquals(labels, a.data());
    }

    @Test
    void rejectsGzSuffixOnAFileThatIsNotGzip() {
        Path file = write(dir.resolve("x-idx3-ubyte.gz"), images(3, 5, 7, pixels));
        assertError(file, 3, "x-idx3-ubyte.gz: not a gzip file");
    }

    @Test
    void rejectsTruncatedGzipAtEveryCut() {
        byte[] gz = gzip(images(3, 5, 7, pixels));
        // From 2 bytes on the gzip magic is there, so every shorter copy is a gzip stream that stops early.
        for (int length = 2; length < gz.length; length++) {
            Path file = write(dir.resolve("cut.gz"), Arrays.copyOf(gz, length));
            assertError(file, 3, "cut.gz: truncated gzip stream");
        }
    }

    @Test
    void rejectsCorruptGzipWithTheDecompressorsReason() {
        byte[] gz = gzip(images(3, 5, 7, pixels));
        gz[gz.length - 8] ^= 1;
        Path file = write(dir.resolve("crc.gz"), gz);
        assertError(file, 3, "crc.gz: corrupt gzip data: ");
        InputException e = assertThrows(InputException.class, () -> IdxReader.read(file, 3));
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void rejectsAFifoWithoutOpeningIt() {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe-idx3-ubyte"));
        assertError(fifo, 3, "pipe-idx3-ubyte: not a regular file: a FIFO");
    }

    @Test
    void rejectsDevicesAndDirectories() {
        assertError(SpecialFiles.ZERO_DEVICE, 3, "/dev/zero: not a regular file: a character device");
        assertError(dir, 3, dir + ": not a regular file: a directory");
    }

    @Test
    void rejectsWrongMagic() {
        Path file = write(dir.resolve("photo.png"), idx(0x89504e47, new int[] {3, 5, 7}, pixels));
        assertError(file, 3, "photo.png: wrong magic 0x89504e47, expected 0x00000803");
    }

    @Test
    void rejectsLabelsWhereImagesAreExpected() {
        Path file = write(dir.resolve("labels"), IdxFiles.labels(new byte[] {1, 2, 3}));
        assertError(file, 3, "labels: wrong magic 0x00000801 (1 dimensions), expected 0x00000803 (3 dimensions)");
    }

    @Test
    void rejectsDtypeOtherThanUint8() {
        Path file = write(dir.resolve("floats"), idx(0x00000d03, new int[] {3, 5, 7}, pixels));
        assertError(file, 3, "floats: unsupported dtype 0x0d, expected 0x08 (uint8)");
    }

    @Test
    void rejectsDimensionThatIsNotPositive() {
        Path file = write(dir.resolve("empty"), images(3, 0, 7, new byte[0]));
        assertError(file, 3, "empty: dimension 1 is 0, must be positive");
        Path negative = write(dir.resolve("negative"), images(-1, 5, 7, new byte[0]));
        assertError(negative, 3, "negative: dimension 0 is 4294967295, must be positive");
    }

    @Test
    void rejectsDimensionsTooLargeForAnArray() {
        Path file = write(dir.resolve("huge"), images(70000, 1000, 1000, new byte[0]));
        assertError(file, 3, "huge: dimensions 70000x1000x1000 too large for one array");
    }

    @Test
    void rejectsTruncatedHeader() {
        byte[] whole = images(3, 5, 7, pixels);
        Path file = write(dir.resolve("short"), Arrays.copyOf(whole, 10));
        assertError(file, 3, "short: truncated header: expected 12 more bytes, found 6");
    }

    @Test
    void rejectsTruncatedData() {
        byte[] whole = images(3, 5, 7, pixels);
        Path raw = write(dir.resolve("t-idx3-ubyte"), Arrays.copyOf(whole, whole.length - 1));
        assertError(raw, 3, "t-idx3-ubyte: truncated: expected 105 data bytes, found 104");
        Path gz = write(dir.resolve("t-idx3-ubyte.gz"), gzip(Arrays.copyOf(whole, 16 + 40)));
        assertError(gz, 3, "t-idx3-ubyte.gz: truncated: expected 105 data bytes, found 40");
    }

    @Test
    void rejectsHeaderClaimingFarMoreDataThanTheFileHolds() {
        Path file = write(dir.resolve("liar.gz"), gzip(images(60000, 200, 100, pixels)));
        assertError(file, 3, "liar.gz: truncated: expected 1200000000 data bytes, found 105");
    }

    @Test
    void rejectsTrailingBytes() {
        byte[] whole = images(3, 5, 7, pixels);
        Path raw = write(dir.resolve("long"), Arrays.copyOf(whole, whole.length + 3));
        assertError(raw, 3, "long: 3 trailing bytes after the 105 data bytes of a 3x5x7 array");
        Path gz = write(dir.resolve("long.gz"), gzip(Arrays.copyOf(whole, whole.length + 1)));
        assertError(gz, 3, "long.gz: 1 trailing bytes after the 105 data bytes");
    }

    @Test
    void rejectsMissingFile() {
        assertError(dir.resolve("absent.gz"), 3, "absent.gz: no such file");
    }

    private static void assertError(Path file, int ndims, String expected) {
        InputException e = assertThrows(InputException.class, () -> IdxReader.read(file, ndims));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message was: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
