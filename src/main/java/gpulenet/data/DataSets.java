package gpulenet.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** A training split and a test split of the same data set. */
public record DataSets(String name, Dataset train, Dataset test) {
    /** The real MNIST embedded in the jar, named "mnist": the default data set. */
    public static DataSets embedded() {
        return DataSetLoader.embedded();
    }

    /** Only the test split of the embedded MNIST, for evaluation: the training files are not decompressed. */
    public static Dataset embeddedTest() {
        return DataSetLoader.embeddedTest();
    }

    /** Writes the embedded MNIST's four gzip files into {@code dir}, for tools that read files. */
    public static void copyEmbedded(Path dir) throws IOException {
        DataSetLoader.copyEmbedded(dir);
    }

    /** The files in {@code dir} that loading it may read (the standard names, raw or .gz, that are there). */
    public static List<Path> files(Path dir) {
        return DataSetLoader.candidateFiles(dir);
    }

    /** The IDX data set in {@code dir} (the four MNIST file names, raw or .gz), named after the directory. */
    public static DataSets load(Path dir) {
        return DataSetLoader.load(dir);
    }

    /** Only the test split of the IDX data set in {@code dir} (the t10k files), for evaluation. */
    public static Dataset loadTest(Path dir) {
        return DataSetLoader.loadTest(dir);
    }
}
