package gpulenet.backend.cpu;

/** Batch gather with normalisation from the uint8 data set; parallel over samples. */
final class Gather {
    private Gather() {
    }

    /**
     * x[i] = (images[order[start + i]] / 255 - mean) / std and y[i] = labels[order[start + i]]. The float
     * operations are done in exactly this order, as PyTorch's reference input was made, so the batch
     * matches it bit for bit; they are done once per pixel level, into a 256-entry table.
     */
    static void batch(WorkerPool pool, float[] levels, CpuTensor imagesT, CpuTensor labelsT, CpuTensor orderT, int start, float mean,
                      float std, CpuTensor xt, CpuTensor yt) {
        byte[] images = imagesT.bytes(), labels = labelsT.bytes();
        int[] order = orderT.ints(), y = yt.ints();
        float[] x = xt.floats();
        int io = imagesT.offset(), lo = labelsT.offset(), oo = orderT.offset(), xo = xt.offset(), yo = yt.offset();
        int batch = xt.dim(0), pixels = xt.count() / Math.max(batch, 1), count = labelsT.count();
        if ((long) count * pixels != imagesT.size() || start < 0 || start + batch > orderT.size()) {
            throw new IllegalArgumentException("gather of " + batch + " from " + start + " does not fit images "
                    + imagesT + ", labels " + labelsT + ", order " + orderT);
        }
        for (int v = 0; v < 256; v++) {
            levels[v] = (v / 255f - mean) / std;
        }
        pool.forEach(batch, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int i = begin; i < end; i++) {
                    int n = order[oo + start + i];
                    if (n < 0 || n >= count) {
                        throw new IllegalArgumentException("sample index " + n + " out of range [0, " + count + ")");
                    }
                    int src = io + n * pixels;
                    int dst = xo + i * pixels;
                    for (int p = 0; p < pixels; p++) {
                        x[dst + p] = levels[images[src + p] & 0xff];
                    }
                    y[yo + i] = labels[lo + n] & 0xff;
                }
            }
        });
    }
}
