package gpulenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MNIST copy in the jar, against the checksums and label counts published with the data. */
class EmbeddedMnistTest {
    private static DataSets mnist;

    @BeforeAll
    static void load() {
        mnist = DataSets.embedded();
    }

    @Test
    void namesAndShapes() {
        assertEquals("mnist", mnist.name());
        assertEquals("mnist-train", mnist.train().name());
        assertEquals("mnist-test", mnist.test().name());
        assertEquals(60000, mnist.train().count());
        assertEquals(10000, mnist.test().count());
        assertEquals(28, mnist.train().rows());
        assertEquals(28, mnist.test().cols());
    }

    /** Evaluation's test split alone is the same data as the whole set's. */
    @Test
    void theTestSplitAloneIsTheWholeSetsTestSplit() {
        Dataset test = DataSets.embeddedTest();
        assertEquals(mnist.test().name(), test.name());
        assertArrayEquals(mnist.test().images(), test.images());
        assertArrayEquals(mnist.test().labels(), test.labels());
    }

    /** The files written out for other tools (bench --pytorch) load back to the same data set. */
    @Test
    void copiedFilesLoadBackToTheSameData(@TempDir Path dir) throws Exception {
        DataSets.copyEmbedded(dir);
        DataSets copy = DataSets.load(dir);
        assertArrayEquals(mnist.train().images(), copy.train().images());
        assertArrayEquals(mnist.train().labels(), copy.train().labels());
        assertArrayEquals(mnist.test().images(), copy.test().images());
        assertArrayEquals(mnist.test().labels(), copy.test().labels());
    }

    /** Rebuilding each file from what was loaded must give the published raw MD5: every byte is where it was. */
    @Test
    void loadedContentMatchesPublishedRawMd5() {
        assertEquals("6bbc9ace898e44ae57da46a324031adb", md5(imagesFile(mnist.train())));
        assertEquals("a25bea736e30d166cdddb491f175f624", md5(IdxFiles.labels(mnist.train().labels())));
        assertEquals("2646ac647ad5339dbf082846283269ea", md5(imagesFile(mnist.test())));
        assertEquals("27ae3e4e09519cfbb04c329615203637", md5(IdxFiles.labels(mnist.test().labels())));
    }

    @Test
    void labelCountsPerClassMatchPublishedCounts() {
        assertArrayEquals(new int[] {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, countPerClass(mnist.train()));
        assertArrayEquals(new int[] {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, countPerClass(mnist.test()));
    }

    private static byte[] imagesFile(Dataset d) {
        return IdxFiles.images(d.count(), d.rows(), d.cols(), d.images());
    }

    private static int[] countPerClass(Dataset d) {
        int[] counts = new int[DataSetLoader.CLASSES];
        for (int i = 0; i < d.count(); i++) {
            counts[d.label(i)]++;
        }
        return counts;
    }

    private static String md5(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
