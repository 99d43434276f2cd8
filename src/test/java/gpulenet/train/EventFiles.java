package gpulenet.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A TensorBoard event-file reader written from the formats' specifications, sharing no code with
 * {@link TensorBoardWriter}: TFRecord framing with both masked CRC32Cs checked (CRC32C computed bit by bit
 * here, not with java.util.zip), then a generic protobuf wire-format decoder picking out the Event, Summary
 * and Value fields. Anything malformed is an {@link AssertionError} naming the record.
 */
final class EventFiles {
    /** One scalar of an Event's Summary. */
    record Scalar(String tag, float value) {
    }

    /** The Event fields the writer uses; fileVersion null and values empty when absent. */
    record Event(double wallTime, long step, String fileVersion, List<Scalar> values) {
    }

    /** A scalar with the step of its event, for comparing series. */
    record Point(String tag, long step, float value) {
    }

    private EventFiles() {
    }

    /** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit. */
    static int crc32c(byte[] b, int offset, int length) {
        int crc = 0xffffffff;
        for (int i = offset; i < offset + length; i++) {
            crc ^= b[i] & 0xff;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
            }
        }
        return ~crc;
    }

    /** TensorFlow's masking: rotate right by 15 bits, add 0xa282ead8. */
    static int mask(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    /** Every record's data, with its length and both CRCs checked. */
    static List<byte[]> records(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int at = b.position();
            int n = out.size();
            check(b.remaining() >= 12, "record " + n + ": truncated header");
            long length = b.getLong();
            int lengthCrc = b.getInt();
            check(lengthCrc == mask(crc32c(all, at, 8)), "record " + n + ": length CRC mismatch");
            check(length >= 0 && length + 4 <= b.remaining(), "record " + n + ": length " + length + " past the end");
            byte[] data = new byte[(int) length];
            b.get(data);
            int dataCrc = b.getInt();
            check(dataCrc == mask(crc32c(data, 0, data.length)), "record " + n + ": data CRC mismatch");
            out.add(data);
        }
        return out;
    }

    static List<Event> events(Path file) throws IOException {
        List<Event> events = new ArrayList<>();
        for (byte[] r : records(file)) {
            events.add(event(r));
        }
        return events;
    }

    /** Every scalar of the file, in order, with its event's step. */
    static List<Point> points(Path file) throws IOException {
        List<Point> points = new ArrayList<>();
        for (Event e : events(file)) {
            for (Scalar s : e.values()) {
                points.add(new Point(s.tag(), e.step(), s.value()));
            }
        }
        return points;
    }

    /** Event{double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5}. */
    static Event event(byte[] data) {
        Wire w = new Wire(data);
        double wallTime = 0;
        long step = 0;
        String fileVersion = null;
        List<Scalar> values = new ArrayList<>();
        while (w.more()) {
            long key = w.varint();
            int field = (int) (key >>> 3), type = (int) (key & 7);
            if (field == 1 && type == 1) {
                wallTime = Double.longBitsToDouble(w.fixed(8));
            } else if (field == 2 && type == 0) {
                step = w.varint();
            } else if (field == 3 && type == 2) {
                fileVersion = new String(w.bytes(), StandardCharsets.UTF_8);
            } else if (field == 5 && type == 2) {
                Wire summary = new Wire(w.bytes());
                while (summary.more()) {
                    long k = summary.varint();
                    if (k == (1 << 3 | 2)) {
                        values.add(value(summary.bytes()));
                    } else {
                        summary.skip((int) (k & 7));
                    }
                }
            } else {
                w.skip(type);
            }
        }
        return new Event(wallTime, step, fileVersion, values);
    }

    /** Value{string tag = 1; float simple_value = 2}. */
    private static Scalar value(byte[] data) {
        Wire w = new Wire(data);
        String tag = null;
        Float value = null;
        while (w.more()) {
            long key = w.varint();
            if (key == (1 << 3 | 2)) {
                tag = new String(w.bytes(), StandardCharsets.UTF_8);
            } else if (key == (2 << 3 | 5)) {
                value = Float.intBitsToFloat((int) w.fixed(4));
            } else {
                w.skip((int) (key & 7));
            }
        }
        check(tag != null && value != null, "a Value without tag or simple_value");
        return new Scalar(tag, value);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    /** Protobuf wire format, reading forward. */
    private static final class Wire {
        private final byte[] b;
        private int at;

        Wire(byte[] b) {
            this.b = b;
        }

        boolean more() {
            return at < b.length;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; ; shift += 7) {
                check(shift < 70 && at < b.length, "bad varint");
                int x = b[at++] & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if (x < 0x80) {
                    return v;
                }
            }
        }

        long fixed(int n) {
            check(at + n <= b.length, "truncated fixed" + 8 * n);
            long v = 0;
            for (int i = 0; i < n; i++) {
                v |= (long) (b[at++] & 0xff) << (8 * i);
            }
            return v;
        }

        byte[] bytes() {
            int n = (int) varint();
            check(n >= 0 && at + n <= b.length, "truncated length-delimited field");
            byte[] out = new byte[n];
            System.arraycopy(b, at, out, 0, n);
            at += n;
            return out;
        }

        void skip(int type) {
            switch (type) {
                case 0 -> varint();
                case 1 -> fixed(8);
                case 2 -> bytes();
                case 5 -> fixed(4);
                default -> throw new AssertionError("wire type " + type);
            }
        }
    }
}
