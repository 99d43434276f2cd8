package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.io.InputException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the trainer reports to its listeners, on 600 training images (10 steps of batch 64 per epoch) and 200 test images. */
class TrainingListenerTest {
    private static DataSets small;
    private static Backend backend;

    @BeforeAll
    static void setUp() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void tearDown() {
        backend.close();
    }

    static synchronized DataSets small() {
        if (small == null) {
            DataSets mnist = DataSets.embedded();
            small = new DataSets("mnist-slice", TrainerTest.head(mnist.train(), 600), TrainerTest.head(mnist.test(), 200));
        }
        return small;
    }

    /** Everything a listener was told, in order. */
    static final class Recorder implements TrainingListener {
        final List<Object> calls = new ArrayList<>();
        final List<LogLine> lines = new ArrayList<>();
        final List<EpochSummary> epochs = new ArrayList<>();
        final List<Long> epochSteps = new ArrayList<>();

        @Override
        public void logLine(LogLine line) {
            calls.add(line);
            lines.add(line);
        }

        @Override
        public void epochEnd(EpochSummary summary, long step) {
            calls.add(summary);
            epochs.add(summary);
            epochSteps.add(step);
        }
    }

    @Test
    void everyLogLineAndEpochEndIsReportedWithTheLoggedValues() {
        TrainConfig config = new TrainConfig(2, 64, 0.05f, 0.9f, 0f, 0.5f, 3, 4, false, null);
        Trainer t = new Trainer(backend, small(), config, new PrintWriter(new StringWriter()), false);
        Recorder r = new Recorder();
        t.addListener(r);
        List<EpochSummary> epochs = t.run();

        long[] steps = {4, 8, 10, 14, 18, 20};
        int[] trained = {256, 512, 600, 256, 512, 600};
        assertEquals(steps.length, r.lines.size());
        for (int i = 0; i < steps.length; i++) {
            TrainingListener.LogLine line = r.lines.get(i);
            assertEquals(1 + i / 3, line.epoch());
            assertEquals(steps[i], line.step());
            assertEquals(trained[i], line.epochTrained());
            assertEquals(600, line.epochImages());
            assertEquals(t.loggedLosses().get(i), line.loss(), "the printed loss, bit for bit");
            assertEquals(i < 3 ? 0.05f : 0.025f, line.lr());
            assertEquals(i / 3 + trained[i] / 600.0, line.epochProgress(), 1e-12);
            assertTrue(line.trainSeconds() > 0 && line.imagesPerSecond() > 0, line.toString());
        }
        assertEquals(epochs, r.epochs, "the summaries run() returns");
        assertEquals(List.of(10L, 20L), r.epochSteps);
        assertSame(r.epochs.get(0), r.calls.get(3), "an epoch's end comes after its last log line");
        assertTrue(r.lines.get(2).trainSeconds() <= epochs.get(0).trainSeconds());
    }

    @Test
    void listenersDoNotChangeTheRun() {
        TrainConfig config = new TrainConfig(1, 64, 0.05f, 0.9f, 0f, 0.5f, 9, 3, false, null);
        Trainer plain = new Trainer(backend, small(), config, new PrintWriter(new StringWriter()), false);
        plain.run();
        Trainer listened = new Trainer(backend, small(), config, new PrintWriter(new StringWriter()), false);
        Recorder a = new Recorder(), b = new Recorder();
        listened.addListener(a);
        listened.addListener(b);
        listened.run();
        assertEquals(plain.loggedLosses(), listened.loggedLosses());
        assertArrayEquals(plain.parameters().downloadValues(), listened.parameters().downloadValues());
        assertEquals(a.calls, b.calls, "every listener hears everything");
    }

    @Test
    void aProgressBarRunReportsTheSameLines() {
        TrainConfig config = new TrainConfig(1, 64, 0.05f, 0.9f, 0f, 0.5f, 3, 5, false, null);
        Trainer t = new Trainer(backend, small(), config, new PrintWriter(new StringWriter()), true);
        Recorder r = new Recorder();
        t.addListener(r);
        t.run();
        assertEquals(List.of(5L, 10L), r.lines.stream().map(TrainingListener.LogLine::step).toList());
        assertEquals(1, r.epochs.size());
    }

    @Test
    void aDivergedLogLineIsNotReported() {
        TrainConfig wild = new TrainConfig(1, 64, 1e6f, 0.9f, 0f, 1f, 5, 1, false, null);
        Trainer t = new Trainer(backend, small(), wild, new PrintWriter(new StringWriter()), false);
        Recorder r = new Recorder();
        t.addListener(r);
        assertThrows(InputException.class, t::run);
        assertEquals(t.loggedLosses().size(), r.lines.size());
        assertTrue(r.lines.stream().allMatch(l -> Float.isFinite(l.loss())));
        assertTrue(r.epochs.isEmpty());
    }
}
