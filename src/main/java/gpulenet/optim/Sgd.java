package gpulenet.optim;

import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.model.Parameters;

import java.util.Map;

/** torch.optim.SGD: momentum (or none), weight decay added to the gradient; see Backend.sgdUpdate. */
public final class Sgd implements Optimizer {
    public static final String NAME = "sgd";
    public static final String MOMENTUM_STATE = "momentum";

    private final Parameters params;
    private final float momentum;
    private final float weightDecay;
    private final Tensor buffer;

    public Sgd(Parameters params, float momentum, float weightDecay) {
        this.params = params;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.buffer = params.allocateLikeValues();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void step(float lr, long stepsDone) {
        params.backend().sgdUpdate(params.values(), params.grads(), buffer, lr, momentum, weightDecay, stepsDone == 0);
    }

    @Override
    public void step(StepScalars scalars) {
        params.backend().sgdUpdate(params.values(), params.grads(), buffer, scalars.schedule(), scalars.counters(),
                momentum, weightDecay);
    }

    /** {lr, unused}: the first step is known on the device from the steps done. */
    @Override
    public void scheduleRow(float lr, long stepsDone, float[] row, int offset) {
        row[offset] = lr;
        row[offset + 1] = 0f;
    }

    @Override
    public Map<String, Tensor> state() {
        return Map.of(MOMENTUM_STATE, buffer);
    }

    @Override
    public String describe() {
        return "SGD, momentum " + momentum + (weightDecay != 0 ? ", weight decay " + weightDecay : "");
    }
}
