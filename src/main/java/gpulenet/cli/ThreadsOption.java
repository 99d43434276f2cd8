package gpulenet.cli;

import gpulenet.backend.Backends;
import picocli.CommandLine.Option;

/** --threads: the CPU backend's worker threads. */
public final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU worker threads; 0 means one per core, at most 4 per core (16 on a smaller machine). Default: ${DEFAULT-VALUE}.")
    int threads;

    /** The thread count the CPU backend gets (validated; 0 resolved to the core count). */
    public int cpuThreads() {
        return Backends.cpuThreads(threads);
    }
}
