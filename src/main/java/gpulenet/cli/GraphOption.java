package gpulenet.cli;

import picocli.CommandLine.Option;

/** --no-graph: queue every kernel of every training step instead of replaying each step as a CUDA graph. */
public final class GraphOption {
    @Option(names = "--no-graph",
            description = "On CUDA, launch every kernel of every step instead of capturing each batch size's training "
                    + "step once and replaying it as a CUDA graph (one launch per step). No effect on the CPU.")
    boolean noGraph;

    public boolean graphs() {
        return !noGraph;
    }
}
