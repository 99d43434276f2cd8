package gpulenet.optim;

import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;

import java.util.Map;

/**
 * Updates a network's {@link gpulenet.model.Parameters} from their gradients with one backend op over the
 * flat buffers. Its state (momentum, Adam's moments) lives in buffers laid out like the parameters, named
 * as checkpoints store them: {@code optimizer.<state>.<parameter name>}.
 */
public interface Optimizer {

    /** "sgd" or "adam", as the --optimizer flag and checkpoints spell it. */
    String name();

    /**
     * One update. {@code stepsDone} counts the updates made before this one in the whole run (0 on the
     * first), which SGD's first momentum step and Adam's bias correction depend on.
     */
    void step(float lr, long stepsDone);

    /**
     * The same update with its per-step scalars read on the backend: row counters[0] of the schedule,
     * filled by {@link #scheduleRow}, and the steps done, counters[1] (see {@link StepScalars}); it ends the
     * step: the counters advance.
     */
    void step(StepScalars scalars);

    /**
     * Writes the {@link StepScalars#COLUMNS} scalars that {@link #step(StepScalars)} reads for the update made
     * after {@code stepsDone} updates at learning rate {@code lr} into {@code row} at {@code offset}.
     */
    void scheduleRow(float lr, long stepsDone, float[] row, int offset);

    /** The state buffers by state name ("momentum"; "exp_avg", "exp_avg_sq"), in a fixed order. */
    Map<String, Tensor> state();

    /** What differs from PyTorch's defaults, for logs: "momentum 0.9". */
    String describe();
}
