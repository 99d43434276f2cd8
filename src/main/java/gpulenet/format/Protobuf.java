package gpulenet.format;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One protocol-buffers message being written, in the wire format (https://protobuf.dev/programming-guides/encoding/):
 * the little of it that ONNX's messages need. Every field is a tag (field number << 3 | wire type) followed by
 * its value: a varint (wire type 0) for integers and enums, or a varint length and that many bytes (wire type
 * 2) for strings, bytes and nested messages (the weights go as bytes, TensorProto's raw_data). A repeated
 * field is the same field written once per element (proto2's unpacked form, which onnx.proto's repeated int64
 * fields use and every parser reads). Fields are written in the order the calls come; writing them in field
 * number order, as protobuf's own serializers do, is the caller's choice.
 */
final class Protobuf {
    private static final int VARINT = 0;
    private static final int LENGTH_DELIMITED = 2;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** An int64, int32 or enum field; a negative value takes ten bytes, as protobuf writes it. */
    Protobuf varint(int field, long value) {
        tag(field, VARINT);
        rawVarint(value);
        return this;
    }

    /** A repeated int64 field, one element after the other (unpacked). */
    Protobuf varints(int field, long... values) {
        for (long v : values) {
            varint(field, v);
        }
        return this;
    }

    /** A string field, UTF-8. */
    Protobuf string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Protobuf bytes(int field, byte[] value) {
        tag(field, LENGTH_DELIMITED);
        rawVarint(value.length);
        out.writeBytes(value);
        return this;
    }

    /** A nested message field. */
    Protobuf message(int field, Protobuf message) {
        return bytes(field, message.toByteArray());
    }

    int size() {
        return out.size();
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    private void tag(int field, int wireType) {
        if (field < 1 || field > (1 << 29) - 1) {
            throw new IllegalArgumentException("field number " + field + " out of range");
        }
        rawVarint((long) field << 3 | wireType);
    }

    /** Seven bits a byte, least significant first, the high bit set on every byte but the last. */
    private void rawVarint(long value) {
        long v = value;
        while ((v & ~0x7FL) != 0) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }
}
