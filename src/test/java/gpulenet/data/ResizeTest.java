package gpulenet.data;

import gpulenet.format.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Resize against torchvision's Resize((32,32)) as recorded in the lenet5-32 golden file (its images_u8 and
 * Pillow's tap table), and against Pillow's rules worked out by hand for shrinking.
 */
class ResizeTest {
    private static final int ONE = 1 << Resize.PRECISION_BITS;
    private static Safetensors golden;

    @BeforeAll
    static void load() throws Exception {
        golden = Safetensors.read(Path.of(ResizeTest.class.getResource("/golden/seeds/lenet5-32_step.safetensors").toURI()));
    }

    @Test
    void tapTableIsPillowsFor28To32() {
        int[] bounds = ints("resize_bounds", 32, 2);
        int[] weights = ints("resize_weights", 32, 3);
        Resize.Taps taps = Resize.taps(28, 32);
        for (int o = 0; o < 32; o++) {
            assertEquals(bounds[2 * o], taps.first()[o], "first source index of output " + o);
            assertEquals(bounds[2 * o + 1], taps.count()[o], "taps of output " + o);
            for (int k = 0; k < 3; k++) {
                int mine = k < taps.width() ? taps.weight(o, k) : 0;
                assertEquals(weights[3 * o + k], mine, "weight " + k + " of output " + o);
            }
        }
    }

    @Test
    void trainingImagesResizeToTorchvisionsBytes() {
        long[] indices = golden.longs("indices", 8);
        byte[] expected = bytes("images_u8", 8, 32, 32);
        Dataset train = DataSets.embedded().train();
        for (int n = 0; n < indices.length; n++) {
            int i = (int) indices[n];
            byte[] image = Arrays.copyOfRange(train.images(), i * 784, (i + 1) * 784);
            assertArrayEquals(Arrays.copyOfRange(expected, n * 1024, (n + 1) * 1024), Resize.bilinear(image, 28, 28, 32),
                    "training image " + i);
        }
    }

    @Test
    void aDataSetIsResizedImageByImageWithItsLabelsKept() {
        Dataset test = DataSets.embedded().test();
        Dataset small = new Dataset("part", Arrays.copyOf(test.images(), 3 * 784), Arrays.copyOf(test.labels(), 3), 3, 28, 28);
        Dataset resized = Resize.bilinear(small, 32);
        assertEquals("part", resized.name());
        assertEquals(32, resized.rows());
        assertEquals(32, resized.cols());
        assertArrayEquals(small.labels(), resized.labels());
        for (int n = 0; n < 3; n++) {
            assertArrayEquals(Resize.bilinear(Arrays.copyOfRange(small.images(), n * 784, (n + 1) * 784), 28, 28, 32),
                    Arrays.copyOfRange(resized.images(), n * 1024, (n + 1) * 1024), "image " + n);
        }
    }

    /**
     * Halving widens the triangle to two source pixels each side: output o is centred at 2o + 1 and reads
     * 2o-1 .. 2o+2 with weights 1/8, 3/8, 3/8, 1/8; the first output only the three from 0 (from -0.5,
     * truncated to 0), 3/8 1/8 lost, renormalised to 3/7, 3/7, 1/7.
     */
    @Test
    void shrinkingWidensTheFilterAsPillowDoes() {
        Resize.Taps taps = Resize.taps(28, 14);
        assertEquals(5, taps.width());
        assertEquals(0, taps.first()[0]);
        assertEquals(3, taps.count()[0]);
        assertEquals(fixed(3.0 / 7), taps.weight(0, 0));
        assertEquals(fixed(3.0 / 7), taps.weight(0, 1));
        assertEquals(fixed(1.0 / 7), taps.weight(0, 2));
        for (int o = 1; o < 13; o++) {
            assertEquals(2 * o - 1, taps.first()[o], "output " + o);
            assertEquals(4, taps.count()[o], "output " + o);
            assertArrayEquals(new int[] {ONE / 8, 3 * ONE / 8, 3 * ONE / 8, ONE / 8, 0},
                    Arrays.copyOfRange(taps.weights(), o * 5, o * 5 + 5), "output " + o);
        }
        assertEquals(25, taps.first()[13]);
        assertEquals(3, taps.count()[13]);
    }

    @Test
    void aConstantImageStaysConstantAtAnySize() {
        byte[] grey = new byte[20 * 28];
        Arrays.fill(grey, (byte) 201);
        for (int size : new int[] {1, 5, 13, 20, 28, 32, 57}) {
            byte[] expected = new byte[size * size];
            Arrays.fill(expected, (byte) 201);
            assertArrayEquals(expected, Resize.bilinear(grey, 20, 28, size), "size " + size);
        }
    }

    @Test
    void theSameSizeIsTheSameImage() {
        byte[] image = Arrays.copyOf(DataSets.embedded().test().images(), 784);
        assertArrayEquals(image, Resize.bilinear(image, 28, 28, 28));
    }

    @Test
    void anImageOfTheWrongLengthIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Resize.bilinear(new byte[783], 28, 28, 32));
        assertThrows(IllegalArgumentException.class, () -> Resize.taps(28, 0));
    }

    private static int fixed(double w) {
        return (int) (0.5 + w * ONE);
    }

    private static int[] ints(String name, int... shape) {
        Safetensors.Entry e = typed(name, "I32", shape);
        int[] out = new int[(int) e.size()];
        e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    private static byte[] bytes(String name, int... shape) {
        Safetensors.Entry e = typed(name, "U8", shape);
        byte[] out = new byte[(int) e.size()];
        ByteBuffer data = e.data().duplicate();
        data.get(out);
        return out;
    }

    private static Safetensors.Entry typed(String name, String dtype, int... shape) {
        Safetensors.Entry e = golden.entry(name);
        assertEquals(dtype, e.dtype(), name);
        assertArrayEquals(shape, e.shape(), name);
        return e;
    }
}
