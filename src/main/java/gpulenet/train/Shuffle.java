package gpulenet.train;

import java.util.SplittableRandom;

/** The epoch's sample order: a pure function of (seed, epoch), so a resumed run sees the same batches. */
public final class Shuffle {
    private Shuffle() {
    }

    /** A Fisher-Yates permutation of [0, n) for {@code epoch} (1-based) of the run seeded with {@code seed}. */
    public static int[] permutation(long seed, int epoch, int n) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
