package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * Fully connected layer in PyTorch's layout: x [B,IN], w [OUT,IN], b [OUT], y [B,OUT], as {@link Gemm}
 * calls on row copies of the operands. Each output element is summed by one task in a fixed order,
 * so the bits do not depend on the thread count.
 */
final class Linear {
    private Linear() {
    }

    /** y = x w^T + b, then ReLU when asked: w^T is built once, then samples are split across threads. */
    static void forward(WorkerPool pool, Scratch[] scratch, Scratch shared, CpuTensor xt, CpuTensor wt, CpuTensor bt,
                        boolean relu, CpuTensor yt) {
        float[] x = xt.floats(), w = wt.floats(), b = bt.floats(), y = yt.floats();
        int xo = xt.offset(), wo = wt.offset(), bo = bt.offset(), yo = yt.offset();
        int batch = xt.dim(0), in = wt.dim(1), out = wt.dim(0);
        int width = Gemm.padded(out);
        float[][] transposed = shared.matrix(Scratch.Slot.WEIGHTS, in, width);
        pool.forEach(in, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int i = begin; i < end; i++) {
                    float[] row = transposed[i];
                    for (int o = 0; o < out; o++) {
                        row[o] = w[wo + o * in + i];
                    }
                }
            }
        });
        pool.forEach(batch, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                int rows = end - begin;
                float[][] product = scratch[worker].matrix(Scratch.Slot.PRODUCT, rows, width);
                for (int n = 0; n < rows; n++) {
                    System.arraycopy(b, bo, product[n], 0, out);
                }
                Gemm.multiplyAdd(rows, width, in, x, xo + begin * in, in, 1, transposed, 0, product, 0);
                for (int n = 0; n < rows; n++) {
                    float[] row = product[n];
                    int dst = yo + (begin + n) * out;
                    for (int o = 0; o < out; o++) {
                        y[dst + o] = relu ? Math.max(row[o], 0f) : row[o];
                    }
                }
            }
        });
    }

    /**
     * The matrices that {@link #forward} and {@link #backward} ask for: every worker's product (a row per
     * sample of its share of the batch; in backward, also per output feature of its share), and the shared
     * copies of the weights and of the input.
     */
    static void workspace(int[] x, int[] w, int threads, Scratch.Sizes perWorker, Scratch.Sizes shared) {
        int batch = x[0], in = w[1], out = w[0];
        perWorker.matrix(Scratch.Slot.PRODUCT, largestPart(batch, threads), Gemm.padded(out));
        perWorker.matrix(Scratch.Slot.PRODUCT, Math.max(largestPart(batch, threads), largestPart(out, threads)), in);
        shared.matrix(Scratch.Slot.WEIGHTS, in, Gemm.padded(out));
        shared.matrix(Scratch.Slot.WEIGHTS, out, in);
        shared.matrix(Scratch.Slot.INPUTS, batch, in);
    }

    /** The most items {@link WorkerPool#split} gives one of {@code parts} parts of {@code n}. */
    private static int largestPart(int n, int parts) {
        return (n + parts - 1) / parts;
    }

    /**
     * dx = dy w (masked by x > 0 when x is a ReLU output; skipped when dxt is null), dw = dy^T x and
     * db = column sums of dy. After copying w and x into rows, each thread takes one share of the
     * samples (for dx) and one share of the output features (for dw, db).
     */
    static void backward(WorkerPool pool, Scratch[] scratch, Scratch shared, CpuTensor xt, CpuTensor wt, CpuTensor dyt,
                         boolean reluOnInput, CpuTensor dxt, CpuTensor dwt, CpuTensor dbt) {
        float[] x = xt.floats(), w = wt.floats(), dy = dyt.floats(), dw = dwt.floats(), db = dbt.floats();
        int xo = xt.offset(), wo = wt.offset(), dyo = dyt.offset(), dwo = dwt.offset(), dbo = dbt.offset();
        int batch = xt.dim(0), in = wt.dim(1), out = wt.dim(0);
        float[][] weights = shared.matrix(Scratch.Slot.WEIGHTS, out, in);
        float[][] inputs = shared.matrix(Scratch.Slot.INPUTS, batch, in);
        pool.forEach(out + batch, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int item = begin; item < end; item++) {
                    if (item < out) {
                        System.arraycopy(w, wo + item * in, weights[item], 0, in);
                    } else {
                        System.arraycopy(x, xo + (item - out) * in, inputs[item - out], 0, in);
                    }
                }
            }
        });
        int parts = pool.threads();
        pool.forEach(parts, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int firstPart, int endPart) {
                for (int part = firstPart; part < endPart; part++) {
                    // this part's samples (for dx), then its output features (for dw) use the same rows
                    float[][] product = scratch[worker].matrix(Scratch.Slot.PRODUCT, Math.max(
                            WorkerPool.split(batch, part + 1, parts) - WorkerPool.split(batch, part, parts),
                            WorkerPool.split(out, part + 1, parts) - WorkerPool.split(out, part, parts)), in);
                    if (dxt != null) {
                        float[] dx = dxt.floats();
                        int dxo = dxt.offset();
                        int first = WorkerPool.split(batch, part, parts);
                        int rows = WorkerPool.split(batch, part + 1, parts) - first;
                        for (int n = 0; n < rows; n++) {
                            Arrays.fill(product[n], 0, in, 0f);
                        }
                        Gemm.multiplyAdd(rows, in, out, dy, dyo + first * out, out, 1, weights, 0, product, 0);
                        for (int n = 0; n < rows; n++) {
                            float[] row = product[n];
                            int dst = dxo + (first + n) * in;
                            int src = xo + (first + n) * in;
                            if (reluOnInput) {
                                for (int i = 0; i < in; i++) {
                                    dx[dst + i] = ReluMask.pass(row[i], x[src + i]);
                                }
                            } else {
                                System.arraycopy(row, 0, dx, dst, in);
                            }
                        }
                    }
                    int first = WorkerPool.split(out, part, parts);
                    int rows = WorkerPool.split(out, part + 1, parts) - first;
                    for (int o = 0; o < rows; o++) {
                        Arrays.fill(product[o], 0, in, 0f);
                    }
                    Gemm.multiplyAdd(rows, in, batch, dy, dyo + first, 1, out, inputs, 0, product, 0);
                    for (int o = 0; o < rows; o++) {
                        System.arraycopy(product[o], 0, dw, dwo + (first + o) * in, in);
                        float bias = 0f;
                        for (int n = 0; n < batch; n++) {
                            bias += dy[dyo + n * out + first + o];
                        }
                        db[dbo + first + o] = bias;
                    }
                }
            }
        });
    }
}
