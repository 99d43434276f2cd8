package gpulenet.train;

import gpulenet.model.Network;
import gpulenet.optim.Optimizer;

/**
 * One training step on the batch already gathered into the network's input: Dropout2d masks drawn from
 * (seed, step), forward, loss with its gradient, backward, one optimizer update.
 */
public record TrainingStep(Network network, Optimizer optimizer) {

    /** {@code stepsDone} counts the steps before this one in the whole run. */
    public void run(int batch, float lr, long seed, long stepsDone) {
        network.drawDropoutMasks(batch, seed, stepsDone);
        network.forward(batch, true);
        network.loss(batch, true);
        network.backward(batch);
        optimizer.step(lr, stepsDone);
    }
}
