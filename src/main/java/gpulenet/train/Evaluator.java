package gpulenet.train;

import gpulenet.backend.StepScalars;
import gpulenet.model.Model;
import gpulenet.model.Network;

import java.io.PrintWriter;

/**
 * Evaluates one network on one device-resident split, as often as asked: each batch (gather of the batch
 * the step counter is at, forward, loss) reads its position on the backend, so on a GPU it is captured
 * once per batch size and replayed (see {@link StepRunner}), like a training step. The counters are
 * allocated once, here.
 */
public final class Evaluator implements AutoCloseable {
    private final Network model;
    private final DeviceDataset data;
    private final StepScalars scalars;
    private final StepRunner batches;

    /**
     * @param graphs replay each batch size's pass as a captured graph where the backend can
     * @param out    where a failed capture is reported
     */
    public Evaluator(Network model, DeviceDataset data, boolean graphs, PrintWriter out) {
        this.model = model;
        this.data = data;
        this.scalars = new StepScalars(model.backend(), 1);
        int stride = model.maxBatch();
        this.batches = new StepRunner(model.backend(), b -> {
            model.forward(data.images(), data.labels(), data.order(), scalars, stride, b);
            model.loss(b, false);
            model.backend().advanceStep(scalars.counters());
        }, graphs, out);
    }

    /**
     * Runs the model forward over samples [0, count) of the split in batches of the model's max batch.
     * With {@code confusion} or {@code predictions}, downloads the logits of each batch to count predictions
     * per class and to write each sample's predicted class to {@code predictions[0, count)}; otherwise only
     * the two stats floats cross to the host, once at the end.
     */
    public Evaluation run(int count, boolean confusion, int[] predictions) {
        long t0 = System.nanoTime();
        boolean download = confusion || predictions != null;
        data.useIdentityOrder();
        scalars.startEpoch(0, new float[0]);
        int maxBatch = model.maxBatch();
        long[][] matrix = confusion ? new long[Model.CLASSES][Model.CLASSES] : null;
        float[] logits = download ? new float[maxBatch * Model.CLASSES] : null;
        model.resetStats();
        for (int start = 0; start < count; start += maxBatch) {
            int b = Math.min(maxBatch, count - start);
            batches.run(b);
            if (download) {
                float[] batchLogits = b == maxBatch ? logits : new float[b * Model.CLASSES];
                model.backend().download(model.logits(b), batchLogits);
                for (int i = 0; i < b; i++) {
                    int predicted = Evaluation.argmax(batchLogits, i * Model.CLASSES);
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

    /** How the batches ran: as graph replays or kernel by kernel. */
    public String describe() {
        return batches.describe();
    }

    @Override
    public void close() {
        batches.close();
    }
}
