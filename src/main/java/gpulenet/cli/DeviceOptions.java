package gpulenet.cli;

import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;

/** The options every command that computes on one device and a data set shares: where, and on what data. */
public final class DeviceOptions extends BackendOptions {
    @Mixin
    DataOption data;

    /** The --data directory, or null for the MNIST inside the jar. */
    public Path dataDir() {
        return data.data;
    }

    /**
     * Loads the data set. Unless the device is cuda, the CPU backend's JIT set-up starts first, so that
     * it runs while the data loads rather than during the first training steps.
     */
    public DataSets loadData() {
        prepareCpu();
        return data.load();
    }

    /** Loads the test split alone, as {@link #loadData} does the whole data set. */
    public Dataset loadTestData() {
        prepareCpu();
        return data.loadTest();
    }
}
