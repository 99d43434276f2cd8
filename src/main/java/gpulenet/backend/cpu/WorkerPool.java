package gpulenet.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of daemon threads that run one range-splitting loop at a time. {@link #forEach} cuts
 * [0, n) into one contiguous part per thread; the calling thread runs part 0 and waits for the others.
 * Waiting threads spin for a few microseconds, then yield for about a millisecond (a training step
 * issues a few dozen short calls back to back), then park, so an idle backend costs no CPU. The
 * split depends only on n and the thread count; results must not depend on it, which the callers
 * ensure by never letting two parts add into the same number.
 */
final class WorkerPool implements AutoCloseable {

    /**
     * The body of a parallel loop: handles items [begin, end) on worker {@code worker} (0 = caller).
     * The ops pass anonymous classes, not lambdas: a capturing lambda has its class and method-handle
     * forms generated at its first call, all in the first training step, and compiling the class
     * generator then takes the JIT away from the ops' own loops (about 2% of a first epoch).
     */
    @FunctionalInterface
    interface RangeTask {
        void run(int worker, int begin, int end);
    }

    /** Busy-wait rounds before a waiting thread starts yielding: a few microseconds. */
    private static final int SPINS = 200;
    /**
     * How long a waiting thread keeps yielding before it parks: longer than the gap between two ops of
     * a training step, because waking a parked thread takes tens of microseconds (far more on a VM),
     * more than many whole ops. Yielding rather than spinning lets the thread that has the work run
     * when the machine has fewer free cores than this pool has threads.
     */
    private static final long YIELD_NANOS = 1_000_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;
    private RangeTask task;
    private int items;
    private Thread caller;

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int worker = i + 1;
            workers[i] = new Thread(() -> workLoop(worker), "gpulenet-cpu-" + worker);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body} over [0, n) split across all threads; returns when every part is done. */
    void forEach(int n, RangeTask body) {
        if (closed) {
            throw new IllegalStateException("CPU backend is closed");
        }
        if (threads == 1 || n <= 1) {
            if (n > 0) {
                body.run(0, 0, n);
            }
            return;
        }
        task = body;
        items = n;
        caller = Thread.currentThread();
        failure = null;
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable own = null;
        try {
            runPart(0);
        } catch (Throwable t) {
            own = t;
        }
        long since = 0;
        for (int round = 0; pending.get() != 0; round++) {
            since = pause(round, since);
        }
        task = null;
        Throwable t = own != null ? own : failure;
        if (t instanceof RuntimeException) {
            throw (RuntimeException) t;
        }
        if (t instanceof Error) {
            throw (Error) t;
        }
    }

    /**
     * Round {@code round} of waiting for a condition: spin, then yield, then park (until unparked).
     * Returns when the yielding began, to be passed back in as {@code yieldingSince}.
     */
    private long pause(int round, long yieldingSince) {
        if (round < SPINS) {
            Thread.onSpinWait();
            return yieldingSince;
        }
        long since = round == SPINS ? System.nanoTime() : yieldingSince;
        if (System.nanoTime() - since < YIELD_NANOS) {
            Thread.yield();
        } else {
            LockSupport.park(this);
        }
        return since;
    }

    private void runPart(int part) {
        int begin = split(items, part, threads);
        int end = split(items, part + 1, threads);
        if (begin < end) {
            task.run(part, begin, end);
        }
    }

    /** Start of part {@code part} of [0, n) cut into {@code parts} contiguous parts of near-equal size. */
    static int split(int n, int part, int parts) {
        return (int) ((long) n * part / parts);
    }

    private void workLoop(int worker) {
        int seen = 0;
        while (true) {
            long since = 0;
            for (int round = 0; generation == seen && !closed; round++) {
                since = pause(round, since);
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                runPart(worker);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
