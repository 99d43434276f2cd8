package gpulenet.cli;

import gpulenet.backend.Backend;
import gpulenet.backend.BackendComparison;
import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.data.Dataset;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Optimizers;
import gpulenet.train.DeviceDataset;
import gpulenet.train.Shuffle;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A few training steps of one network on two backends (selftest's end-to-end check; the CPU backend is the
 * oracle), each step judged on its own: before every step the reference takes the candidate's parameters and
 * optimizer state, both run the step's forward and backward pass, and the reference's optimizer then updates
 * from the candidate's gradients. So every step compares the loss, the correct count and the gradients given
 * the candidate's own state, and the update given its own gradients, each with {@link BackendComparison#TRAIN_ABS}
 * + {@link BackendComparison#TRAIN_REL} * |reference|.
 *
 * <p>A GPU contracts multiply-adds into FMAs, so a pre-activation within an ulp of 0 can fall on the other side
 * of a ReLU, or a near-tie in a pool take the other element; that step's gradients then differ beyond any
 * tight tolerance in the elements the flipped unit feeds. Judged per step, such a flip stays in its step
 * instead of driving the runs apart (Adam's first update is about lr * sign(g), so a flipped sign alone costs
 * 2 * lr). At most {@link #FLIPPED_STEPS_ALLOWED} step per comparison may have gradients out of tolerance; a
 * kernel bug shows in every step. The loss, the correct count and every update must match in every step.
 */
public final class TrainingComparison {
    /** Steps whose gradients may differ beyond the tolerance (a ReLU mask or pool argmax flipped by rounding). */
    public static final int FLIPPED_STEPS_ALLOWED = 1;

    private TrainingComparison() {
    }

    /**
     * {@code steps} steps at batch {@code batch} on the first batch * steps samples of {@code data} (already
     * transformed for the model), fresh parameters from {@code seed}, with {@code optimizer} at {@code lr}.
     */
    public static List<Row> compare(Backend reference, Backend candidate, Model model, String optimizer, float lr,
                                    Dataset data, int batch, int steps, long seed) {
        int n = batch * steps;
        if (data.count() < n) {
            throw new IllegalArgumentException(data.count() + " samples for " + steps + " steps of " + batch);
        }
        Dataset part = new Dataset(data.name(), Arrays.copyOf(data.images(), n * data.imageSize()),
                Arrays.copyOf(data.labels(), n), n, data.rows(), data.cols());
        Side ref = new Side(reference, model, optimizer, lr, part, batch, steps, seed);
        Side cand = new Side(candidate, model, optimizer, lr, part, batch, steps, seed);
        String shape = model.name() + ", " + optimizer + ", " + steps + " steps x batch " + batch;
        double abs = BackendComparison.TRAIN_ABS;
        double rel = BackendComparison.TRAIN_REL;
        float[][] losses = new float[2][steps];
        float[][] correct = new float[2][steps];
        Map<String, Worst> worst = new LinkedHashMap<>();
        List<Integer> gradientSteps = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            ref.takeState(cand);
            float[] refStats = ref.forwardBackward(seed);
            float[] candStats = cand.forwardBackward(seed);
            losses[0][s] = refStats[0] / batch;
            losses[1][s] = candStats[0] / batch;
            correct[0][s] = refStats[1];
            correct[1][s] = candStats[1];
            float[] candGrads = cand.params.downloadGrads();
            Row grads = BackendComparison.compare("train: gradients", shape, ref.params.downloadGrads(), candGrads, abs, rel);
            if (!grads.pass()) {
                gradientSteps.add(s);
            }
            worst.computeIfAbsent("gradients", k -> new Worst()).add(grads);
            ref.params.backend().upload(ref.params.grads(), candGrads);
            ref.optimizer.step(ref.scalars);
            cand.optimizer.step(cand.scalars);
            worst.computeIfAbsent("parameters after each update", k -> new Worst())
                    .add(BackendComparison.compare("", shape, ref.params.downloadValues(), cand.params.downloadValues(), abs, rel));
            for (String state : ref.optimizer.state().keySet()) {
                worst.computeIfAbsent("optimizer " + state + " after each update", k -> new Worst())
                        .add(BackendComparison.compare("", shape, ref.params.download(ref.optimizer.state().get(state)),
                                cand.params.download(cand.optimizer.state().get(state)), abs, rel));
            }
        }
        List<Row> rows = new ArrayList<>();
        rows.add(BackendComparison.compare("train: loss per step", shape, losses[0], losses[1], abs, rel));
        rows.add(BackendComparison.compare("train: correct per step", shape, correct[0], correct[1], 0, 0));
        for (Map.Entry<String, Worst> e : worst.entrySet()) {
            Worst w = e.getValue();
            boolean gradients = e.getKey().equals("gradients");
            String what = gradients ? shape + "; out of tolerance in steps " + gradientSteps + ", at most "
                    + FLIPPED_STEPS_ALLOWED + " allowed" : shape;
            boolean pass = gradients ? gradientSteps.size() <= FLIPPED_STEPS_ALLOWED && w.finite : w.pass;
            rows.add(new Row("train: " + e.getKey(), what, w.maxAbs, w.maxRel, pass));
        }
        return rows;
    }

    /** The largest errors over the steps, and whether every step passed and every error was a number. */
    private static final class Worst {
        double maxAbs;
        double maxRel;
        boolean pass = true;
        boolean finite = true;

        void add(Row r) {
            maxAbs = Math.max(maxAbs, r.maxAbs());
            maxRel = Math.max(maxRel, r.maxRel());
            pass &= r.pass();
            finite &= Double.isFinite(r.maxAbs());
        }
    }

    /**
     * One backend's network, parameters, optimizer and data for the steps, run as {@code train} runs them: the
     * batch gathered on the backend (into the first convolution where there is one) at the step its counters
     * hold, the scalars of every step read there from a schedule, and the update advancing the counters.
     */
    private static final class Side {
        final Parameters params;
        final Optimizer optimizer;
        final Network network;
        final DeviceDataset device;
        final StepScalars scalars;
        final int batch;

        Side(Backend backend, Model model, String optimizerName, float lr, Dataset data, int batch, int steps, long seed) {
            params = new Parameters(backend, model.parameterShapes());
            params.initialize(seed);
            network = Network.forTraining(backend, model, params, data.rows(), data.cols(), batch);
            optimizer = Optimizers.create(optimizerName, params, 0.9f, 0f);
            device = new DeviceDataset(backend, data);
            device.setOrder(Shuffle.permutation(seed, 1, data.count()));
            scalars = new StepScalars(backend, steps);
            float[] schedule = new float[steps * StepScalars.COLUMNS];
            for (int s = 0; s < steps; s++) {
                optimizer.scheduleRow(lr, s, schedule, s * StepScalars.COLUMNS);
            }
            scalars.startEpoch(0, schedule);
            this.batch = batch;
        }

        /** The other side's parameters and optimizer state, as this step's start. */
        void takeState(Side other) {
            params.upload(other.params.downloadValues());
            for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) {
                params.backend().upload(e.getValue(), other.params.download(other.optimizer.state().get(e.getKey())));
            }
        }

        /** The step's Dropout2d masks, batch, forward and backward pass; returns the loss sum and correct count. */
        float[] forwardBackward(long seed) {
            network.resetStats();
            network.drawDropoutMasks(batch, seed, scalars);
            network.trainingPass(device.images(), device.labels(), device.order(), scalars, batch, batch);
            return network.readStats();
        }
    }
}
