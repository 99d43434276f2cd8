package gpulenet.backend.cuda;

/**
 * The argument blocks of a backend's launch sites. A site is a kernel with its device pointers: one
 * layer's op at one batch size, whose views (and so pointers) are made once, so its block is found again
 * every step and only the scalars that changed are written into it. Per kernel at most
 * {@link #MAX_SITES_PER_KERNEL} blocks are kept; past that, blocks are reused in turn for new pointers
 * (correct, only no longer free of writes), so a caller that launches on fresh tensors every time (a
 * test, the self-test) does not grow native memory without bound.
 */
final class LaunchSites {
    static final int MAX_SITES_PER_KERNEL = 32;

    private final CudaDriver driver;
    private final LaunchArguments[][] blocks = new LaunchArguments[Kernel.values().length][];
    private final int[] counts = new int[Kernel.values().length];
    private final int[] nextReused = new int[Kernel.values().length];

    LaunchSites(CudaDriver driver) {
        this.driver = driver;
    }

    /** The block of the site {@code args} launch {@code kernel} at: the one holding the same pointers, else a new or reused one. */
    LaunchArguments block(Kernel kernel, Object[] args) {
        int k = kernel.ordinal();
        LaunchArguments[] list = blocks[k];
        if (list == null) {
            list = blocks[k] = new LaunchArguments[MAX_SITES_PER_KERNEL];
        }
        int n = counts[k];
        for (int i = 0; i < n; i++) {
            if (list[i].holdsPointers(args)) {
                return list[i];
            }
        }
        if (n < MAX_SITES_PER_KERNEL) {
            counts[k] = n + 1;
            return list[n] = driver.arguments(kernel);
        }
        LaunchArguments reused = list[nextReused[k]];
        nextReused[k] = (nextReused[k] + 1) % MAX_SITES_PER_KERNEL;
        return reused;
    }
}
