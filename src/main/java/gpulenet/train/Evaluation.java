package gpulenet.train;

import gpulenet.model.Model;
import gpulenet.model.Network;

import java.io.PrintWriter;
import java.io.Writer;

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
     * Runs the model forward over samples [0, count) of {@code data} in batches of the model's max batch
     * (see {@link Evaluator#run}), once: for repeated evaluations keep an {@link Evaluator}.
     */
    public static Evaluation run(Network model, DeviceDataset data, int count, boolean confusion) {
        return run(model, data, count, confusion, null);
    }

    /**
     * As {@link #run(Network, DeviceDataset, int, boolean)}, and when {@code predictions} is not null, also
     * writes each sample's predicted class (the argmax of its logits) to {@code predictions[0, count)}.
     */
    public static Evaluation run(Network model, DeviceDataset data, int count, boolean confusion, int[] predictions) {
        try (Evaluator evaluator = new Evaluator(model, data, false, new PrintWriter(Writer.nullWriter()))) {
            return evaluator.run(count, confusion, predictions);
        }
    }

    /** First index of the maximum, as the loss kernel counts a correct prediction. */
    static int argmax(float[] v, int offset) {
        int best = 0;
        for (int k = 1; k < Model.CLASSES; k++) {
            if (v[offset + k] > v[offset + best]) {
                best = k;
            }
        }
        return best;
    }
}
