package gpulenet.format;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import gpulenet.io.InputException;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, parsed and checked against the length of the data section it
 * describes, so that a bad header is rejected before that section is read. Beyond the shape of each
 * entry it checks what would otherwise load silently as wrong weights: a key given twice (a plain JSON
 * parser keeps the last one) and byte ranges that overlap or leave gaps (the tensors must tile the data
 * section exactly, as the reference implementation requires).
 *
 * @param tensors  name to tensor, in header order
 * @param metadata the {@code __metadata__} string map, empty when absent
 */
record SafetensorsHeader(Map<String, Tensor> tensors, Map<String, String> metadata) {
    static final String METADATA = "__metadata__";

    /** One tensor's entry: dtype as in the format ("F32", "I64", ...), shape, and its byte range in the data section. */
    record Tensor(String name, String dtype, int[] shape, long begin, long end) {
    }

    /** Parses {@code json} (the header's bytes) of {@code source}, whose data section has {@code dataLength} bytes. */
    static SafetensorsHeader parse(String source, byte[] json, long dataLength) {
        JsonObject header = readObject(source, json);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            String name = e.getKey();
            try {
                if (name.equals(METADATA)) {
                    for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                        if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString()) {
                            throw new InputException(source + ": corrupt safetensors header: " + METADATA + " value for "
                                    + m.getKey() + " is not a string");
                        }
                        metadata.put(m.getKey(), m.getValue().getAsString());
                    }
                } else {
                    tensors.put(name, tensor(source, name, e.getValue().getAsJsonObject(), dataLength));
                }
            } catch (NullPointerException | IllegalStateException | ClassCastException | IndexOutOfBoundsException
                     | UnsupportedOperationException | NumberFormatException | ArithmeticException ex) {
                throw new InputException(source + ": corrupt safetensors header entry for " + name);
            }
        }
        requireTiling(source, new ArrayList<>(tensors.values()), dataLength);
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static Tensor tensor(String source, String name, JsonObject o, long dataLength) {
        String dtype = string(o.get("dtype"));
        long elementBytes = elementBytes(source, name, dtype);
        JsonArray shapeJson = o.getAsJsonArray("shape");
        int[] shape = new int[shapeJson.size()];
        long size = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = integer(shapeJson.get(i));
            if (d < 0) {
                throw new InputException(source + ": tensor " + name + " has a negative dimension");
            }
            shape[i] = Math.toIntExact(d);
            size = Math.multiplyExact(size, d);
        }
        long bytes = Math.multiplyExact(size, elementBytes);
        JsonArray offsets = o.getAsJsonArray("data_offsets");
        if (offsets.size() != 2) {
            throw new InputException(source + ": corrupt safetensors header entry for " + name);
        }
        long begin = integer(offsets.get(0));
        long end = integer(offsets.get(1));
        if (begin < 0 || end < begin || end > dataLength) {
            throw new InputException(source + ": truncated or corrupt: tensor " + name + " spans bytes ["
                    + begin + ", " + end + ") but the data section has " + dataLength);
        }
        if (end - begin != bytes) {
            throw new InputException(source + ": corrupt: tensor " + name + " " + dtype + Arrays.toString(shape)
                    + " needs " + bytes + " bytes, offsets give " + (end - begin));
        }
        return new Tensor(name, dtype, shape, begin, end);
    }

    /** A JSON string; anything else is an IllegalStateException. */
    private static String string(JsonElement e) {
        if (!e.getAsJsonPrimitive().isString()) {
            throw new IllegalStateException("not a string");
        }
        return e.getAsString();
    }

    /** A JSON number that is an integer and fits a long; anything else is an ArithmeticException or the like. */
    private static long integer(JsonElement e) {
        if (!e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalStateException("not a number");
        }
        return e.getAsBigDecimal().longValueExact();
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

    /** Every data byte belongs to exactly one tensor: sorted by offset, each begins where the one before ends. */
    private static void requireTiling(String source, List<Tensor> tensors, long dataLength) {
        tensors.sort(Comparator.comparingLong(Tensor::begin).thenComparingLong(Tensor::end));
        long next = 0;
        Tensor previous = null;
        for (Tensor t : tensors) {
            if (t.begin() < next) {
                throw new InputException(source + ": corrupt: tensors " + previous.name() + " [" + previous.begin() + ", "
                        + previous.end() + ") and " + t.name() + " [" + t.begin() + ", " + t.end() + ") overlap");
            }
            if (t.begin() > next) {
                throw new InputException(source + ": corrupt: bytes [" + next + ", " + t.begin()
                        + ") of the data section belong to no tensor");
            }
            next = t.end();
            previous = t;
        }
        if (next != dataLength) {
            throw new InputException(source + ": corrupt: tensors cover " + next + " bytes of a " + dataLength
                    + "-byte data section");
        }
    }

    /** The header as a JSON object: strict JSON in UTF-8, one object, no key twice in any object. */
    private static JsonObject readObject(String source, byte[] json) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new InputException(source + ": corrupt safetensors header (not UTF-8)");
        }
        try (JsonReader in = new JsonReader(new StringReader(text))) {
            in.setStrictness(Strictness.STRICT);
            if (in.peek() != JsonToken.BEGIN_OBJECT) {
                throw new InputException(source + ": corrupt safetensors header (not a JSON object)");
            }
            JsonElement header = value(source, in, null);
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new InputException(source + ": corrupt safetensors header (data after the JSON object)");
            }
            return header.getAsJsonObject();
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new InputException(source + ": corrupt safetensors header (not a JSON object)");
        }
    }

    /** The next value, as a tree; {@code owner} is the key of the object it belongs to, null at the top. */
    private static JsonElement value(String source, JsonReader in, String owner) throws IOException {
        switch (in.peek()) {
            case BEGIN_OBJECT: {
                JsonObject o = new JsonObject();
                in.beginObject();
                while (in.hasNext()) {
                    String key = in.nextName();
                    if (o.has(key)) {
                        throw new InputException(source + ": corrupt safetensors header: duplicate key \"" + key + "\""
                                + (owner != null ? " in " + owner : ""));
                    }
                    o.add(key, value(source, in, key));
                }
                in.endObject();
                return o;
            }
            case BEGIN_ARRAY: {
                JsonArray a = new JsonArray();
                in.beginArray();
                while (in.hasNext()) {
                    a.add(value(source, in, owner));
                }
                in.endArray();
                return a;
            }
            case STRING:
                return new JsonPrimitive(in.nextString());
            case NUMBER:
                return new JsonPrimitive(new BigDecimal(in.nextString()));
            case BOOLEAN:
                return new JsonPrimitive(in.nextBoolean());
            case NULL:
                in.nextNull();
                return JsonNull.INSTANCE;
            default:
                throw new IllegalStateException("unexpected " + in.peek());
        }
    }
}
