package gpulenet.cli;

import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --resume --plot: the picture covers the whole run where the --metrics file holds it, and says so where not. */
class ResumedPlotTest {
    @TempDir
    Path dir;

    private AppTest.Run train(Path data, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--device", "cpu",
                "--batch-size", "16", "--log-interval", "1"));
        args.addAll(Arrays.asList(more));
        AppTest.Run r = AppTest.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    @Test
    void theMetricsFileGivesTheEarlierEpochsAndWithoutItThePictureSaysWhatItCovers() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
        Path metrics = dir.resolve("m.jsonl"), ck1 = dir.resolve("e1.st"), ck2 = dir.resolve("e2.st");
        train(data, "--epochs", "1", "--save", ck1.toString(), "--metrics", metrics.toString());
        train(data, "--epochs", "2", "--resume", ck1.toString(), "--save", ck2.toString(), "--metrics", metrics.toString());
        // resumed again from epoch 1: epoch 2 is done over, and the file then holds it twice
        train(data, "--epochs", "2", "--resume", ck1.toString(), "--metrics", metrics.toString());

        MetricsHistory h = MetricsHistory.read(metrics, 2);
        assertEquals("[[1.0], [2.0]]", Arrays.deepToString(h.epochs().stream().map(e -> new double[] {e[0]}).toArray()));
        assertEquals(List.of(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0), h.loss().stream().map(p -> p[0]).toList(),
                "four log lines an epoch, each at its place, epoch 2 once");
        assertEquals(1, MetricsHistory.read(metrics, 1).epochs().size(), "only the epochs up to the resumed one");

        Path plot = dir.resolve("p.png");
        AppTest.Run whole = train(data, "--epochs", "3", "--resume", ck2.toString(), "--metrics", metrics.toString(),
                "--plot", plot.toString());
        assertFalse(whole.out().contains("--plot"), whole.out());
        assertTrue(Files.size(plot) > 0);

        AppTest.Run part = train(data, "--epochs", "3", "--resume", ck2.toString(), "--plot", plot.toString());
        assertTrue(part.out().contains("--plot " + plot + " draws epoch 3 on: give the run's --metrics file to draw the "
                + "epochs before\n"), part.out());
    }
}
