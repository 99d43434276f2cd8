package gpulenet.model;

import gpulenet.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
