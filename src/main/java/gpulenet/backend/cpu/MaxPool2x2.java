package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * 2x2 max-pool, stride 2, NCHW; parallel over (sample, channel) planes. As PyTorch's MaxPool2d(2), the
 * output is H/2 x W/2 rounded down: an odd last row or column is in no window (its gradient is 0).
 */
final class MaxPool2x2 {
    private MaxPool2x2() {
    }

    /** y = window maxima; argmax = flat index into x of the first maximum in order (0,0),(0,1),(1,0),(1,1). */
    static void forward(WorkerPool pool, CpuTensor xt, CpuTensor yt, CpuTensor at) {
        float[] x = xt.floats(), y = yt.floats();
        int[] arg = at.ints();
        int xo = xt.offset(), yo = yt.offset(), ao = at.offset();
        int planes = xt.dim(0) * xt.dim(1), h = xt.dim(2), w = xt.dim(3), ph = h / 2, pw = w / 2;
        pool.forEach(planes, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int plane = begin; plane < end; plane++) {
                    for (int i = 0; i < ph; i++) {
                        for (int j = 0; j < pw; j++) {
                            // Branch-free: which element wins is data-dependent, so branches would
                            // mispredict about half the time, and the JIT compiles a float select
                            // (v > max ? v : max) to a branch, while Math.max and an int select on a
                            // float comparison compile to branch-free instructions.
                            int top = plane * h * w + 2 * i * w + 2 * j;
                            float a = x[xo + top], b = x[xo + top + 1];
                            float c = x[xo + top + w], d = x[xo + top + w + 1];
                            float max = Math.max(Math.max(a, b), Math.max(c, d));
                            int best = top + w + 1;
                            best = c == max ? top + w : best;
                            best = b == max ? top + 1 : best;
                            best = a == max ? top : best;
                            int out = plane * ph * pw + i * pw + j;
                            y[yo + out] = max;
                            arg[ao + out] = best;
                        }
                    }
                }
            }
        });
    }

    /**
     * Writes every element of dx: dy at each window's argmax, 0 elsewhere; with {@code reluBefore} also 0
     * where the pooled value is not positive (the ReLU before the pool passed no gradient there).
     */
    static void backward(WorkerPool pool, CpuTensor dyt, CpuTensor yt, CpuTensor at, boolean reluBefore, CpuTensor dxt) {
        float[] dy = dyt.floats(), y = yt.floats(), dx = dxt.floats();
        int[] arg = at.ints();
        int dyo = dyt.offset(), yo = yt.offset(), ao = at.offset(), dxo = dxt.offset();
        int planes = dxt.dim(0) * dxt.dim(1), h = dxt.dim(2), w = dxt.dim(3), ph = h / 2, pw = w / 2;
        pool.forEach(planes, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int plane = begin; plane < end; plane++) {
                    Arrays.fill(dx, dxo + plane * h * w, dxo + (plane + 1) * h * w, 0f);
                    if (reluBefore) {
                        for (int out = plane * ph * pw; out < (plane + 1) * ph * pw; out++) {
                            dx[dxo + arg[ao + out]] = ReluMask.pass(dy[dyo + out], y[yo + out]);
                        }
                    } else {
                        for (int out = plane * ph * pw; out < (plane + 1) * ph * pw; out++) {
                            dx[dxo + arg[ao + out]] = dy[dyo + out];
                        }
                    }
                }
            }
        });
    }
}
