package gpulenet.backend.cpu;

/**
 * Fused softmax + cross-entropy over logits [B,K] with the max subtracted for stability. Sequential:
 * B*K is tiny next to the layers, and a fixed order keeps the loss sum deterministic.
 */
final class SoftmaxCrossEntropy {
    private SoftmaxCrossEntropy() {
    }

    /** Adds the summed loss to stats[0] and the correct count to stats[1]; dlogits (may be null) = (softmax - onehot) / B. */
    static void apply(CpuTensor logitsT, CpuTensor labelsT, CpuTensor dlogitsT, CpuTensor statsT) {
        float[] z = logitsT.floats(), stats = statsT.floats();
        int[] labels = labelsT.ints();
        int zo = logitsT.offset(), lo = labelsT.offset(), so = statsT.offset();
        int batch = logitsT.dim(0), classes = logitsT.dim(1);
        float[] dz = dlogitsT == null ? null : dlogitsT.floats();
        int dzo = dlogitsT == null ? 0 : dlogitsT.offset();
        double lossSum = 0;
        int correct = 0;
        for (int n = 0; n < batch; n++) {
            int row = zo + n * classes;
            int label = labels[lo + n];
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("label " + label + " of sample " + n + " is not in [0, " + classes + ")");
            }
            int best = 0;
            for (int j = 1; j < classes; j++) {
                if (z[row + j] > z[row + best]) {
                    best = j;
                }
            }
            float max = z[row + best];
            double sumExp = 0;
            for (int j = 0; j < classes; j++) {
                sumExp += Math.exp(z[row + j] - max);
            }
            lossSum += Math.log(sumExp) - (z[row + label] - max);
            if (best == label) {
                correct++;
            }
            if (dz != null) {
                for (int j = 0; j < classes; j++) {
                    double p = Math.exp(z[row + j] - max) / sumExp;
                    dz[dzo + n * classes + j] = (float) ((p - (j == label ? 1 : 0)) / batch);
                }
            }
        }
        stats[so] += (float) lossSum;
        stats[so + 1] += correct;
    }
}
