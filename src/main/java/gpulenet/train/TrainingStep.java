package gpulenet.train;

import gpulenet.backend.StepScalars;
import gpulenet.model.Network;
import gpulenet.optim.Optimizer;

/**
 * One training step: Dropout2d masks drawn from (seed, step), the network's training pass (forward, loss
 * with its gradient, backward), one optimizer update.
 */
public record TrainingStep(Network network, Optimizer optimizer) {

    /**
     * The step on the batch already gathered into the network's input, with its scalars from the host.
     * {@code stepsDone} counts the steps before this one in the whole run.
     */
    public void run(int batch, float lr, long seed, long stepsDone) {
        network.drawDropoutMasks(batch, seed, stepsDone);
        network.trainingPass(batch);
        optimizer.step(lr, stepsDone);
    }

    /**
     * The whole step with every per-step scalar read on the backend from {@code scalars}: the gather of the
     * batch the step counter is at (batches of {@code stride} samples, this one {@code batch} long), the
     * step, whose optimizer update advances the counters. It queues no value from the host, so a GPU can
     * capture it once per batch size and replay it ({@link StepRunner}).
     */
    public void run(DeviceDataset data, int stride, int batch, long seed, StepScalars scalars) {
        network.drawDropoutMasks(batch, seed, scalars);
        network.trainingPass(data.images(), data.labels(), data.order(), scalars, stride, batch);
        optimizer.step(scalars);
    }
}
