package gpulenet.backend.cpu;

import gpulenet.backend.HostScalars;

/**
 * Dropout2d (channel dropout, training mode): the per-(sample, channel) mask, drawn from a counter-based
 * uniform that the CUDA kernel (kernels/dropout.cu) computes identically, and its product with whole
 * planes.
 *
 * <p>Counter-based uniform (the same definition as kernels/dropout.cu):
 * <pre>
 *   splitmix64(z): z += 0x9E3779B97F4A7C15; z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9;
 *                  z = (z ^ (z >>> 27)) * 0x94D049BB133111EB; return z ^ (z >>> 31);   (uint64 arithmetic)
 *   h = splitmix64(splitmix64(splitmix64(seed) ^ step) ^ ((n << 32) | c));
 *   u = (h >>> 40) * 2^-24, a float in [0,1) with 24 random bits; channel c of sample n is kept iff u >= p.
 * </pre>
 */
final class Dropout2d {
    private Dropout2d() {
    }

    static long splitmix64(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** u(seed, step, n, c) in [0, 1), a multiple of 2^-24 (Java's long arithmetic wraps like uint64). */
    static float counterUniform(long seed, long step, int n, int c) {
        long h = splitmix64(splitmix64(splitmix64(seed) ^ step) ^ (((long) n << 32) | c));
        return (h >>> 40) * 0x1p-24f;
    }

    /** mask [B,C]: float32(1/(1-p)) where kept, else 0. */
    static void mask(CpuTensor maskT, long seed, long step, float p) {
        float[] mask = maskT.floats();
        int mo = maskT.offset(), batch = maskT.dim(0), channels = maskT.dim(1);
        float scale = HostScalars.dropoutScale(p);
        for (int n = 0; n < batch; n++) {
            for (int c = 0; c < channels; c++) {
                mask[mo + n * channels + c] = counterUniform(seed, step, n, c) >= p ? scale : 0f;
            }
        }
    }

    /** y[n,c,:,:] = x[n,c,:,:] * mask[n,c], x and y [B,C,H,W]; the forward (x to y) and the backward (dy to dx). */
    static void apply(WorkerPool pool, CpuTensor xt, CpuTensor maskT, CpuTensor yt) {
        float[] x = xt.floats(), mask = maskT.floats(), y = yt.floats();
        int xo = xt.offset(), mo = maskT.offset(), yo = yt.offset();
        int planeSize = xt.dim(2) * xt.dim(3);
        pool.forEach(xt.dim(0) * xt.dim(1), new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int plane = begin; plane < end; plane++) {
                    float m = mask[mo + plane];
                    int at = plane * planeSize;
                    for (int i = at; i < at + planeSize; i++) {
                        y[yo + i] = x[xo + i] * m;
                    }
                }
            }
        });
    }
}
