package gpulenet.backend;

/**
 * Ops recorded once by {@link Backend#capture} and queued again, all of them as one unit, by each
 * {@link #replay} (on a GPU: a CUDA graph, one launch for a whole training step).
 */
public interface Replay extends AutoCloseable {

    /** Queues the recorded ops again, with the arguments they were recorded with. */
    void replay();

    @Override
    void close();
}
