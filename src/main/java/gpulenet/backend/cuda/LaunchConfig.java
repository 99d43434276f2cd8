package gpulenet.backend.cuda;

/**
 * Grid and block dimensions and dynamic shared-memory bytes of one kernel launch, within the limits
 * every GPU the PTX targets has (compute capability 7.5 and later), so that a shape too large for the
 * hardware fails here with its sizes rather than as CUDA_ERROR_INVALID_VALUE from cuLaunchKernel.
 */
public record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    public static final int MAX_GRID_YZ = 65535;
    public static final int MAX_BLOCK_XY = 1024;
    public static final int MAX_BLOCK_Z = 64;
    public static final int MAX_BLOCK_THREADS = 1024;

    public LaunchConfig {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0
                || gridY > MAX_GRID_YZ || gridZ > MAX_GRID_YZ || blockX > MAX_BLOCK_XY || blockY > MAX_BLOCK_XY
                || blockZ > MAX_BLOCK_Z || (long) blockX * blockY * blockZ > MAX_BLOCK_THREADS) {
            throw new IllegalArgumentException("bad launch configuration " + gridX + "x" + gridY + "x" + gridZ
                    + " blocks of " + blockX + "x" + blockY + "x" + blockZ + ", " + sharedBytes + " shared bytes"
                    + " (a GPU allows grid y and z up to " + MAX_GRID_YZ + " and " + MAX_BLOCK_THREADS
                    + " threads per block)");
        }
    }

    /** A 1-D grid of {@code ceil(n / block)} blocks of {@code block} threads. */
    public static LaunchConfig cover(long n, int block) {
        return new LaunchConfig(blocks(n, block), 1, 1, block, 1, 1, 0);
    }

    /** ceil(n / per), at least 1; more than Integer.MAX_VALUE blocks (a GPU's grid x limit) is an error. */
    public static int blocks(long n, int per) {
        long blocks = Math.max(1, (n + per - 1) / per);
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " elements need " + blocks + " blocks of " + per
                    + ", over a GPU's grid limit of " + Integer.MAX_VALUE);
        }
        return (int) blocks;
    }
}
