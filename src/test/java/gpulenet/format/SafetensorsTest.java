package gpulenet.format;

import gpulenet.SpecialFiles;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {

    @Test
    void readsThePyTorchReferenceFile() throws Exception {
        Path golden = Path.of(getClass().getResource("/golden/lenet5_step.safetensors").toURI());
        Safetensors st = Safetensors.read(golden);
        assertArrayEquals(new int[]{6, 1, 5, 5}, st.shape("param.conv1.weight"));
        assertEquals(8, st.longs("labels", 8).length);
        float[] loss = st.floats("loss", 1);
        assertTrue(loss[0] > 1.5f && loss[0] < 3.5f, "initial loss near ln(10), was " + loss[0]);
        assertEquals("0.9", st.metadata().get("momentum"));
    }

    @Test
    void roundTripsTensorsAndMetadata(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.safetensors");
        float[] w = {1.5f, -2f, 3.25f, Float.MIN_VALUE, -0f, 7f};
        new Safetensors.Writer().add("w", new int[]{2, 3}, w).add("ids", new int[]{2}, new long[]{5, -9})
                .metadata("epoch", "3").writeAtomically(file);
        Safetensors st = Safetensors.read(file);
        assertArrayEquals(w, st.floats("w", 2, 3));
        assertArrayEquals(new long[]{5, -9}, st.longs("ids"));
        assertEquals("3", st.metadata().get("epoch"));
        long headerLen = java.nio.ByteBuffer.wrap(Files.readAllBytes(file)).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to a multiple of 8");
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void rejectsTruncatedAndCorruptFiles(@TempDir Path dir) throws Exception {
        byte[] good = new Safetensors.Writer().add("w", new int[]{4}, new float[4]).toBytes();
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(good, good.length - 3));
        InputException e = assertThrows(InputException.class, () -> Safetensors.read(cut));
        assertTrue(e.getMessage().startsWith(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Path junk = dir.resolve("junk.safetensors");
        Files.write(junk, "definitely not a checkpoint".getBytes());
        e = assertThrows(InputException.class, () -> Safetensors.read(junk));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());

        Safetensors st = Safetensors.parse("x", good);
        e = assertThrows(InputException.class, () -> st.floats("w", 2, 2));
        assertTrue(e.getMessage().contains("expected [2, 2]"), e.getMessage());
        assertThrows(InputException.class, () -> Safetensors.read(dir.resolve("absent.safetensors")));
    }

    @Test
    void rejectsAFileTooLargeForACheckpointWithoutReadingIt(@TempDir Path dir) throws Exception {
        Path big = dir.resolve("big.bin");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: costs no disk
        }
        assertOneLineError(big, big + ": 3221225472 bytes, too large for a checkpoint (at most 536870912 bytes are read)");
    }

    @Test
    void rejectsADeviceWithoutReadingIt() {
        assertOneLineError(SpecialFiles.ZERO_DEVICE, "/dev/zero: not a regular file: a character device");
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void rejectsAFifoWithoutOpeningIt(@TempDir Path dir) {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.safetensors"));
        assertOneLineError(fifo, fifo + ": not a regular file: a FIFO");
    }

    @Test
    void rejectsAHeaderLengthBeyondTheFile(@TempDir Path dir) throws Exception {
        byte[] bytes = new byte[100];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Path file = Files.write(dir.resolve("long-header.safetensors"), bytes);
        assertOneLineError(file, "header length 1000 does not fit in 100 bytes");
    }

    /** Two tensors sharing bytes plus a gap of the same size elsewhere cover the data section's length. */
    @Test
    void rejectsOverlappingByteRanges(@TempDir Path dir) throws Exception {
        Path file = raw(dir, "{\"a\":" + f32x4(0, 16) + ",\"b\":" + f32x4(8, 24) + "}", 32);
        assertOneLineError(file, "corrupt: tensors a [0, 16) and b [8, 24) overlap");
    }

    @Test
    void rejectsBytesThatBelongToNoTensor(@TempDir Path dir) throws Exception {
        Path file = raw(dir, "{\"a\":" + f32x4(0, 16) + ",\"b\":" + f32x4(24, 40) + "}", 40);
        assertOneLineError(file, "corrupt: bytes [16, 24) of the data section belong to no tensor");
    }

    /** A plain JSON parser keeps the last "a", which reads b's bytes, and the sizes still add up. */
    @Test
    void rejectsADuplicateTensorKey(@TempDir Path dir) throws Exception {
        Path file = raw(dir, "{\"a\":" + f32x4(0, 16) + ",\"b\":" + f32x4(16, 32) + ",\"a\":" + f32x4(16, 32) + "}", 32);
        assertOneLineError(file, "corrupt safetensors header: duplicate key \"a\"");
    }

    @Test
    void rejectsADuplicateMetadataKey(@TempDir Path dir) throws Exception {
        Path file = raw(dir, "{\"__metadata__\":{\"epoch\":\"1\",\"epoch\":\"8\"},\"a\":" + f32x4(0, 16) + "}", 16);
        assertOneLineError(file, "corrupt safetensors header: duplicate key \"epoch\" in __metadata__");
    }

    @Test
    void rejectsDimensionsWhoseByteCountOverflows(@TempDir Path dir) throws Exception {
        // 2^30 * 2^30 * 4 elements of 4 bytes is 2^64 bytes, which wraps around a long to 0.
        Path file = raw(dir, "{\"a\":" + f32x4(0, 16) + ",\"huge\":{\"dtype\":\"F32\",\"shape\":[1073741824,1073741824,4],"
                + "\"data_offsets\":[16,16]}}", 16);
        assertOneLineError(file, "corrupt safetensors header entry for huge");
    }

    @Test
    void aValidHandWrittenHeaderLoads(@TempDir Path dir) throws Exception {
        Path file = raw(dir, "{\"b\":" + f32x4(16, 32) + ",\"__metadata__\":{\"k\":\"v\"},\"a\":" + f32x4(0, 16) + "}  ", 32);
        Safetensors st = Safetensors.read(file);
        assertEquals(Set.of("a", "b"), st.names());
        assertEquals("v", st.metadata().get("k"));
        assertArrayEquals(new float[] {4, 5, 6, 7}, st.floats("b", 4));
    }

    private static String f32x4(long begin, long end) {
        return "{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + begin + "," + end + "]}";
    }

    /** A file with {@code header} as its JSON and a data section of float32 0, 1, 2, ... */
    private static Path raw(Path dir, String header, int dataBytes) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        for (int i = 0; i < dataBytes / 4; i++) {
            b.putFloat(i);
        }
        return Files.write(dir.resolve("hand-written.safetensors"), b.array());
    }

    private static void assertOneLineError(Path file, String expected) {
        InputException e = assertThrows(InputException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
