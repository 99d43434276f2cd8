package gpulenet.cli;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DigitImageTest;
import gpulenet.format.Checkpoint;
import gpulenet.model.Parameters;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A picture too large for the heap is refused on its own; the other files still get their predictions. */
class PredictMemoryTest {
    @TempDir
    Path dir;

    /** A white 16-bit gray PNG of side x side: small on disk, side * side * 2 bytes decoded. */
    private static byte[] whitePng16(int side) throws IOException {
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        try (OutputStream z = new DeflaterOutputStream(idat)) {
            byte[] row = new byte[1 + 2 * side];
            java.util.Arrays.fill(row, 1, row.length, (byte) 0xff);
            for (int y = 0; y < side; y++) {
                z.write(row);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(png);
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(side);
        h.writeInt(side);
        h.write(new byte[]{16, 0, 0, 0, 0});
        chunk(out, "IHDR", ihdr.toByteArray());
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        out.writeInt(data.length);
        CRC32 crc = new CRC32();
        crc.update(type.getBytes());
        crc.update(data);
        out.write(type.getBytes());
        out.write(data);
        out.writeInt((int) crc.getValue());
    }

    @Test
    void aPictureTooLargeForTheHeapIsRefusedAloneUnder128MiB() throws Exception {
        Path ckpt = dir.resolve("c.safetensors");
        try (CpuBackend cpu = new CpuBackend(1)) {
            Parameters p = TestModels.lenet5Parameters(cpu);
            p.initialize(1);
            Checkpoint.capture(TestModels.lenet5(), p, null, Map.of()).write(ckpt);
        }
        // 40 MP, under the pixel cap: 80 MB decoded, and 480 MB of float planes when prepared
        Path huge = Files.write(dir.resolve("huge.png"), whitePng16(6324));
        Path seven = dir.resolve("seven.png");
        ImageIO.write(DigitImageTest.draw(DigitImageTest.seven(), 120, 160, java.awt.image.BufferedImage.TYPE_INT_RGB,
                java.awt.Color.WHITE, java.awt.Color.BLACK, 30, 30, 1), "png", seven.toFile());

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-cp", System.getProperty("java.class.path"), App.class.getName(), "predict", "--device", "cpu",
                "--checkpoint", ckpt.toString(), huge.toString(), seven.toString()));
        Path out = dir.resolve("out"), err = dir.resolve("err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String stderr = Files.readString(err);
        assertEquals(2, p.exitValue(), stderr);
        assertEquals(1, stderr.split("\n").length, stderr);
        assertTrue(stderr.matches("gpu-lenet: error: " + java.util.regex.Pattern.quote(huge.toString()) + ": decoding this "
                + "6324x6324 PNG image needs about 534 MiB of Java heap and \\d+ MiB is free; give Java more memory "
                + "\\(java -Xmx1g -jar gpu-lenet.jar \\.\\.\\.\\)\n"), stderr);
        assertTrue(Files.readString(out).contains(seven + ": "), Files.readString(out));
    }
}
