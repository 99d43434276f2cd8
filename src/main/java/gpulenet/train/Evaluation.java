package gpulenet.train;

import gpulenet.model.Model;
import gpulenet.model.Network;

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
    public static Evaluation run(Network model, DeviceDataset data, int count, boolean confusion) {
        return run(model, data, count, confusion, null);
    }

    /**
     * As {@link #run(Network, DeviceDataset, int, boolean)}, and when {@code predictions} is not null, also
     * writes each sample's predicted class (the argmax of its logits) to {@code predictions[0, count)}.
     */
    public static Evaluation run(Network model, DeviceDataset data, int count, boolean confusion, int[] predictions) {
        long t0 = System.nanoTime();
        boolean download = confusion || predictions != null;
        data.useIdentityOrder();
        int maxBatch = model.maxBatch();
        long[][] matrix = confusion ? new long[Model.CLASSES][Model.CLASSES] : null;
        float[] logits = download ? new float[maxBatch * Model.CLASSES] : null;
        model.resetStats();
        for (int start = 0; start < count; start += maxBatch) {
            int b = Math.min(maxBatch, count - start);
            model.gather(data.images(), data.labels(), data.order(), start, b);
            model.forward(b, false);
            model.loss(b, false);
            if (download) {
                float[] batchLogits = b == maxBatch ? logits : new float[b * Model.CLASSES];
                model.backend().download(model.logits(b), batchLogits);
                for (int i = 0; i < b; i++) {
                    int predicted = argmax(batchLogits, i * Model.CLASSES);
                    if (confusion) {
                        matrix[data.host().label(start + i)][predicted]++;
                    }
                    if (predictions != null) {
                        predictions[start + i] = predicted;
                    }
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
        for (int k = 1; k < Model.CLASSES; k++) {
            if (v[offset + k] > v[offset + best]) {
                best = k;
            }
        }
        return best;
    }
}
