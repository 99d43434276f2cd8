package gpulenet.backend;

import java.util.Arrays;

/**
 * The scalars of a training step that change from step to step, kept on the backend so that a step
 * takes no value from the host, and a GPU can capture it once and replay it as a graph:
 * <ul>
 *   <li>{@code counters}, I32 [3]: the step within the epoch (which batch the gather reads, which row of
 *       the schedule applies) and the steps done in the whole run (Dropout2d's masks, SGD's first step),
 *       both advanced at the end of a step by the optimizer's update (or {@link Backend#advanceStep} where
 *       there is none), and a tally the backend may use while advancing them (0 between steps);</li>
 *   <li>{@code schedule}, F32 [steps, {@value #COLUMNS}]: per step of the epoch, the optimizer's scalars,
 *       computed on the host in double as before (see {@code Optimizer.scheduleRow}).</li>
 * </ul>
 * Both are written once per epoch ({@link #startEpoch}), between steps, never while a step runs.
 */
public final class StepScalars {
    /** Scalars per schedule row. */
    public static final int COLUMNS = 2;
    /** Elements of the counters tensor. */
    public static final int COUNTERS = 3;

    private final Backend backend;
    private final Tensor counters;
    private final Tensor schedule;
    private final int maxSteps;
    private final int[] counterValues = new int[COUNTERS];

    /** Counters and a schedule of {@code maxSteps} rows on {@code backend}, all zero. */
    public StepScalars(Backend backend, int maxSteps) {
        if (maxSteps <= 0) {
            throw new IllegalArgumentException("a schedule needs at least one step, got " + maxSteps);
        }
        this.backend = backend;
        this.maxSteps = maxSteps;
        this.counters = backend.allocate(DType.I32, COUNTERS);
        this.schedule = backend.allocate(DType.F32, maxSteps, COLUMNS);
    }

    public Tensor counters() {
        return counters;
    }

    public Tensor schedule() {
        return schedule;
    }

    public int maxSteps() {
        return maxSteps;
    }

    /**
     * Sets the counters to {0, stepsDone, 0} and the schedule to {@code rows} ({@link #COLUMNS} floats per step
     * of the epoch, at most {@link #maxSteps} rows; the rest of the schedule is left as it was).
     */
    public void startEpoch(long stepsDone, float[] rows) {
        if (stepsDone < 0 || stepsDone > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the device step counter holds 0 to " + Integer.MAX_VALUE + " steps, got "
                    + stepsDone);
        }
        if (rows.length % COLUMNS != 0 || rows.length / COLUMNS > maxSteps) {
            throw new IllegalArgumentException(rows.length + " schedule values for " + maxSteps + " rows of " + COLUMNS);
        }
        counterValues[0] = 0;
        counterValues[1] = (int) stepsDone;
        counterValues[2] = 0;
        backend.upload(counters, counterValues);
        backend.upload(schedule, rows.length == maxSteps * COLUMNS ? rows : Arrays.copyOf(rows, maxSteps * COLUMNS));
    }

    /** counters[0] of a counters tensor, read back: what the ops' host-side defaults use. */
    static int stepInEpoch(Backend backend, Tensor counters) {
        return readCounters(backend, counters)[0];
    }

    /** counters[1] of a counters tensor, read back. */
    static long stepsDone(Backend backend, Tensor counters) {
        return readCounters(backend, counters)[1];
    }

    /** Row counters[0] of a schedule, read back (that row alone, through a view). */
    static float[] scheduleRow(Backend backend, Tensor schedule, Tensor counters) {
        int step = stepInEpoch(backend, counters);
        if (schedule.rank() != 2 || schedule.dim(1) != COLUMNS || step < 0 || step >= schedule.dim(0)) {
            throw new IllegalArgumentException("step " + step + " of the epoch is outside the schedule " + schedule);
        }
        float[] row = new float[COLUMNS];
        backend.download(backend.view(schedule, (long) step * COLUMNS, COLUMNS), row);
        return row;
    }

    static int[] readCounters(Backend backend, Tensor counters) {
        if (counters.dtype() != DType.I32 || counters.size() != COUNTERS) {
            throw new IllegalArgumentException("step counters must be I32 [" + COUNTERS + "], got " + counters);
        }
        int[] c = new int[COUNTERS];
        backend.download(counters, c);
        return c;
    }

    /** {step within the epoch, steps done}, read back from the backend (a synchronisation on a GPU). */
    public int[] read() {
        return Arrays.copyOf(readCounters(backend, counters), 2);
    }
}
