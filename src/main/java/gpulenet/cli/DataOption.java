package gpulenet.cli;

import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --data: the IDX data set to use instead of the MNIST copy inside the jar. */
public final class DataOption {
    @Option(names = "--data", paramLabel = "DIR",
            description = "IDX data set directory with the four standard MNIST file names (optionally .gz). "
                    + "Default: the MNIST copy inside the jar.")
    Path data;

    public DataSets load() {
        return data != null ? DataSets.load(data) : DataSets.embedded();
    }

    /** The test split alone, for evaluation: a directory with only the t10k files will do. */
    public Dataset loadTest() {
        return data != null ? DataSets.loadTest(data) : DataSets.embeddedTest();
    }
}
