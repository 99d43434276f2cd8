package gpulenet.train;

import gpulenet.model.LeNet5;

/**
 * Loss and accuracy of a model on the first {@code count} samples of a split, in data-set order.
 *
 * @param confusion [true label][predicted label] counts, or null when not asked for
 */
public record Evaluation(double lossSum, long correct, int count, long[][] confusion, double seconds) {

    public double meanLoss() {
        return lossSum / count;
    }

    public double accuracy() {
        return (double) correct / count;
    }

    /**
     * Runs the model forward over samples [0, count) of {@code data} in batches of the model's max batch.
     * With {@code confusion}, downloads the logits of each batch to count predictions per class;
     * otherwise only the two stats floats cross to the host, once at the end.
     */
    public static Evaluation run(LeNet5 model, DeviceDataset data, int count, boolean confusion) {
        long t0 = System.nanoTime();
        data.useIdentityOrder();
        int maxBatch = model.maxBatch();
        long[][] matrix = confusion ? new long[LeNet5.CLASSES][LeNet5.CLASSES] : null;
        float[] logits = confusion ? new float[maxBatch * LeNet5.CLASSES] : null;
        model.resetStats();
        for (int start = 0; start < count; start += maxBatch) {
            int b = Math.min(maxBatch, count - start);
            model.gather(data.images(), data.labels(), data.order(), start, b);
            model.forward(b);
            model.loss(b, false);
            if (confusion) {
                float[] batchLogits = b == maxBatch ? logits : new float[b * LeNet5.CLASSES];
                model.backend().download(model.activation("logits", b), batchLogits);
                for (int i = 0; i < b; i++) {
                    matrix[data.host().label(start + i)][argmax(batchLogits, i * LeNet5.CLASSES)]++;
                }
            }
        }
        float[] stats = model.readStats();
        model.resetStats();
        return new Evaluation(stats[0], Math.round(stats[1]), count, matrix, (System.nanoTime() - t0) / 1e9);
    }

    /** First index of the maximum, as the loss kernel counts a correct prediction. */
    private static int argmax(float[] v, int offset) {
        int best = 0;
        for (int k = 1; k < LeNet5.CLASSES; k++) {
            if (v[offset + k] > v[offset + best]) {
                best = k;
            }
        }
        return best;
    }
}
