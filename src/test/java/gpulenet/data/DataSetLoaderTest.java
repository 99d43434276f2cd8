package gpulenet.data;

import gpulenet.SpecialFiles;
import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static gpulenet.data.DataSetLoader.TEST_IMAGES;
import static gpulenet.data.DataSetLoader.TEST_LABELS;
import static gpulenet.data.DataSetLoader.TRAIN_IMAGES;
import static gpulenet.data.DataSetLoader.TRAIN_LABELS;
import static gpulenet.data.IdxFiles.classes;
import static gpulenet.data.IdxFiles.gzip;
import static gpulenet.data.IdxFiles.images;
import static gpulenet.data.IdxFiles.labels;
import static gpulenet.data.IdxFiles.pattern;
import static gpulenet.data.IdxFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small synthetic data sets in the MNIST layout (as Fashion-MNIST ships), valid and broken. */
class DataSetLoaderTest {
    private static final int TRAIN = 12;
    private static final int TEST = 5;
    private static final int ROWS = 6;
    private static final int COLS = 4;

    @TempDir
    Path root;

    private final byte[] trainPixels = pattern(TRAIN * ROWS * COLS, 1);
    private final byte[] trainLabels = classes(TRAIN, 3);
    private final byte[] testPixels = pattern(TEST * ROWS * COLS, 2);
    private final byte[] testLabels = classes(TEST, 7);

    @Test
    void loadsFashionMnistLikeLayoutWithMixedRawAndGzipFiles() throws IOException {
        Path dir = Files.createDirectory(root.resolve("fashion-mnist"));
        write(dir.resolve(TRAIN_IMAGES + ".gz"), gzip(images(TRAIN, ROWS, COLS, trainPixels)));
        write(dir.resolve(TRAIN_LABELS), labels(trainLabels));
        write(dir.resolve(TEST_IMAGES), images(TEST, ROWS, COLS, testPixels));
        write(dir.resolve(TEST_LABELS + ".gz"), gzip(labels(testLabels)));

        DataSets sets = DataSets.load(dir);

        assertEquals("fashion-mnist", sets.name());
        assertSplit(sets.train(), "fashion-mnist-train", TRAIN, trainPixels, trainLabels);
        assertSplit(sets.test(), "fashion-mnist-test", TEST, testPixels, testLabels);
    }

    @Test
    void rawFilesLoadTheSameAsGzipFiles() throws IOException {
        DataSets raw = DataSets.load(validDir("raw", false));
        DataSets gz = DataSets.load(validDir("gz", true));
        for (Dataset[] pair : new Dataset[][] {{raw.train(), gz.train()}, {raw.test(), gz.test()}}) {
            assertArrayEquals(pair[0].images(), pair[1].images());
            assertArrayEquals(pair[0].labels(), pair[1].labels());
            assertEquals(pair[0].count(), pair[1].count());
        }
    }

    @Test
    void rejectsMissingDirectory() {
        Path dir = root.resolve("nowhere");
        assertError(dir, "data directory " + dir + " does not exist");
    }

    @Test
    void rejectsFileGivenAsDirectorySayingWhatItIs() {
        Path file = write(root.resolve("plain-file"), new byte[] {1});
        assertError(file, "data directory " + file + " is not a directory but a regular file");
        assertError(SpecialFiles.ZERO_DEVICE, "data directory /dev/zero is not a directory but a character device");
    }

