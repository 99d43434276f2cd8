package gpulenet.format;

import com.google.gson.Gson;
import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor
 * name to {dtype, shape, data_offsets} (plus an optional string map "__metadata__"), then the raw
 * little-endian data. It is what PyTorch users load with {@code safetensors.torch.load_file}, so
 * checkpoints and the PyTorch reference tensors share one reader and one writer.
 */
public final class Safetensors {
    private static final String METADATA = SafetensorsHeader.METADATA;
    /** Headers past this size are not plausible for this project and signal a corrupt length field. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    /**
     * The largest file read. The networks here have at most a few million float32 parameters, and a
     * checkpoint holds the values plus at most two optimizer-state copies (Adam's moments): some tens of
     * MiB. 512 MiB is generous for that and still fits in the heap, where a corrupt or wrong file of
     * gigabytes would not.
     */
    public static final long MAX_FILE_BYTES = 512L << 20;
    private static final int LENGTH_BYTES = 8;

    private final String source;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    /** One stored tensor: dtype string as in the format ("F32", "I64", ...), shape, and its bytes. */
    public record Entry(String dtype, int[] shape, ByteBuffer data) {
        public long size() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private Safetensors(String source, SafetensorsHeader header, byte[] bytes, int dataStart) {
        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (SafetensorsHeader.Tensor t : header.tensors().values()) {
            ByteBuffer data = ByteBuffer.wrap(bytes, dataStart + (int) t.begin(), (int) (t.end() - t.begin())).slice()
                    .order(ByteOrder.LITTLE_ENDIAN);
            tensors.put(t.name(), new Entry(t.dtype(), t.shape(), data));
        }
        this.source = source;
        this.entries = Collections.unmodifiableMap(tensors);
        this.metadata = header.metadata();
    }

    /**
     * Reads and validates a whole file; every problem is an {@link InputException} naming the file. The
     * path is checked to be a regular file of a plausible size before it is opened, and the length field
     * and the header are checked before the data section is read.
     */
    public static Safetensors read(Path path) {
        String source = path.toString();
        long size = InputFiles.requireRegularFile(path);
        if (size > MAX_FILE_BYTES) {
            throw new InputException(source + ": " + size + " bytes, too large for a checkpoint (at most "
                    + MAX_FILE_BYTES + " bytes are read)");
        }
        requireLengthField(source, size);
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
            long headerLen = headerLength(source, readFully(in, LENGTH_BYTES, source), size);
            long dataLen = size - LENGTH_BYTES - headerLen;
            SafetensorsHeader header = SafetensorsHeader.parse(source, readFully(in, (int) headerLen, source), dataLen);
            return new Safetensors(source, header, readFully(in, (int) dataLen, source), 0);
        } catch (IOException e) {
            throw new InputException(source + ": cannot read: " + IoReasons.reason(e));
        }
    }

    /** Parses safetensors bytes; {@code source} names them in error messages. */
    public static Safetensors parse(String source, byte[] bytes) {
        requireLengthField(source, bytes.length);
        long headerLen = headerLength(source, Arrays.copyOf(bytes, LENGTH_BYTES), bytes.length);
        int dataStart = LENGTH_BYTES + (int) headerLen;
        SafetensorsHeader header = SafetensorsHeader.parse(source, Arrays.copyOfRange(bytes, LENGTH_BYTES, dataStart),
                bytes.length - dataStart);
        return new Safetensors(source, header, bytes, dataStart);
    }

    private static void requireLengthField(String source, long fileLength) {
        if (fileLength < LENGTH_BYTES) {
            throw new InputException(source + ": not a safetensors file: " + fileLength + " bytes, too short for a header");
        }
    }

    /** The header length the first 8 bytes give, checked to fit in a file of {@code fileLength} bytes. */
    private static long headerLength(String source, byte[] lengthField, long fileLength) {
        long headerLen = ByteBuffer.wrap(lengthField).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > fileLength - LENGTH_BYTES) {
            throw new InputException(source + ": not a safetensors file or truncated: header length " + headerLen
                    + " does not fit in " + fileLength + " bytes");
        }
        return headerLen;
    }

    /** Exactly {@code length} bytes from where {@code in} stands; a file that has shrunk since it was sized is truncated. */
    private static byte[] readFully(FileChannel in, int length, String source) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (in.read(buf) < 0) {
                throw new InputException(source + ": truncated: the file ended while it was read");
            }
        }
        return buf.array();
    }

    public String source() {
        return source;
    }

    public Set<String> names() {
        return entries.keySet();
    }

    public boolean has(String name) {
        return entries.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new InputException(source + ": missing tensor " + name);
        }
        return e;
    }

    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    /** The F32 tensor {@code name}, checked to have {@code expectedShape} when one is given. */
    public float[] floats(String name, int... expectedShape) {
        Entry e = typed(name, "F32", expectedShape);
        float[] out = new float[(int) e.size()];
        e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** The I64 tensor {@code name}. */
    public long[] longs(String name, int... expectedShape) {
        Entry e = typed(name, "I64", expectedShape);
        long[] out = new long[(int) e.size()];
        e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        return out;
    }

    private Entry typed(String name, String dtype, int[] expectedShape) {
        Entry e = entry(name);
        if (!e.dtype().equals(dtype)) {
            throw new InputException(source + ": tensor " + name + " is " + e.dtype() + ", expected " + dtype);
        }
        if (expectedShape.length > 0 && !Arrays.equals(e.shape(), expectedShape)) {
            throw new InputException(source + ": tensor " + name + " has shape " + Arrays.toString(e.shape())
                    + ", expected " + Arrays.toString(expectedShape));
        }
        return e;
    }

    /** Collects tensors in insertion order and writes them as one safetensors file. */
    public static final class Writer {
        private final Map<String, Entry> entries = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        public Writer add(String name, int[] shape, float[] values) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return put(name, "F32", shape, b, values.length);
        }

        public Writer add(String name, int[] shape, long[] values) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(values);
            return put(name, "I64", shape, b, values.length);
        }

        public Writer metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        private Writer put(String name, String dtype, int[] shape, ByteBuffer data, int count) {
            Entry e = new Entry(dtype, shape.clone(), data);
            if (e.size() != count) {
                throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " does not hold " + count + " values");
            }
            if (name.equals(METADATA) || entries.putIfAbsent(name, e) != null) {
                throw new IllegalArgumentException("duplicate or reserved tensor name " + name);
            }
            return this;
        }

        /** The file's bytes: header padded with spaces to a multiple of 8, as the reference writer does. */
        public byte[] toBytes() {
            Map<String, Object> header = new LinkedHashMap<>();
            long offset = 0;
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                long len = e.getValue().data().capacity();
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("dtype", e.getValue().dtype());
                t.put("shape", e.getValue().shape());
                t.put("data_offsets", new long[]{offset, offset + len});
                header.put(e.getKey(), t);
                offset += len;
            }
            if (!metadata.isEmpty()) {
                header.put(METADATA, metadata);
            }
            byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                out.put((byte) ' ');
            }
            for (Entry e : entries.values()) {
                out.put(e.data().duplicate().clear());
            }
            return out.array();
        }

        /**
         * Writes to a temporary file beside {@code path}, forces it to disk, then renames it over
         * {@code path}, so a crash leaves either the old file or the new one, never half of one.
         */
        public void writeAtomically(Path path) throws IOException {
            AtomicFile.write(path, toBytes());
        }
    }
}
