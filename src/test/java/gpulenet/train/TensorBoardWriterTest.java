package gpulenet.train;

import gpulenet.SystemPython;
import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.io.Directories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --tensorboard: event files read back by an independent reader, and by Google's protobuf and TensorBoard when installed. */
class TensorBoardWriterTest {
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

    /** The scalars of {@link #writeKnownScalars}: varints of one to six bytes, a negative and a tiny float, a non-ASCII tag. */
    private static final List<EventFiles.Point> KNOWN = List.of(
            new EventFiles.Point("train/loss", 1, 2.302585f),
            new EventFiles.Point("train/loss", 127, 0.5f),
            new EventFiles.Point("train/loss", 128, -1.25f),
            new EventFiles.Point("lr", 300_000, 1e-7f),
            new EventFiles.Point("test/accuracy", 1L << 40, 0.9921f),
            new EventFiles.Point("größe/µ", 7, Float.MAX_VALUE));

    private Path writeKnownScalars() {
        try (TensorBoardWriter w = TensorBoardWriter.open(dir.resolve("run"))) {
            for (EventFiles.Point p : KNOWN) {
                w.scalar(p.tag(), p.step(), p.value());
            }
            return w.file();
        }
    }

    @Test
    void theTestsCrcIsCrc32cAndTheWritersMaskMatchesIt() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xe3069283, EventFiles.crc32c(check, 0, check.length), "CRC-32C check value");
        for (byte[] b : List.of(check, new byte[0], new byte[8], "brain.Event:2".getBytes(StandardCharsets.US_ASCII))) {
            assertEquals(EventFiles.mask(EventFiles.crc32c(b, 0, b.length)), TfRecord.maskedCrc(b, 0, b.length));
        }
    }

    @Test
    void scalarsReadBackWithBothCrcsCheckedAndEveryFieldDecoded() throws IOException {
        double before = System.currentTimeMillis() / 1000.0 - 1;
        Path file = writeKnownScalars();
        double after = System.currentTimeMillis() / 1000.0 + 1;
        assertTrue(file.getFileName().toString().matches("events\\.out\\.tfevents\\.\\d{10}\\.[A-Za-z0-9._-]+"), file.toString());
        List<EventFiles.Event> events = EventFiles.events(file);
        assertEquals(1 + KNOWN.size(), events.size());
        EventFiles.Event first = events.get(0);
        assertEquals("brain.Event:2", first.fileVersion());
        assertEquals(0, first.step());
        assertTrue(first.values().isEmpty());
        for (EventFiles.Event e : events) {
            assertTrue(e.wallTime() >= before && e.wallTime() <= after, "wall_time " + e.wallTime());
        }
        for (EventFiles.Event e : events.subList(1, events.size())) {
            assertNull(e.fileVersion());
            assertEquals(1, e.values().size(), "one scalar per event, as add_scalar writes");
        }
        assertEquals(KNOWN, EventFiles.points(file));
    }

    @Test
    void aFlippedBitFailsTheReadersCrcCheck() throws IOException {
        Path file = writeKnownScalars();
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 10] ^= 1; // inside the last record's data
        Files.write(file, bytes);
        AssertionError e = assertThrows(AssertionError.class, () -> EventFiles.records(file));
        assertEquals("record " + KNOWN.size() + ": data CRC mismatch", e.getMessage());
    }

    @Test
    void aTrainingRunLogsItsLossesAndEpochScalarsAtTheGlobalStep() throws IOException {
        TrainConfig config = new TrainConfig(2, 64, 0.05f, 0.9f, 0f, 0.5f, 3, 4, false, null);
        Trainer t = new Trainer(backend, TrainingListenerTest.small(), config, new PrintWriter(new StringWriter()), false);
        Path file;
        List<EpochSummary> epochs;
        try (TensorBoardWriter w = TensorBoardWriter.open(dir.resolve("nested/tb"))) {
            t.addListener(w);
            epochs = t.run();
            file = w.file();
        }
        List<EventFiles.Point> expected = new ArrayList<>();
        long[] logSteps = {4, 8, 10, 14, 18, 20}; // 10 steps per epoch (600 images, batch 64), a line every 4 and at the end
        for (int i = 0; i < logSteps.length; i++) {
            expected.add(new EventFiles.Point("train/loss", logSteps[i], t.loggedLosses().get(i)));
            if (i % 3 == 2) {
                EpochSummary s = epochs.get(i / 3);
                expected.add(new EventFiles.Point("test/loss", logSteps[i], (float) s.test().meanLoss()));
                expected.add(new EventFiles.Point("test/accuracy", logSteps[i], (float) s.test().accuracy()));
                expected.add(new EventFiles.Point("lr", logSteps[i], s.lr()));
                expected.add(new EventFiles.Point("images_per_second", logSteps[i], (float) s.imagesPerSecond()));
            }
        }
        assertEquals(expected, EventFiles.points(file));
        assertEquals(0.025f, epochs.get(1).lr());
    }

    @Test
    void twoRunsStartedInTheSameSecondGetTwoFiles() {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            try (TensorBoardWriter w = TensorBoardWriter.open(dir)) {
                files.add(w.file());
            }
        }
        assertEquals(3, files.stream().distinct().count(), files.toString());
        assertTrue(files.stream().allMatch(f -> f.getFileName().toString().startsWith("events.out.tfevents.")), files.toString());
    }

    @Test
    void theDirectoryCheckLeavesNothingAndRefusesAFile() throws IOException {
        Path missing = dir.resolve("a/b");
        Directories.checkWritable(missing);
        assertFalse(Files.exists(dir.resolve("a")), "the directories the check made are removed again");
        Path existing = Files.createDirectory(dir.resolve("tb"));
        Directories.checkWritable(existing);
        try (Stream<Path> left = Files.list(existing)) {
            assertEquals(0, left.count(), "the probe file is removed");
        }
        Path file = Files.writeString(dir.resolve("file"), "x");
        FileSystemException e = assertThrows(FileSystemException.class, () -> Directories.checkWritable(file));
        assertEquals("it is not a directory", e.getReason());
    }

    /** The Python side of {@link #googleProtobufDecodesTheEvents}: its own CRC32C, Google's protobuf parser on the Event schema. */
    private static final String PROTOBUF_READER = """
            import struct, sys
            from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
            F = descriptor_pb2.FieldDescriptorProto
            fdp = descriptor_pb2.FileDescriptorProto(name="event_subset.proto", package="tb", syntax="proto3")
            def message(name, fields):
                m = fdp.message_type.add(name=name)
                for fname, number, ftype, label, tname in fields:
                    f = m.field.add(name=fname, number=number, type=ftype, label=label)
                    if tname:
                        f.type_name = tname
            O, R = F.LABEL_OPTIONAL, F.LABEL_REPEATED
            message("Value", [("tag", 1, F.TYPE_STRING, O, None), ("simple_value", 2, F.TYPE_FLOAT, O, None)])
            message("Summary", [("value", 1, F.TYPE_MESSAGE, R, ".tb.Value")])
            message("Event", [("wall_time", 1, F.TYPE_DOUBLE, O, None), ("step", 2, F.TYPE_INT64, O, None),
                              ("file_version", 3, F.TYPE_STRING, O, None), ("summary", 5, F.TYPE_MESSAGE, O, ".tb.Summary")])
            pool = descriptor_pool.DescriptorPool()
            pool.Add(fdp)
            desc = pool.FindMessageTypeByName("tb.Event")
            Event = message_factory.GetMessageClass(desc) if hasattr(message_factory, "GetMessageClass") \\
                else message_factory.MessageFactory(pool).GetPrototype(desc)
            def crc32c(data):
                crc = 0xFFFFFFFF
                for byte in data:
                    crc ^= byte
                    for _ in range(8):
                        crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
                return crc ^ 0xFFFFFFFF
            def masked(data):
                c = crc32c(data)
                return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
            raw = open(sys.argv[1], "rb").read()
            at = 0
            while at < len(raw):
                header = raw[at:at + 8]
                (length,) = struct.unpack("<Q", header)
                (length_crc,) = struct.unpack("<I", raw[at + 8:at + 12])
                assert length_crc == masked(header), "length crc"
                data = raw[at + 12:at + 12 + length]
                (data_crc,) = struct.unpack("<I", raw[at + 12 + length:at + 16 + length])
                assert data_crc == masked(data), "data crc"
                at += 16 + length
                event = Event.FromString(data)
                if event.file_version:
                    print("file_version", event.file_version)
                for v in event.summary.value:
                    print("scalar", v.tag, event.step, repr(v.simple_value))
            """;

    /** The Python side of {@link #tensorBoardReadsTheEvents}: TensorBoard's own loader and accumulator. */
    private static final String TENSORBOARD_READER = """
            import sys
            from tensorboard.backend.event_processing import event_accumulator, event_file_loader
            loader = getattr(event_file_loader, "LegacyEventFileLoader", event_file_loader.EventFileLoader)
            first = next(iter(loader(sys.argv[1]).Load()))
            print("file_version", first.file_version)
            acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
            acc.Reload()
            for tag in acc.Tags()["scalars"]:
                for e in acc.Scalars(tag):
                    print("scalar", tag, e.step, repr(e.value))
            """;

    @Test
    void googleProtobufDecodesTheEvents() {
        SystemPython.assumeModules("google.protobuf");
        assertPythonReadsTheKnownScalars(PROTOBUF_READER);
    }

    @Test
    void tensorBoardReadsTheEvents() {
        SystemPython.assumeModules("tensorboard");
        assertPythonReadsTheKnownScalars(TENSORBOARD_READER);
    }

    private void assertPythonReadsTheKnownScalars(String script) {
        Path file = writeKnownScalars();
        String[] lines = SystemPython.runOk(List.of("-c", script, file.toString())).split("\n");
        assertEquals("file_version brain.Event:2", lines[0]);
        List<String> got = new ArrayList<>(List.of(lines).subList(1, lines.length));
        List<String> want = new ArrayList<>();
        for (EventFiles.Point p : KNOWN) {
            want.add("scalar " + p.tag() + " " + p.step() + " " + (double) p.value());
        }
        // Python's repr and Java's Double.toString may spell the same double differently: compare the values
        List<String> normalised = new ArrayList<>();
        for (String line : got) {
            int space = line.lastIndexOf(' ');
            normalised.add(line.substring(0, space + 1) + Double.parseDouble(line.substring(space + 1)));
        }
        got.sort(null);
        normalised.sort(null);
        want.sort(null); // the accumulator groups by tag
        assertEquals(want, normalised);
        assertNotEquals(0, got.size());
    }
}