    @Test
    void aSymbolicLinkLoopIsReportedAsOneNotAsMissing() throws IOException {
        Path loop = loop("loop");
        assertError(loop, "data directory " + loop + ": cannot read: too many levels of symbolic links");

        Path dir = validDir("looped-file", false);
        Files.delete(dir.resolve(TRAIN_LABELS));
        Files.createSymbolicLink(dir.resolve(TRAIN_LABELS), loop);
        assertError(dir, dir.resolve(TRAIN_LABELS) + ": cannot read: too many levels of symbolic links");
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFifoOrADeviceInTheDirectoryIsReportedAsWhatItIs() throws IOException {
        Path dir = validDir("special", false);
        Files.delete(dir.resolve(TEST_IMAGES));
        SpecialFiles.fifo(dir.resolve(TEST_IMAGES));
        assertError(dir, dir.resolve(TEST_IMAGES) + ": not a regular file: a FIFO");

        Files.delete(dir.resolve(TEST_IMAGES));
        Files.createSymbolicLink(dir.resolve(TEST_IMAGES), SpecialFiles.ZERO_DEVICE);
        assertError(dir, dir.resolve(TEST_IMAGES) + ": not a regular file: a character device");

        Files.delete(dir.resolve(TEST_IMAGES));
        Files.createDirectory(dir.resolve(TEST_IMAGES));
        assertError(dir, dir.resolve(TEST_IMAGES) + ": not a regular file: a directory");
    }

    @Test
    void refusesARawAndAGzipFileOfTheSameName() throws IOException {
        Path dir = validDir("both", false);
        write(dir.resolve(TRAIN_IMAGES + ".gz"), gzip(images(TRAIN, ROWS, COLS, pattern(TRAIN * ROWS * COLS, 9))));
        assertError(dir, "data directory " + dir + " has both " + TRAIN_IMAGES + " and " + TRAIN_IMAGES + ".gz, which may differ");
    }

    @Test
    void theTestSplitLoadsWithoutTheTrainingFiles() throws IOException {
        Path dir = validDir("t10k-only", false);
        Files.delete(dir.resolve(TRAIN_IMAGES));
        write(dir.resolve(TRAIN_LABELS), new byte[] {1, 2, 3});
        assertSplit(DataSets.loadTest(dir), "t10k-only-test", TEST, testPixels, testLabels);
        assertError(dir, "missing " + TRAIN_IMAGES);
    }

    @Test
    void theTestSplitIsCheckedAsTheWholeSetIs() throws IOException {
        Path dir = validDir("t10k-bad", true);
        write(dir.resolve(TEST_LABELS + ".gz"), gzip(labels(Arrays.copyOf(testLabels, TEST - 1))));
        InputException e = assertThrows(InputException.class, () -> DataSets.loadTest(dir));
        assertTrue(e.getMessage().contains(": 4 labels, but "), e.getMessage());
        InputException missing = assertThrows(InputException.class, () -> DataSets.loadTest(root.resolve("absent")));
        assertTrue(missing.getMessage().endsWith(" does not exist"), missing.getMessage());
    }

    /** The embedded MNIST's test split alone asks for the two t10k files and nothing else. */
    @Test
    void theEmbeddedTestSplitReadsOnlyTheT10kFiles() {
        List<String> asked = new ArrayList<>();
        Dataset test = DataSetLoader.test("mnist", (name, ndims) -> {
            asked.add(name);
            return DataSetLoader.EMBEDDED.read(name, ndims);
        });
        assertEquals(List.of(TEST_IMAGES, TEST_LABELS), asked);
        assertEquals(10000, test.count());
        assertEquals("mnist-test", test.name());
    }

    @Test
    void rejectsMissingFileNamingItAndTheDirectory() throws IOException {
        Path dir = validDir("incomplete", true);
        Files.delete(dir.resolve(TEST_LABELS + ".gz"));
        assertError(dir, "data directory " + dir + ": missing t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz)");
    }

    @Test
    void rejectsLabelCountThatDiffersFromImageCount() throws IOException {
        Path dir = validDir("mismatch", true);
        write(dir.resolve(TRAIN_LABELS + ".gz"), gzip(labels(Arrays.copyOf(trainLabels, TRAIN - 1))));
        assertError(dir, dir.resolve(TRAIN_LABELS + ".gz") + ": 11 labels, but "
                + dir.resolve(TRAIN_IMAGES + ".gz") + " has 12 images");
    }

    @Test
    void rejectsTestImagesOfAnotherSizeThanTrainingImages() throws IOException {
        Path dir = validDir("sizes", false);
        write(dir.resolve(TEST_IMAGES), images(TEST, COLS, ROWS, testPixels));
        assertError(dir, dir.resolve(TEST_IMAGES) + ": images are 4x6, but " + dir.resolve(TRAIN_IMAGES) + " has 6x4");
    }

    @Test
    void rejectsLabelsBeyondTheModelsTenClasses() throws IOException {
        Path dir = validDir("labels", false);
        byte[] bad = testLabels.clone();
        bad[3] = 10;
        write(dir.resolve(TEST_LABELS), labels(bad));
        assertError(dir, dir.resolve(TEST_LABELS) + ": label 10 at index 3, expected 0..9");
    }

    @Test
    void reportsABrokenFileInsideTheDirectoryByItsPath() throws IOException {
        Path dir = validDir("broken", true);
        byte[] whole = images(TRAIN, ROWS, COLS, trainPixels);
        write(dir.resolve(TRAIN_IMAGES + ".gz"), gzip(Arrays.copyOf(whole, whole.length - 10)));
        assertError(dir, dir.resolve(TRAIN_IMAGES + ".gz") + ": truncated: expected 288 data bytes, found 278");
    }

    private Path validDir(String name, boolean gz) throws IOException {
        Path dir = Files.createDirectory(root.resolve(name));
        String suffix = gz ? ".gz" : "";
        byte[][] contents = {
            images(TRAIN, ROWS, COLS, trainPixels), labels(trainLabels),
            images(TEST, ROWS, COLS, testPixels), labels(testLabels)};
        String[] names = {TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS};
        for (int i = 0; i < names.length; i++) {
            write(dir.resolve(names[i] + suffix), gz ? gzip(contents[i]) : contents[i]);
        }
        return dir;
    }

    /** Two symbolic links that point at each other; the first is returned. */
    private Path loop(String name) throws IOException {
        Path a = root.resolve(name);
        Path b = root.resolve(name + "-back");
        Files.createSymbolicLink(a, b);
        Files.createSymbolicLink(b, a);
        return a;
    }

    private static void assertSplit(Dataset d, String name, int count, byte[] pixels, byte[] labels) {
        assertEquals(name, d.name());
        assertEquals(count, d.count());
        assertEquals(ROWS, d.rows());
        assertEquals(COLS, d.cols());
        assertArrayEquals(pixels, d.images());
        assertArrayEquals(labels, d.labels());
    }

    private static void assertError(Path dir, String expected) {
        InputException e = assertThrows(InputException.class, () -> DataSets.load(dir));
        assertTrue(e.getMessage().contains(expected), "message was: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
