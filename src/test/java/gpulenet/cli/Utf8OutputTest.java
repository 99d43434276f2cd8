package gpulenet.cli;

import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Output is UTF-8 whatever the locale: a non-ASCII file name is printed as itself under LC_ALL=C. */
class Utf8OutputTest {
    @TempDir
    Path dir;

    @Test
    void aNonAsciiFileNameIsPrintedAsItselfUnderTheCLocale() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
        Path ck = dir.resolve("ck.safetensors");
        assertEquals(0, AppTest.run("train", "--data", data.toString(), "--device", "cpu", "--epochs", "1", "--save",
                ck.toString()).code());
        Path images = Files.createDirectory(dir.resolve("images"));
        BufferedImage one = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 4; y < 24; y++) {
            one.getRaster().setSample(14, y, 0, 255);
        }
        // listed from the directory, so the name reaches Java as bytes, decoded with the locale's charset
        assertTrue(ImageIO.write(one, "png", images.resolve("señal-1.png").toFile()));

        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), App.class.getName(), "predict", "--checkpoint", ck.toString(),
                "--device", "cpu", images.toString());
        pb.environment().keySet().removeIf(k -> k.startsWith("LC_") || k.equals("LANG") || k.equals("LANGUAGE"));
        pb.environment().put("LC_ALL", "C");
        Path out = dir.resolve("out"), err = dir.resolve("err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), stderr);
        assertTrue(stdout.contains("\n" + images.resolve("señal-1.png") + ": "), stdout);
    }
}
