package gpulenet.train;

import gpulenet.io.InputException;
import gpulenet.io.IoReasons;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * train --tensorboard DIR: a TensorBoard event file, {@code events.out.tfevents.<seconds>.<hostname>}, that
 * TensorBoard reads as the run goes. Scalars: {@value #TRAIN_LOSS} at every log line, and per epoch
 * {@value #TEST_LOSS}, {@value #TEST_ACCURACY} (a fraction), {@value #LR} and {@value #IMAGES_PER_SECOND}, each at
 * the global step. Written without TensorFlow: TFRecord framing ({@link TfRecord}) around a few hand-encoded
 * protobuf fields of tensorflow/core/util/event.proto and framework/summary.proto:
 * Event{double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5},
 * Summary{repeated Value value = 1}, Value{string tag = 1; float simple_value = 2}.
 */
public final class TensorBoardWriter implements TrainingListener, AutoCloseable {
    public static final String FILE_PREFIX = "events.out.tfevents.";
    /** The first record's file_version, as TensorFlow's and PyTorch's writers put it. */
    public static final String FILE_VERSION = "brain.Event:2";
    public static final String TRAIN_LOSS = "train/loss";
    public static final String TEST_LOSS = "test/loss";
    public static final String TEST_ACCURACY = "test/accuracy";
    public static final String LR = "lr";
    public static final String IMAGES_PER_SECOND = "images_per_second";

    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;

    private final Path file;
    private final OutputStream out;

    private TensorBoardWriter(Path file, OutputStream out) {
        this.file = file;
        this.out = out;
    }

    /** Creates a new event file in {@code dir} (created if missing) and writes its file_version record. */
    public static TensorBoardWriter open(Path dir) {
        Path file = dir.resolve(FILE_PREFIX + System.currentTimeMillis() / 1000 + "." + hostname());
        try {
            Files.createDirectories(dir);
            OutputStream out = null;
            Path base = file;
            for (int n = 1; out == null; n++) {
                try {
                    out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    file = Path.of(base + "." + n); // another run started in the same second, into the same directory
                }
            }
            TensorBoardWriter w = new TensorBoardWriter(file, out);
            w.write(event(System.currentTimeMillis() / 1000.0, 0, FILE_VERSION, null));
            return w;
        } catch (IOException e) {
            throw failure(file, e);
        }
    }

    /** The event file being written. */
    public Path file() {
        return file;
    }

    /** One scalar at {@code step}, in an Event of its own (as PyTorch's SummaryWriter.add_scalar writes it). */
    public void scalar(String tag, long step, float value) {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        bytesField(v, 1, tag.getBytes(StandardCharsets.UTF_8));
        tag(v, 2, FIXED32);
        littleEndian(v, Float.floatToRawIntBits(value), 4);
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        bytesField(summary, 1, v.toByteArray());
        try {
            write(event(System.currentTimeMillis() / 1000.0, step, null, summary.toByteArray()));
        } catch (IOException e) {
            throw failure(file, e);
        }
    }

    @Override
    public void logLine(LogLine line) {
        scalar(TRAIN_LOSS, line.step(), line.loss());
    }

    @Override
    public void epochEnd(EpochSummary s, long step) {
        scalar(TEST_LOSS, step, (float) s.test().meanLoss());
        scalar(TEST_ACCURACY, step, (float) s.test().accuracy());
        scalar(LR, step, s.lr());
        scalar(IMAGES_PER_SECOND, step, (float) s.imagesPerSecond());
    }

    /** An Event's bytes: wall_time, step when not 0, then file_version or summary when given. */
    static byte[] event(double wallTime, long step, String fileVersion, byte[] summary) {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        tag(e, 1, FIXED64);
        littleEndian(e, Double.doubleToRawLongBits(wallTime), 8);
        if (step != 0) {
            tag(e, 2, VARINT);
            varint(e, step);
        }
        if (fileVersion != null) {
            bytesField(e, 3, fileVersion.getBytes(StandardCharsets.UTF_8));
        }
        if (summary != null) {
            bytesField(e, 5, summary);
        }
        return e.toByteArray();
    }

    private void write(byte[] event) throws IOException {
        out.write(TfRecord.frame(event)); // one write per record, unbuffered: a reader sees whole records
    }

    private static void tag(ByteArrayOutputStream out, int field, int wireType) {
        varint(out, (long) field << 3 | wireType);
    }

    private static void bytesField(ByteArrayOutputStream out, int field, byte[] bytes) {
        tag(out, field, LENGTH_DELIMITED);
        varint(out, bytes.length);
        out.writeBytes(bytes);
    }

    /** Base-128, low group first; a negative int64 takes ten bytes, as protobuf encodes it. */
    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static void littleEndian(ByteArrayOutputStream out, long v, int bytes) {
        for (int i = 0; i < bytes; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }

    /** This machine's name, as TensorFlow puts it in the file name; characters unsafe in a file name become '_'. */
    static String hostname() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                Path proc = Path.of("/proc/sys/kernel/hostname");
                h = Files.isReadable(proc) ? Files.readString(proc).trim() : InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                h = "";
            }
        }
        return h.isBlank() ? "localhost" : h.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static InputException failure(Path file, IOException e) {
        return new InputException(file + ": cannot write TensorBoard events: " + IoReasons.reason(e), e);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw failure(file, e);
        }
    }
}
