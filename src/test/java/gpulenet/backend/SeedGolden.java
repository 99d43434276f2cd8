package gpulenet.backend;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.format.Safetensors;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One file of golden/seeds (the PyTorch tutorials' reference steps, see its README). Tensors of more
 * than 4096 elements are stored as the sample flat[0::17] of their row-major flattening, with the sum
 * and absolute sum of all elements in the metadata; {@link #assertMatches} compares a complete tensor
 * computed here with such a golden one.
 */
public final class SeedGolden {
    /** The stride of the stored samples. */
    public static final int STRIDE = 17;

    private final Safetensors file;
    private final JsonObject sampled;

    private SeedGolden(Safetensors file) {
        this.file = file;
        this.sampled = JsonParser.parseString(file.metadata().getOrDefault("sampled", "{}")).getAsJsonObject();
    }

    /** golden/seeds/{@code name}.safetensors from the test resources, e.g. "cnn3_step". */
    public static SeedGolden load(String name) {
        try {
            return new SeedGolden(Safetensors.read(Path.of(SeedGolden.class.getResource(
                    "/golden/seeds/" + name + ".safetensors").toURI())));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A hyper-parameter of the file's optimizer (metadata "hyper", e.g. "lr"). */
    public double hyper(String key) {
        return JsonParser.parseString(file.metadata().get("hyper")).getAsJsonObject().get(key).getAsDouble();
    }

    /** The names of the optimizer's parameters ("param.&lt;p&gt;" without the prefix), in file order. */
    public List<String> parameters() {
        return file.names().stream().filter(n -> n.startsWith("param.")).map(n -> n.substring(6)).toList();
    }

    public boolean isSampled(String name) {
        return sampled.has(name);
    }

    /** The tensor's full shape (also for a sampled one). */
    public int[] shape(String name) {
        if (!isSampled(name)) {
            return file.shape(name);
        }
        JsonArray dims = sampled.getAsJsonObject(name).getAsJsonArray("shape");
        int[] shape = new int[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i).getAsInt();
        }
        return shape;
    }

    /** The values as stored: the complete tensor, or its sample flat[0::17]. */
    public float[] stored(String name) {
        return file.floats(name);
    }

    /** A complete F32 tensor; fails for a sampled one. */
    public float[] full(String name) {
        assertTrue(!isSampled(name), name + " is stored sampled, not complete");
        return file.floats(name);
    }

    /** A U8 tensor's bytes (Dropout2d masks). */
    public byte[] bytes(String name) {
        Safetensors.Entry e = file.entry(name);
        assertEquals("U8", e.dtype(), name + " dtype");
        byte[] out = new byte[(int) e.size()];
        e.data().duplicate().get(out);
        return out;
    }

    public long[] longs(String name) {
        return file.longs(name);
    }

    /** flat[0::17]: the elements a sampled golden tensor holds. */
    public static float[] sample(float[] full) {
        float[] out = new float[(full.length + STRIDE - 1) / STRIDE];
        for (int i = 0; i < out.length; i++) {
            out[i] = full[i * STRIDE];
        }
        return out;
    }

    /**
     * The complete tensor {@code actual} against golden {@code name} within abs + rel*|golden| at every
     * stored element; for a sampled one also its sum against the golden sum of all elements, within
     * 1e-5 * abs_sum (the README's check).
     */
    public void assertMatches(String name, float[] actual, double abs, double rel) {
        int[] shape = shape(name);
        assertEquals(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b), actual.length,
                name + ": element count of " + Arrays.toString(shape));
        if (!isSampled(name)) {
            Tolerance.assertClose(file.floats(name), actual, abs, rel, name);
            return;
        }
        Tolerance.assertClose(file.floats(name), sample(actual), abs, rel, name + " (sampled [0::17])");
        JsonObject info = sampled.getAsJsonObject(name);
        double sum = 0;
        for (float v : actual) {
            sum += v;
        }
        double limit = 1e-5 * info.get("abs_sum").getAsDouble();
        double expected = info.get("sum").getAsDouble();
        assertTrue(Math.abs(sum - expected) <= limit, name + ": sum " + sum + ", golden " + expected + " (tolerance " + limit + ")");
    }

    /** The complete tensor {@code actual} equals golden {@code name} bitwise at every stored element. */
    public void assertBitwise(String name, float[] actual) {
        assertArrayEquals(file.floats(name), isSampled(name) ? sample(actual) : actual, name + " bitwise");
    }
}
