package gpulenet.model;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gpulenet.AtomicFile;
import gpulenet.InputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
    private static final String METADATA = "__metadata__";
    /** Headers past this size are not plausible for this project and signal a corrupt length field. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

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

    private Safetensors(String source, Map<String, Entry> entries, Map<String, String> metadata) {
        this.source = source;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Reads and validates a whole file; every problem is an {@link InputException} naming the file. */
    public static Safetensors read(Path path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new InputException(path + ": no such file");
        } catch (IOException e) {
            throw new InputException(path + ": cannot read: " + e.getMessage());
        }
        return parse(path.toString(), bytes);
    }

    /** Parses safetensors bytes; {@code source} names them in error messages. */
    public static Safetensors parse(String source, byte[] bytes) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new InputException(source + ": not a safetensors file: " + bytes.length + " bytes, too short for a header");
        }
        long headerLen = buf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
            throw new InputException(source + ": not a safetensors file or truncated: header length " + headerLen
                    + " does not fit in " + bytes.length + " bytes");
        }
        JsonObject header;
        try {
            header = JsonParser.parseString(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new InputException(source + ": corrupt safetensors header (not a JSON object)");
        }
        int dataStart = 8 + (int) headerLen;
        long dataLen = bytes.length - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        long covered = 0;
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            String name = e.getKey();
            try {
                JsonObject o = e.getValue().getAsJsonObject();
                if (name.equals(METADATA)) {
                    for (Map.Entry<String, JsonElement> m : o.entrySet()) {
                        metadata.put(m.getKey(), m.getValue().getAsString());
                    }
                    continue;
                }
                String dtype = o.get("dtype").getAsString();
                JsonArray shapeJson = o.getAsJsonArray("shape");
                int[] shape = new int[shapeJson.size()];
                long size = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeJson.get(i).getAsInt();
                    if (shape[i] < 0) {
                        throw new InputException(source + ": tensor " + name + " has a negative dimension");
                    }
                    size *= shape[i];
                }
                JsonArray offsets = o.getAsJsonArray("data_offsets");
                long begin = offsets.get(0).getAsLong();
                long end = offsets.get(1).getAsLong();
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new InputException(source + ": truncated or corrupt: tensor " + name + " spans bytes ["
                            + begin + ", " + end + ") but the data section has " + dataLen);
                }
                if (end - begin != size * elementBytes(source, name, dtype)) {
                    throw new InputException(source + ": corrupt: tensor " + name + " " + dtype + Arrays.toString(shape)
                            + " needs " + size * elementBytes(source, name, dtype) + " bytes, offsets give " + (end - begin));
                }
                covered += end - begin;
                ByteBuffer data = ByteBuffer.wrap(bytes, dataStart + (int) begin, (int) (end - begin)).slice()
                        .order(ByteOrder.LITTLE_ENDIAN);
                entries.put(name, new Entry(dtype, shape, data));
            } catch (NullPointerException | IllegalStateException | ClassCastException | IndexOutOfBoundsException
                     | UnsupportedOperationException | NumberFormatException ex) {
                throw new InputException(source + ": corrupt safetensors header entry for " + name);
            }
        }
        if (covered != dataLen) {
            throw new InputException(source + ": corrupt: tensors cover " + covered + " bytes of a " + dataLen + "-byte data section");
        }
        return new Safetensors(source, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static int elementBytes(String source, String name, String dtype) {
        switch (dtype) {
            case "F64": case "I64": case "U64": return 8;
            case "F32": case "I32": case "U32": return 4;
            case "F16": case "BF16": case "I16": case "U16": return 2;
            case "I8": case "U8": case "BOOL": return 1;
            default: throw new InputException(source + ": tensor " + name + " has unknown dtype " + dtype);
        }
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
