package gpulenet.backend.cpu;

/**
 * PyTorch's SGD with momentum over flat buffers, element by element in float; parallel over chunks. As in
 * PyTorch, weight decay 0 adds nothing (not even 0 * p, which would turn an infinite p into NaN), and the
 * parameter step p + (-lr) * buf is rounded once (PyTorch's add_ with alpha is a fused multiply-add;
 * a separate multiply and subtract differs in the last bit for some elements).
 */
final class MomentumSgd {
    /** Elements per parallel item: large enough to amortise the split, small enough to balance. */
    private static final int CHUNK = 4096;

    private MomentumSgd() {
    }

    static void update(WorkerPool pool, CpuTensor pt, CpuTensor gt, CpuTensor bt, float lr, float momentum,
                       float weightDecay, boolean firstStep) {
        float[] p = pt.floats(), g = gt.floats(), buf = bt.floats();
        int po = pt.offset(), go = gt.offset(), bo = bt.offset(), n = pt.count();
        pool.forEach((n + CHUNK - 1) / CHUNK, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                int to = Math.min(n, end * CHUNK);
                for (int i = begin * CHUNK; i < to; i++) {
                    float d = weightDecay == 0f ? g[go + i] : g[go + i] + weightDecay * p[po + i];
                    float v = firstStep ? d : momentum * buf[bo + i] + d;
                    buf[bo + i] = v;
                    p[po + i] = Math.fma(-lr, v, p[po + i]);
                }
            }
        });
    }
}
