package gpulenet.cli;

import gpulenet.data.DataSets;
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
}
