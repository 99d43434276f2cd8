package gpulenet.format.pth;

import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Small real files (torch.save of a 2x3 weight and a bias, in the zip and the legacy format, and a .pth written
 * here with optimizer state), cut at every byte and with thousands of random bit flips: each is read or refused
 * with one InputException, never another exception, a hang or a run out of memory.
 */
class PthFuzzTest {
    static final Path RESOURCES = Path.of("src/test/resources/pth");
    static final float[] WEIGHT = {1.5410f, -0.2934f, -2.1788f, 0.5684f, -1.0845f, -1.3986f};
    static final int FLIPS_PER_FILE = 1500;

    static List<byte[]> files() throws IOException {
        Map<String, Checkpoint.Stored> tensors = Map.of("fc.weight", new Checkpoint.Stored(new int[]{2, 3}, WEIGHT),
                Checkpoint.OPTIMIZER_PREFIX + "momentum.fc.weight", new Checkpoint.Stored(new int[]{2, 3}, WEIGHT));
        return List.of(Files.readAllBytes(RESOURCES.resolve("tiny-zip.pth")), Files.readAllBytes(RESOURCES.resolve("tiny-legacy.pth")),
                PthFile.toBytes(Checkpoint.of("w", tensors, Map.of("epoch", "1"), List.of())));
    }

    @Test
    void theTorchSavedFilesReadAsPyTorchWroteThem() throws IOException {
        for (String name : List.of("tiny-zip.pth", "tiny-legacy.pth")) {
            Checkpoint c = PthFile.parse(name, Files.readAllBytes(RESOURCES.resolve(name)));
            assertEquals(List.of("fc.weight", "fc.bias"), c.tensorNames());
            float[] w = c.tensors().get("fc.weight").data();
            for (int i = 0; i < WEIGHT.length; i++) {
                assertEquals(WEIGHT[i], w[i], 1e-4f, name);
            }
        }
    }

    @Test
    void aFileWrittenHereReadsBackWithItsOptimizerStateAndMetadata() throws IOException {
        Checkpoint c = PthFile.parse("w.pth", files().get(2));
        assertArrayEquals(WEIGHT, c.tensors().get("fc.weight").data());
        assertArrayEquals(WEIGHT, c.tensors().get(Checkpoint.OPTIMIZER_PREFIX + "momentum.fc.weight").data());
        assertEquals("1", c.metadata().get("epoch"));
    }

    @Test
    void everyTruncationIsOneInputException() throws IOException {
        for (byte[] file : files()) {
            for (int n = 0; n < file.length; n++) {
                byte[] cut = java.util.Arrays.copyOf(file, n);
                int length = n;
                InputException e = assertThrows(InputException.class, () -> PthFile.parse("cut.pth", cut), "cut at " + length);
                assertTrue(e.getMessage().startsWith("cut.pth") && !e.getMessage().contains("\n"), e.getMessage());
            }
        }
    }

    @Test
    void randomBitFlipsAreReadOrRefusedWithOneInputExceptionAndNothingElse() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            SplittableRandom random = new SplittableRandom(20);
            List<String> others = new ArrayList<>();
            int refused = 0;
            for (byte[] file : files()) {
                for (int i = 0; i < FLIPS_PER_FILE; i++) {
                    byte[] flipped = file.clone();
                    int flips = 1 + random.nextInt(3);
                    for (int f = 0; f < flips; f++) {
                        flipped[random.nextInt(flipped.length)] ^= (byte) (1 << random.nextInt(8));
                    }
                    try {
                        PthFile.parse("flipped.pth", flipped);
                    } catch (InputException e) {
                        refused++;
                        if (e.getMessage().contains("\n")) {
                            others.add("two lines: " + e.getMessage());
                        }
                    } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                        others.add(e.toString());
                    }
                }
            }
            if (!others.isEmpty()) {
                fail(others.size() + " flips escaped as something else than one InputException, e.g. " + others.get(0));
            }
            assertTrue(refused > FLIPS_PER_FILE, "most flips are refused: " + refused);
        });
    }
}
