package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * Fully connected layer in PyTorch's layout: x [B,IN], w [OUT,IN], b [OUT], y [B,OUT]. Each output
 * element is summed by one task in a fixed order, so the bits do not depend on the thread count.
 */
final class Linear {
    private Linear() {
    }

    /** y = x w^T + b, then ReLU when asked; parallel over samples. */
    static void forward(WorkerPool pool, CpuTensor xt, CpuTensor wt, CpuTensor bt, boolean relu, CpuTensor yt) {
        float[] x = xt.floats(), w = wt.floats(), b = bt.floats(), y = yt.floats();
        int xo = xt.offset(), wo = wt.offset(), bo = bt.offset(), yo = yt.offset();
        int batch = xt.dim(0), in = wt.dim(1), out = wt.dim(0);
        pool.forEach(batch, (worker, begin, end) -> {
            for (int n = begin; n < end; n++) {
                for (int o = 0; o < out; o++) {
                    float sum = b[bo + o];
                    for (int i = 0; i < in; i++) {
                        sum += x[xo + n * in + i] * w[wo + o * in + i];
                    }
                    y[yo + n * out + o] = relu ? Math.max(sum, 0f) : sum;
                }
            }
        });
    }

    /** dx = dy w, masked by x > 0 when x is a ReLU output; parallel over samples. */
    static void backwardInput(WorkerPool pool, CpuTensor xt, CpuTensor wt, CpuTensor dyt, boolean reluOnInput,
                              CpuTensor dxt) {
        float[] x = xt.floats(), w = wt.floats(), dy = dyt.floats(), dx = dxt.floats();
        int xo = xt.offset(), wo = wt.offset(), dyo = dyt.offset(), dxo = dxt.offset();
        int batch = xt.dim(0), in = wt.dim(1), out = wt.dim(0);
        pool.forEach(batch, (worker, begin, end) -> {
            for (int n = begin; n < end; n++) {
                int row = dxo + n * in;
                Arrays.fill(dx, row, row + in, 0f);
                for (int o = 0; o < out; o++) {
                    float g = dy[dyo + n * out + o];
                    int wRow = wo + o * in;
                    for (int i = 0; i < in; i++) {
                        dx[row + i] += g * w[wRow + i];
                    }
                }
                if (reluOnInput) {
                    for (int i = 0; i < in; i++) {
                        if (!(x[xo + n * in + i] > 0f)) {
                            dx[row + i] = 0f;
                        }
                    }
                }
            }
        });
    }

    /** dw = dy^T x and db = column sums of dy; parallel over output features. */
    static void backwardWeight(WorkerPool pool, CpuTensor xt, CpuTensor dyt, CpuTensor dwt, CpuTensor dbt) {
        float[] x = xt.floats(), dy = dyt.floats(), dw = dwt.floats(), db = dbt.floats();
        int xo = xt.offset(), dyo = dyt.offset(), dwo = dwt.offset(), dbo = dbt.offset();
        int batch = xt.dim(0), in = dwt.dim(1), out = dwt.dim(0);
        pool.forEach(out, (worker, begin, end) -> {
            for (int o = begin; o < end; o++) {
                int wRow = dwo + o * in;
                Arrays.fill(dw, wRow, wRow + in, 0f);
                float bias = 0f;
                for (int n = 0; n < batch; n++) {
                    float g = dy[dyo + n * out + o];
                    bias += g;
                    int xRow = xo + n * in;
                    for (int i = 0; i < in; i++) {
                        dw[wRow + i] += g * x[xRow + i];
                    }
                }
                db[dbo + o] = bias;
            }
        });
    }
}
