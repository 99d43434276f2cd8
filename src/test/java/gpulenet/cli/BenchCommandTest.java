package gpulenet.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench --model: each preset with its own set-up, on both sides of a --pytorch comparison. */
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void eachModelIsTimedWithItsOwnSetUpAndGetsItsOwnTableAndRows() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 96, 32);
        Path args = dir.resolve("args.txt");
        Path script = Files.writeString(dir.resolve("fake_torch.sh"),
                "echo \"$@\" >> '" + args + "'\n"
                        + "echo '{\"epoch\": 1, \"train_s\": 0.5, \"images_per_s\": 500, \"torch\": \"fake\"}'\n");
        Path json = dir.resolve("bench.json");
        Run bench = run("bench", "--devices", "cpu", "--batch-sizes", "32", "--threads", "1", "--data", data.toString(),
                "--model", "cnn3,lenet5-32", "--model", "cnn3", "--pytorch", "sh " + script, "--json", json.toString(),
                "--plot", dir.resolve("bench.png").toString());
        assertEquals(0, bench.code(), bench.err());

        assertEquals(List.of(
                "--data " + data + " --device cpu --model cnn3 --optimizer adam --batch 32 --epochs 1 --lr 1.0E-4 "
                        + "--lr-decay 1.0 --normalize none --resize none --seed 1 --threads 1",
                "--data " + data + " --device cpu --model lenet5-32 --optimizer sgd --batch 32 --epochs 1 --lr 0.001 "
                        + "--momentum 0.9 --lr-decay 1.0 --normalize 0.1307,0.3081 --resize 32 --seed 1 --threads 1"),
                Files.readAllLines(args), "each model once, in the order given");

        List<String> lines = bench.out().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("Bench: cpu, batch 32, 1 epoch of tiny (96 images) on CPU")
                && l.endsWith("; model cnn3")), bench.out());
        List<String> headings = lines.stream().filter(l -> l.startsWith("Model ")).toList();
        assertEquals(List.of(
                "Model cnn3: adam lr 0.0001 lr-decay 1; input ToTensor; 569,186 parameters",
                "Model lenet5-32: sgd lr 0.001 momentum 0.9 lr-decay 1; input Resize((32,32)), ToTensor, "
                        + "Normalize((0.1307,),(0.3081,)); 61,706 parameters"), headings);
        // under each heading, the column header and that model's one row, with its own CPU speed-up of 1.00x
        for (String heading : headings) {
            int at = lines.indexOf(heading);
            assertTrue(lines.get(at + 1).startsWith("device "), bench.out());
            String[] cells = lines.get(at + 2).trim().split("\\s+");
            assertEquals(List.of("cpu", "32", "1"), List.of(cells).subList(0, 3), lines.get(at + 2));
            assertEquals("1.00x", cells[5]);
            assertEquals("500", cells[7]);
        }

        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        List<String> rowModels = new ArrayList<>();
        for (JsonElement r : root.getAsJsonArray("rows")) {
            rowModels.add(r.getAsJsonObject().get("model").getAsString());
            assertEquals(500.0, r.getAsJsonObject().get("pytorch_images_per_second").getAsDouble());
        }
        assertEquals(List.of("cnn3", "lenet5-32"), rowModels);
        JsonArray models = root.getAsJsonObject("job").getAsJsonArray("models");
        assertEquals(2, models.size());
        JsonObject cnn3 = models.get(0).getAsJsonObject();
        assertEquals("cnn3", cnn3.get("name").getAsString());
        assertEquals("adam", cnn3.get("optimizer").getAsString());
        assertEquals(1e-4f, cnn3.get("lr").getAsFloat());
        assertEquals("none", cnn3.get("normalize").getAsString());
        JsonObject lenet32 = models.get(1).getAsJsonObject();
        assertEquals(32, lenet32.get("resize").getAsInt());
        assertEquals("0.1307,0.3081", lenet32.get("normalize").getAsString());
        assertEquals(0.9f, lenet32.get("momentum").getAsFloat());

        BufferedImage png = ImageIO.read(dir.resolve("bench.png").toFile());
        assertEquals(Charts.CURVES_WIDTH, png.getWidth());
        assertEquals(Charts.CURVES_HEIGHT, png.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < png.getHeight(); y += 3) {
            for (int x = 0; x < png.getWidth(); x += 3) {
                colours.add(png.getRGB(x, y));
            }
        }
        assertTrue(colours.contains(0xff1f77b4) && colours.contains(0xffff7f0e), "gpu-lenet's and PyTorch's bars are drawn");
    }

    @Test
    void anUnknownModelIsRefusedBeforeAnyWork() {
        Run bench = run("bench", "--devices", "cpu", "--model", "lenet5,alexnet");
        assertEquals(2, bench.code(), bench.out());
        assertEquals("", bench.out());
        assertTrue(bench.err().strip().endsWith("--model must be one of lenet5, lenet5-adam, lenet5-32, cnn-dropout, cnn3, got alexnet"),
                bench.err());
    }

    @Test
    void aBatchLargerThanTheTrainingSetIsCappedAndSaidAndRecorded() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
        Path json = dir.resolve("bench.json");
        Run bench = run("bench", "--devices", "cpu,cpu", "--batch-sizes", "2147483647", "--threads", "1", "--data",
                data.toString(), "--json", json.toString());
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().startsWith("--batch-sizes 2147483647 is more than the 64 training images: timing batch 64\n"),
                bench.out());
        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals("[64]", root.getAsJsonObject("job").get("batch_sizes").toString(), "the batch that ran");
        JsonArray rows = root.getAsJsonArray("rows");
        assertEquals(1, rows.size(), "cpu,cpu is the CPU once: " + rows);
        assertEquals(64, rows.get(0).getAsJsonObject().get("batch_size").getAsInt());
    }

    @Test
    void anEmptyModelOrDeviceListIsOneLine() {
        assertEquals("gpu-lenet: error: --model takes model names, e.g. --model lenet5,cnn3; got an empty one\n",
                AppTest.runRefused("bench", "--model", ",", "--devices", "cpu").err());
        assertEquals("gpu-lenet: error: --devices takes cpu, cuda and cuda-cudnn, e.g. --devices cpu,cuda; got an empty one\n",
                AppTest.runRefused("bench", "--devices", ",").err());
    }

    @Test
    void aPyTorchFigureThatIsNotANumberLeavesTheJsonValid() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
        Path script = Files.writeString(dir.resolve("nan_torch.sh"),
                "echo '{\"epoch\": 1, \"train_s\": 0.5, \"images_per_s\": NaN}'\n"
                        + "echo '{\"epoch\": 2, \"train_s\": 0.5, \"images_per_s\": Infinity}'\n");
        Path json = dir.resolve("bench.json");
        Run bench = run("bench", "--devices", "cpu", "--batch-sizes", "64", "--threads", "1", "--data", data.toString(),
                "--pytorch", "sh " + script, "--json", json.toString());
        assertEquals(0, bench.code(), bench.err());
        String text = Files.readString(json);
        assertFalse(text.matches("(?s).*:\\s*(NaN|-?Infinity)\\s*[,\\n].*"), "a bare NaN or Infinity is not JSON: " + text);
        JsonObject row = JsonParser.parseString(text).getAsJsonObject().getAsJsonArray("rows").get(0).getAsJsonObject();
        assertTrue(row.get("pytorch_images_per_second").isJsonNull(), row.toString());
        assertTrue(bench.out().contains("No PyTorch figure for lenet5 on cpu at batch 64: an epoch line whose train_s or "
                + "images_per_s is not a positive number: {\"epoch\": 1, \"train_s\": 0.5, \"images_per_s\": NaN}"), bench.out());
    }
}
