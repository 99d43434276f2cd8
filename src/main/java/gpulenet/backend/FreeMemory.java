package gpulenet.backend;

/**
 * What a backend's tensors can still take.
 *
 * @param bytes    free bytes now
 * @param javaHeap whether the tensors live on the Java heap (the CPU backend), which host-side arrays share
 * @param where    what it is, for messages: "Java heap", "GPU memory on NVIDIA H100"
 */
public record FreeMemory(long bytes, boolean javaHeap, String where) {

    /**
     * The Java heap's headroom: the most it may grow to, less what is in use (garbage included) and less
     * the tenth that the G1 collector keeps in reserve for copying (its default G1ReservePercent).
     */
    public static FreeMemory ofJavaHeap() {
        Runtime rt = Runtime.getRuntime();
        long reserve = rt.maxMemory() / 10;
        return new FreeMemory(rt.maxMemory() - reserve - (rt.totalMemory() - rt.freeMemory()), true, "Java heap");
    }
}
