package gpulenet.backend.cpu;

/** ReLU as a layer of its own, element by element over flat tensors; parallel over contiguous ranges. */
final class Relu {
    private Relu() {
    }

    /** y = max(x, 0); y may be x. */
    static void forward(WorkerPool pool, CpuTensor xt, CpuTensor yt) {
        float[] x = xt.floats(), y = yt.floats();
        int xo = xt.offset(), yo = yt.offset();
        pool.forEach(xt.count(), new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int i = begin; i < end; i++) {
                    y[yo + i] = Math.max(x[xo + i], 0f);
                }
            }
        });
    }

    /** dx = y > 0 ? dy : 0 with y the ReLU's output; dx may be dy. */
    static void backward(WorkerPool pool, CpuTensor dyt, CpuTensor yt, CpuTensor dxt) {
        float[] dy = dyt.floats(), y = yt.floats(), dx = dxt.floats();
        int dyo = dyt.offset(), yo = yt.offset(), dxo = dxt.offset();
        pool.forEach(dyt.count(), new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int i = begin; i < end; i++) {
                    dx[dxo + i] = ReluMask.pass(dy[dyo + i], y[yo + i]);
                }
            }
        });
    }
}
