package gpulenet.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.io.InputException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --metrics: JSON Lines written as the run goes. */
class MetricsLogTest {
    private static Backend backend;
    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void tearDown() {
        backend.close();
    }

    private static List<JsonObject> read(Path file) {
        try {
            List<JsonObject> out = new ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void oneObjectPerLogLineAndPerEpochWithTheRunsValues() {
        Path file = dir.resolve("run.jsonl");
        TrainConfig config = new TrainConfig(2, 64, 0.05f, 0.9f, 0f, 0.5f, 3, 4, false, null);
        Trainer t = new Trainer(backend, TrainingListenerTest.small(), config, new PrintWriter(new StringWriter()), false);
        List<EpochSummary> epochs;
        try (MetricsLog log = MetricsLog.open(file, backend.name(), false)) {
            t.addListener(log);
            epochs = t.run();
        }
        List<JsonObject> lines = read(file);
        assertEquals(8, lines.size(), "3 log lines and an epoch line per epoch");
        String[] types = {"step", "step", "step", "epoch", "step", "step", "step", "epoch"};
        long[] steps = {4, 8, 10, 10, 14, 18, 20, 20};
        double seconds = 0;
        int logged = 0;
        for (int i = 0; i < lines.size(); i++) {
            JsonObject o = lines.get(i);
            assertEquals(types[i], o.get("type").getAsString(), o.toString());
            assertEquals(i < 4 ? 1 : 2, o.get("epoch").getAsInt());
            assertEquals(steps[i], o.get("step").getAsLong());
            assertEquals(i < 4 ? 0.05f : 0.025f, o.get("lr").getAsFloat());
            assertEquals("cpu", o.get("device").getAsString());
            assertTrue(o.get("images_per_second").getAsDouble() > 0, o.toString());
            assertTrue(o.get("seconds").getAsDouble() >= seconds, "seconds since the start only grow");
            seconds = o.get("seconds").getAsDouble();
            if (types[i].equals("step")) {
                assertEquals(Set.of("type", "epoch", "step", "loss", "lr", "images_per_second", "device", "seconds"), o.keySet());
                assertEquals(t.loggedLosses().get(logged++), o.get("loss").getAsFloat(), "the printed loss, bit for bit");
            } else {
                EpochSummary s = epochs.get(i / 4);
                assertEquals(s.trainLoss(), o.get("loss").getAsDouble());
                assertEquals(s.test().meanLoss(), o.get("test_loss").getAsDouble());
                assertEquals(s.test().accuracy(), o.get("test_accuracy").getAsDouble());
                assertEquals(s.test().correct(), o.get("test_correct").getAsLong());
                assertEquals(200, o.get("test_count").getAsInt());
                assertEquals(s.imagesPerSecond(), o.get("images_per_second").getAsDouble());
                assertEquals(s.trainSeconds(), o.get("train_seconds").getAsDouble());
                assertEquals(s.test().seconds(), o.get("eval_seconds").getAsDouble());
            }
        }
    }

    @Test
    void eachLineIsInTheFileWhenTheNextListenerHearsOfIt() {
        Path file = dir.resolve("live.jsonl");
        TrainConfig config = new TrainConfig(1, 64, 0.05f, 0.9f, 0f, 0.5f, 3, 5, false, null);
        Trainer t = new Trainer(backend, TrainingListenerTest.small(), config, new PrintWriter(new StringWriter()), false);
        List<Integer> linesSeen = new ArrayList<>();
        try (MetricsLog log = MetricsLog.open(file, "cpu", false)) {
            t.addListener(log);
            t.addListener(new TrainingListener() {
                @Override
                public void logLine(LogLine line) {
                    linesSeen.add(read(file).size());
                }

                @Override
                public void epochEnd(EpochSummary summary, long step) {
                    linesSeen.add(read(file).size());
                }
            });
            t.run();
        }
        assertEquals(List.of(1, 2, 3), linesSeen, "flushed line by line, not at close");
    }

    @Test
    void aDivergedRunKeepsWhatItLogged() {
        Path file = dir.resolve("diverged.jsonl");
        TrainConfig wild = new TrainConfig(1, 64, 1e6f, 0.9f, 0f, 1f, 5, 1, false, null);
        Trainer t = new Trainer(backend, TrainingListenerTest.small(), wild, new PrintWriter(new StringWriter()), false);
        try (MetricsLog log = MetricsLog.open(file, "cpu", false)) {
            t.addListener(log);
            assertThrows(InputException.class, t::run);
        }
        List<JsonObject> lines = read(file);
        assertEquals(t.loggedLosses().size(), lines.size());
        assertTrue(lines.stream().allMatch(o -> o.get("type").getAsString().equals("step")));
    }

    @Test
    void replacesTheFileOrAddsToItsEnd() throws IOException {
        Path file = Files.writeString(dir.resolve("old.jsonl"), "{\"old\":1}\n");
        TrainingListener.LogLine line = new TrainingListener.LogLine(3, 250, 64, 600, 0.25f, 0.0125f, 0.5);
        try (MetricsLog log = MetricsLog.open(file, "cuda", true)) {
            log.logLine(line);
        }
        List<JsonObject> appended = read(file);
        assertEquals(2, appended.size());
        assertEquals(1, appended.get(0).get("old").getAsInt());
        assertEquals("{\"type\":\"step\",\"epoch\":3,\"step\":250,\"loss\":0.25,\"lr\":0.0125,\"images_per_second\":128.0,"
                + "\"device\":\"cuda\",\"seconds\":", Files.readAllLines(file).get(1).replaceAll("\"seconds\":.*", "\"seconds\":"));
        try (MetricsLog log = MetricsLog.open(file, "cuda", false)) {
            log.logLine(line);
        }
        assertEquals(1, read(file).size());
    }

    @Test
    void aRateOverZeroSecondsIsNullNotInfinity() throws IOException {
        Path file = dir.resolve("zero.jsonl");
        try (MetricsLog log = MetricsLog.open(file, "cpu", false)) {
            log.logLine(new TrainingListener.LogLine(1, 1, 64, 600, 2.3f, 0.05f, 0.0));
        }
        assertTrue(Files.readString(file).contains("\"images_per_second\":null"), Files.readString(file));
    }

    @Test
    void aPathThatCannotBeOpenedIsOneLine() throws IOException {
        Path underFile = Files.writeString(dir.resolve("f"), "x").resolve("run.jsonl");
        InputException e = assertThrows(InputException.class, () -> MetricsLog.open(underFile, "cpu", false));
        assertEquals(underFile + ": cannot write metrics: not a directory", e.getMessage());
    }

    @Test
    void aSecondWriterIsRefusedAndTruncatesNothing() throws IOException {
        Path file = Files.writeString(dir.resolve("run.jsonl"), "{\"type\":\"step\"}\n");
        try (MetricsLog first = MetricsLog.open(file, "cpu", true)) {
            InputException e = assertThrows(InputException.class, () -> MetricsLog.open(file, "cpu", false));
            assertEquals(file + ": cannot write metrics: in use by another run (it is locked)", e.getMessage());
            assertEquals("{\"type\":\"step\"}\n", Files.readString(file));
        }
        MetricsLog.open(file, "cpu", false).close();
        assertEquals("", Files.readString(file), "once the first is closed, a new run takes the file over");
    }
}
