package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.CaptureFailedException;
import gpulenet.backend.Replay;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Runs the steps of a loop whose per-step values live on the backend ({@link gpulenet.backend.StepScalars}):
 * on a backend that can capture (CUDA), the first step of each batch size runs op by op, which makes its
 * launch sites, and is then captured; every later step of that size is one replay of the capture (one CUDA
 * graph launch). Without graphs (asked for, the CPU, or a capture that failed, said in one line), every
 * step runs op by op.
 */
public final class StepRunner implements AutoCloseable {
    private final Backend backend;
    private final IntConsumer step;
    private final PrintWriter out;
    private final boolean asked;
    private final Map<Integer, Replay> replays = new HashMap<>();
    private final Set<Integer> ranOnce = new HashSet<>();
    private boolean graphs;
    private String failure;
    private int captures;

    /**
     * @param step queues one step of the given batch size, reading everything that changes from step to step
     *             on the backend
     * @param graphs capture and replay where the backend can
     * @param out where a failed capture is reported
     */
    public StepRunner(Backend backend, IntConsumer step, boolean graphs, PrintWriter out) {
        this.backend = backend;
        this.step = step;
        this.graphs = graphs;
        this.asked = graphs;
        this.out = out;
    }

    /** Queues one step of {@code batch} samples. */
    public void run(int batch) {
        Replay replay = replays.get(batch);
        if (replay != null) {
            replay.replay();
            return;
        }
        if (graphs && ranOnce.contains(batch)) {
            Optional<Replay> captured = capture(batch);
            if (captured.isPresent()) {
                replays.put(batch, captured.get());
                captured.get().replay();
                return;
            }
        }
        step.accept(batch);
        ranOnce.add(batch);
    }

    private Optional<Replay> capture(int batch) {
        try {
            Optional<Replay> captured = backend.capture(() -> step.accept(batch));
            if (captured.isEmpty()) {
                graphs = false;
            } else {
                captures++;
            }
            return captured;
        } catch (CaptureFailedException e) {
            graphs = false;
            failure = e.getMessage();
            out.println("CUDA graph capture failed (" + e.getMessage() + "): running every step kernel by kernel");
            out.flush();
            return Optional.empty();
        }
    }

    /** True while steps are (or will be) replayed from captures. */
    public boolean usesGraphs() {
        return graphs;
    }

    /**
     * How steps ran, for reports: "one CUDA graph launch per step (2 captured: one per batch size)",
     * "kernel by kernel (--no-graph)", or why not.
     */
    public String describe() {
        if (captures > 0) {
            return "one CUDA graph launch per step (" + captures + " captured: one per batch size)"
                    + (failure != null ? "; a later capture failed: " + failure : "");
        }
        if (failure != null) {
            return "kernel by kernel (CUDA graph capture failed: " + failure + ")";
        }
        return asked ? "kernel by kernel (no capture: this backend runs ops as they are called, or no batch size ran twice)"
                : "kernel by kernel (--no-graph)";
    }

    /** How many step graphs were captured: one per batch size that ran at least twice. */
    public int captures() {
        return captures;
    }

    @Override
    public void close() {
        replays.values().forEach(Replay::close);
        replays.clear();
    }
}
