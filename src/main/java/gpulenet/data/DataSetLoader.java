package gpulenet.data;

import gpulenet.data.IdxReader.IdxArray;
import gpulenet.io.InputException;
import gpulenet.io.InputFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads an image-classification data set laid out as MNIST is: four IDX files with the standard names,
 * each raw or gzip-compressed. Fashion-MNIST and the like load the same way. Besides what
 * {@link IdxReader} checks per file, it checks that images and labels agree in count, that train and
 * test images have the same size, and that every label is a class the model has.
 */
public final class DataSetLoader {
    /** LeNet-5 has 10 outputs, so labels must be 0..9. */
    public static final int CLASSES = 10;

    static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    private static final String GZ = ".gz";
    private static final String EMBEDDED_NAME = "mnist";
    private static final String EMBEDDED_DIR = "mnist/";

    /** Where the IDX file with a standard name comes from: a directory or the jar. */
    @FunctionalInterface
    interface IdxSource {
        IdxArray read(String standardName, int ndims);
    }

    /** The files of the MNIST copy inside the jar. */
    static final IdxSource EMBEDDED = (standardName, ndims) -> {
        try (InputStream in = embeddedFile(standardName)) {
            return IdxReader.read(in, EMBEDDED_DIR + standardName + GZ, ndims);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    };

    private DataSetLoader() {
    }

    /** Loads the data set in {@code dir}; its name is the directory's name. */
    public static DataSets load(Path dir) {
        requireDirectory(dir);
        return load(nameOf(dir), files(dir));
    }

    /** Loads only the test split of the data set in {@code dir}: the training files need not be there. */
    public static Dataset loadTest(Path dir) {
        requireDirectory(dir);
        return test(nameOf(dir), files(dir));
    }

    /** Loads the real MNIST shipped inside the jar. */
    public static DataSets embedded() {
        return load(EMBEDDED_NAME, EMBEDDED);
    }

    /** Loads only the test split of the MNIST inside the jar, without decompressing the training files. */
    public static Dataset embeddedTest() {
        return test(EMBEDDED_NAME, EMBEDDED);
    }

    /** Writes the four gzip files of the embedded MNIST into {@code dir}, under their standard names. */
    public static void copyEmbedded(Path dir) throws IOException {
        for (String name : new String[]{TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS}) {
            try (InputStream in = embeddedFile(name)) {
                Files.copy(in, dir.resolve(name + GZ));
            }
        }
    }

    private static InputStream embeddedFile(String standardName) {
        String resource = EMBEDDED_DIR + standardName + GZ;
        InputStream in = DataSetLoader.class.getResourceAsStream("/" + resource);
        if (in == null) {
            throw new IllegalStateException("embedded data set missing from the build: " + resource);
        }
        return in;
    }

    private static DataSets load(String name, IdxSource source) {
        IdxArray trainImages = source.read(TRAIN_IMAGES, 3);
        Dataset train = split(name + "-train", trainImages, source.read(TRAIN_LABELS, 1));
        IdxArray testImages = source.read(TEST_IMAGES, 3);
        if (testImages.dim(1) != trainImages.dim(1) || testImages.dim(2) != trainImages.dim(2)) {
            throw new InputException(String.format("%s: images are %dx%d, but %s has %dx%d",
                    testImages.source(), testImages.dim(1), testImages.dim(2),
                    trainImages.source(), trainImages.dim(1), trainImages.dim(2)));
        }
        return new DataSets(name, train, testSplit(name, testImages, source));
    }

    /** The test split alone; the training files are not read. */
    static Dataset test(String name, IdxSource source) {
        return testSplit(name, source.read(TEST_IMAGES, 3), source);
    }

    private static Dataset testSplit(String name, IdxArray images, IdxSource source) {
        return split(name + "-test", images, source.read(TEST_LABELS, 1));
    }

    private static Dataset split(String name, IdxArray images, IdxArray labels) {
        int count = images.dim(0);
        if (labels.dim(0) != count) {
            throw new InputException(String.format("%s: %d labels, but %s has %d images",
                    labels.source(), labels.dim(0), images.source(), count));
        }
        byte[] y = labels.data();
        for (int i = 0; i < y.length; i++) {
            int label = y[i] & 0xff;
            if (label >= CLASSES) {
                throw new InputException(String.format("%s: label %d at index %d, expected 0..%d (the model has %d classes)",
                        labels.source(), label, i, CLASSES - 1, CLASSES));
            }
        }
        return new Dataset(name, images.data(), y, count, images.dim(1), images.dim(2));
    }

    /** Every file in {@code dir} with a standard name, raw or {@code .gz}: what loading it may read. */
    public static List<Path> candidateFiles(Path dir) {
        List<Path> found = new ArrayList<>();
        for (String name : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
            for (Path p : List.of(dir.resolve(name), dir.resolve(name + GZ))) {
                if (Files.exists(p)) {
                    found.add(p);
                }
            }
        }
        return found;
    }

    private static IdxSource files(Path dir) {
        return (standardName, ndims) -> IdxReader.read(find(dir, standardName), ndims);
    }

    private static void requireDirectory(Path dir) {
        String name = "data directory " + dir;
        BasicFileAttributes a = InputFiles.attributes(dir, name).orElseThrow(() -> new InputException(name + " does not exist"));
        if (!a.isDirectory()) {
            throw new InputException(name + " is not a directory but " + InputFiles.kind(dir, a));
        }
    }

    /**
     * The file with the standard name, raw or {@code .gz}. Both at once is refused: they may hold
     * different data, and silently taking one would hide which.
     */
    private static Path find(Path dir, String standardName) {
        Path raw = dir.resolve(standardName);
        Path gz = dir.resolve(standardName + GZ);
        boolean hasRaw = InputFiles.attributes(raw, raw.toString()).isPresent();
        boolean hasGz = InputFiles.attributes(gz, gz.toString()).isPresent();
        if (hasRaw && hasGz) {
            throw new InputException("data directory " + dir + " has both " + standardName + " and " + standardName + GZ
                    + ", which may differ: keep one");
        }
        if (hasRaw) {
            return raw;
        }
        if (hasGz) {
            return gz;
        }
        throw new InputException("data directory " + dir + ": missing " + standardName + " (or " + standardName + GZ + ")");
    }

    private static String nameOf(Path dir) {
        Path fileName = dir.toAbsolutePath().normalize().getFileName();
        return fileName != null ? fileName.toString() : dir.toString();
    }
}
