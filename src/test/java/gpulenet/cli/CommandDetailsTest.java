package gpulenet.cli;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DigitImageTest;
import gpulenet.data.IdxFiles;
import gpulenet.format.Checkpoint;
import gpulenet.model.Parameters;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the commands print in the smaller cases: each line says what applies, nothing misleads. */
class CommandDetailsTest {
    @TempDir
    Path dir;

    private Path untrainedLenet5() {
        Path ckpt = dir.resolve("c.safetensors");
        try (CpuBackend cpu = new CpuBackend(1)) {
            Parameters p = TestModels.lenet5Parameters(cpu);
            p.initialize(1);
            Checkpoint.capture(TestModels.lenet5(), p, null, Map.of()).write(ckpt);
        }
        return ckpt;
    }

    @Test
    void predictJsonKeepsEqualsSignsAsTheyAre() throws Exception {
        Path image = dir.resolve("a=b.png");
        ImageIO.write(DigitImageTest.draw(DigitImageTest.seven(), 120, 160, BufferedImage.TYPE_INT_RGB, Color.WHITE,
                Color.BLACK, 30, 30, 1), "png", image.toFile());
        AppTest.Run r = run("predict", "--device", "cpu", "--checkpoint", untrainedLenet5().toString(), "--json", "--show",
                image.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().contains("\\u003d"), r.out());
        assertTrue(r.out().contains("\"file\":\"" + image + "\""), r.out());
    }

    @Test
    void evalCapsSilentlyByDefaultAndShowsAbsentClassesAsSuch() throws Exception {
        // five test images, labels 2 to 6
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 10, 5);
        String ckpt = untrainedLenet5().toString();
        AppTest.Run byDefault = run("eval", "--checkpoint", ckpt, "--data", data.toString(), "--device", "cpu");
        assertEquals(0, byDefault.code(), byDefault.err());
        assertFalse(byDefault.out().contains("--batch-size"), byDefault.out());
        assertTrue(byDefault.out().contains("  0:      - (no test images)\n"), byDefault.out());
        assertTrue(byDefault.out().contains("  9:      - (no test images)\n"), byDefault.out());
        assertTrue(byDefault.out().matches("(?s).*\n  2: +\\d+\\.\\d\\d% \\([01]/1\\)\n.*"), byDefault.out());
        AppTest.Run asked = run("eval", "--checkpoint", ckpt, "--data", data.toString(), "--device", "cpu",
                "--batch-size", "1000");
        assertTrue(asked.out().contains("--batch-size 1000 is more than the 5 test images: using 5\n"), asked.out());
    }

    @Test
    void anotherOptimizerStartsAtItsOwnDefaultLrAndSaysSo() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 16);
        AppTest.Run adam = run("train", "--data", data.toString(), "--device", "cpu", "--dry-run", "--optimizer", "adam");
        assertEquals(0, adam.code(), adam.err());
        assertTrue(adam.out().contains("; adam lr 0.001\n--optimizer adam starts at its own default lr 0.001 (the sgd lr "
                + "0.05 of this network's set-up is not for it); --lr sets another\n"), adam.out());
        AppTest.Run given = run("train", "--data", data.toString(), "--device", "cpu", "--dry-run", "--optimizer", "adam",
                "--lr", "0.01");
        assertTrue(given.out().contains("; adam lr 0.01\n") && !given.out().contains("own default"), given.out());
    }

    @Test
    void modelsShowsAModelFileAsTrainWouldBuildIt() throws Exception {
        Path net = Files.writeString(dir.resolve("net.txt"),
                "Sequential(\n  (0): Flatten(start_dim=1, end_dim=-1)\n  (1): Linear(in_features=784, out_features=10, bias=True)\n)\n");
        AppTest.Run r = run("models", "--model-file", net.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("""
                net.txt: 7,850 parameters, 28x28 input
                  input:   ToTensor, Normalize((0.5,),(0.5,))
                    (0): Flatten(start_dim=1, end_dim=-1)                     -> [784]
                    (1): Linear(in_features=784, out_features=10, bias=True)  -> [10]

                """, r.out());
        assertTrue(run("models").out().contains("cnn3: "));
    }
}
