package gpulenet.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.backend.cuda.CudaBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.cli.AppTest.Run;
import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * info, bench, selftest and the device choice of train through the command line, on a host without a
 * usable GPU (skipped where one is usable: there the GPU paths run instead of the reasons).
 */
class DeviceCommandsTest {
    private static String noGpuReason;

    @TempDir
    Path dir;
    private Path data;

    @BeforeAll
    static void probeGpu() {
        try (CudaBackend ignored = CudaBackend.open(GemmChoice.AUTO)) {
            noGpuReason = null;
        } catch (CudaUnavailableException e) {
            noGpuReason = e.getMessage();
        }
    }

    @BeforeEach
    void smallDataSet() throws Exception {
        assumeTrue(noGpuReason != null, "a GPU is usable here");
        data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 512, 128);
    }

    @Test
    void infoWithoutGpuSaysWhyAndExits0() {
        Run info = run("info", "--threads", "3");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("Java: " + System.getProperty("java.version")), info.out());
        assertTrue(info.out().contains("the CPU backend would use 3 worker threads"), info.out());
        List<String> cuda = info.out().lines().filter(l -> l.startsWith("CUDA")).toList();
        assertEquals(List.of("CUDA: not usable: " + noGpuReason), cuda);
        assertEquals("", info.err());
    }

    @Test
    void benchRunsTheCpuAndSaysWhyTheGpuRowIsMissing() throws Exception {
        Path json = dir.resolve("out").resolve("bench.json");
        Run bench = run("bench", "--epochs", "1", "--threads", "2", "--data", data.toString(), "--json", json.toString());
        assertEquals(0, bench.code(), bench.err());
        String out = bench.out();
        assertEquals(1, out.lines().filter(l -> l.startsWith("Bench: ")).count(), out);
        assertTrue(out.contains("Bench: cpu, batch 64, 1 epoch of tiny (512 images) on CPU, 2 threads"), out);
        List<String> cpuRows = out.lines().filter(l -> l.startsWith("cpu ")).toList();
        assertEquals(1, cpuRows.size(), out);
        String[] cells = cpuRows.get(0).trim().split("\\s+");
        assertEquals(List.of("cpu", "64", "1"), Arrays.asList(cells).subList(0, 3), cpuRows.get(0));
        assertTrue(Double.parseDouble(cells[3].replace(",", "")) > 0, "images/s");
        assertEquals("1.00x", cells[5]);
        assertTrue(cells[6].matches("\\d+\\.\\d\\d%"), cells[6]);
        assertEquals(List.of("No cuda row: CUDA is not usable: " + noGpuReason),
                out.lines().filter(l -> l.contains("cuda")).toList(), out);

        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        JsonArray rows = root.getAsJsonArray("rows");
        assertEquals(1, rows.size());
        JsonObject row = rows.get(0).getAsJsonObject();
        assertEquals("cpu", row.get("device").getAsString());
        assertEquals(64, row.get("batch_size").getAsInt());
        assertEquals(1, row.get("epochs").getAsInt());
        assertEquals(Double.parseDouble(cells[3].replace(",", "")), row.get("images_per_second").getAsDouble(), 0.5);
        assertTrue(row.get("epoch_train_seconds").getAsDouble() > 0);
        assertEquals(1.0, row.get("speed_up_over_cpu").getAsDouble());
        double accuracy = row.get("test_accuracy").getAsDouble();
        assertTrue(accuracy >= 0 && accuracy <= 1, "accuracy " + accuracy);
        JsonObject missing = root.getAsJsonArray("missing").get(0).getAsJsonObject();
        assertEquals("cuda", missing.get("device").getAsString());
        assertEquals("CUDA is not usable: " + noGpuReason, missing.get("reason").getAsString());
        assertEquals(false, root.getAsJsonObject("gpu").get("usable").getAsBoolean());
        assertEquals("CUDA is not usable: " + noGpuReason, root.getAsJsonObject("gpu").get("reason").getAsString());
        assertEquals(512, root.getAsJsonObject("job").get("train_images").getAsInt());
        assertEquals(Runtime.getRuntime().availableProcessors(), root.getAsJsonObject("machine").get("cores").getAsInt());
        assertTrue(root.getAsJsonObject("machine").has("cpu_model"));
        try (Stream<Path> files = Files.list(json.getParent())) {
            assertEquals(List.of(json), files.toList(), "no temporary file left beside the JSON");
        }
    }

    @Test
    void benchOfTheCpuAloneAtSeveralBatchSizesStartsFromTheSameSeed() {
        String[] args = {"bench", "--devices", "cpu", "--batch-sizes", "32,128", "--threads", "1", "--data", data.toString()};
        Run bench = run(args);
        assertEquals(0, bench.code(), bench.err());
        List<String> rows = bench.out().lines().filter(l -> l.startsWith("cpu ")).toList();
        assertEquals(2, rows.size(), bench.out());
        assertEquals("32", rows.get(0).split("\\s+")[1], rows.get(0));
        assertEquals("128", rows.get(1).split("\\s+")[1], rows.get(1));
        assertTrue(bench.out().lines().noneMatch(l -> l.contains("cuda")), "no GPU asked for, none reported missing");
        // fresh parameters from the same seed: a second bench reaches the same accuracies
        Run again = run(args);
        assertEquals(accuracies(bench.out()), accuracies(again.out()));
    }

    private static List<String> accuracies(String out) {
        return out.lines().filter(l -> l.startsWith("cpu ")).map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
    }

    @Test
    void unusableGpuWhereOneIsRequiredExits2WithOneLine() {
        String[][] cases = {
                {"train", "--device", "cuda", "--dry-run"},
                {"selftest"},
                {"bench", "--devices", "cuda"},
        };
        for (String[] args : cases) {
            Run r = run(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals(2, r.code(), what);
            assertEquals(1, r.err().lines().count(), what);
            assertTrue(r.err().startsWith("gpu-lenet: error: ") && r.err().contains(noGpuReason), what);
        }
        assertEquals("gpu-lenet: error: --device cuda: CUDA is not usable: " + noGpuReason + "\n",
                run("train", "--device", "cuda").err());
        assertEquals("gpu-lenet: error: selftest needs a usable GPU: " + noGpuReason + "\n", run("selftest").err());
    }

    @Test
    void autoFallsBackToTheCpuWithOneLine() {
        Run train = run("train", "--dry-run", "--device", "auto", "--threads", "2", "--data", data.toString());
        assertEquals(0, train.code(), train.err());
        List<String> lines = train.out().lines().filter(l -> l.contains("CUDA")).toList();
        assertEquals(List.of("Device: CPU, 2 threads (--device auto: CUDA is not usable, so the CPU runs: " + noGpuReason + ")"),
                lines, train.out());
    }

    @Test
    void badBenchAndGemmFlagsExit2() {
        String[][] cases = {
                {"bench", "--devices", "tpu"},
                {"bench", "--batch-sizes", "64,0"},
                {"bench", "--epochs", "0"},
                {"bench", "--gemm", "cudnn"},
                {"train", "--gemm", "cudnn"},
                {"info", "--gemm", "cudnn"},
        };
        for (String[] args : cases) {
            Run r = run(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals(2, r.code(), what);
            assertEquals(1, r.err().lines().count(), what);
        }
    }
}
