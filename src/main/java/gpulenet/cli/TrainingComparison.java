package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.data.Dataset;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Optimizers;
import gpulenet.train.DeviceDataset;
import gpulenet.train.Shuffle;
import gpulenet.train.TrainingStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A few training steps of one network on two backends (selftest's end-to-end check; the CPU backend is
 * the oracle): the loss and correct count of every step, and the parameters and optimizer state after the
 * last, compared with {@link BackendComparison#TRAIN_ABS} + {@link BackendComparison#TRAIN_REL} * |reference|.
 */
public final class TrainingComparison {
    private TrainingComparison() {
    }

    /**
     * {@code steps} steps at batch {@code batch} on the first samples of {@code data} (already transformed
     * for the model), fresh parameters from {@code seed}, with {@code optimizer} at {@code lr}.
     */
    public static List<Row> compare(Backend reference, Backend candidate, Model model, String optimizer, float lr,
                                    Dataset data, int batch, int steps, long seed) {
        int n = Math.min(data.count(), batch * steps);
        Dataset part = new Dataset(data.name(), Arrays.copyOf(data.images(), n * data.imageSize()),
                Arrays.copyOf(data.labels(), n), n, data.rows(), data.cols());
        Steps ref = Steps.run(reference, model, optimizer, lr, part, batch, steps, seed);
        Steps cand = Steps.run(candidate, model, optimizer, lr, part, batch, steps, seed);
        String shape = model.name() + ", " + optimizer + ", " + steps + " steps x batch " + batch;
        double abs = BackendComparison.TRAIN_ABS;
        double rel = BackendComparison.TRAIN_REL;
        List<Row> rows = new ArrayList<>();
        rows.add(BackendComparison.compare("train: loss per step", shape, ref.losses, cand.losses, abs, rel));
        rows.add(BackendComparison.compare("train: correct per step", shape, ref.correct, cand.correct, 0, 0));
        rows.add(BackendComparison.compare("train: parameters", shape, ref.params, cand.params, abs, rel));
        for (String state : ref.state.keySet()) {
            rows.add(BackendComparison.compare("train: optimizer " + state, shape, ref.state.get(state),
                    cand.state.get(state), abs, rel));
        }
        return rows;
    }

    /** What a few training steps on one backend leave behind. */
    private record Steps(float[] losses, float[] correct, float[] params, Map<String, float[]> state) {
        static Steps run(Backend backend, Model model, String optimizerName, float lr, Dataset data, int batch,
                         int steps, long seed) {
            Parameters params = new Parameters(backend, model.parameterShapes());
            params.initialize(seed);
            Network network = Network.forTraining(backend, model, params, data.rows(), data.cols(), batch);
            Optimizer optimizer = Optimizers.create(optimizerName, params, 0.9f, 0f);
            TrainingStep step = new TrainingStep(network, optimizer);
            DeviceDataset device = new DeviceDataset(backend, data);
            device.setOrder(Shuffle.permutation(seed, 1, data.count()));
            float[] losses = new float[steps];
            float[] correct = new float[steps];
            for (int s = 0; s < steps; s++) {
                int start = (s * batch) % data.count();
                int b = Math.min(batch, data.count() - start);
                network.resetStats();
                network.gather(device.images(), device.labels(), device.order(), start, b);
                step.run(b, lr, seed, s);
                float[] stats = network.readStats();
                losses[s] = stats[0] / b;
                correct[s] = stats[1];
            }
            Map<String, float[]> state = new LinkedHashMap<>();
            optimizer.state().forEach((name, t) -> state.put(name, params.download(t)));
            return new Steps(losses, correct, params.downloadValues(), state);
        }
    }
}
