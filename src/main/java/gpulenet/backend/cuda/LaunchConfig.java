package gpulenet.backend.cuda;

/** Grid and block dimensions and dynamic shared-memory bytes of one kernel launch. */
public record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    public LaunchConfig {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0) {
            throw new IllegalArgumentException("bad launch configuration " + gridX + "x" + gridY + "x" + gridZ
                    + " blocks of " + blockX + "x" + blockY + "x" + blockZ + ", " + sharedBytes + " shared bytes");
        }
    }

    /** A 1-D grid of {@code ceil(n / block)} blocks of {@code block} threads. */
    public static LaunchConfig cover(long n, int block) {
        return new LaunchConfig(blocks(n, block), 1, 1, block, 1, 1, 0);
    }

    /** ceil(n / per), at least 1. */
    public static int blocks(long n, int per) {
        return (int) Math.max(1, (n + per - 1) / per);
    }
}
