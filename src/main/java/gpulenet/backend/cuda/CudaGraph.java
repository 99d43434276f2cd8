package gpulenet.backend.cuda;

/** A graph a {@link CudaDriver} captured and instantiated, launched by {@link CudaDriver#launch(CudaGraph)}. */
public interface CudaGraph extends AutoCloseable {

    /** Frees the graph; it cannot be launched again. */
    @Override
    void close();
}
