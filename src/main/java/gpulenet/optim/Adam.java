package gpulenet.optim;

import gpulenet.backend.HostScalars;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.model.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;

/** torch.optim.Adam with amsgrad off; see Backend.adamUpdate for the exact arithmetic. */
public final class Adam implements Optimizer {
    public static final String NAME = "adam";
    public static final float BETA1 = 0.9f;
    public static final float BETA2 = 0.999f;
    public static final float EPS = 1e-8f;

    private final Parameters params;
    private final float weightDecay;
    private final Tensor expAvg;
    private final Tensor expAvgSq;

    public Adam(Parameters params, float weightDecay) {
        this.params = params;
        this.weightDecay = weightDecay;
        this.expAvg = params.allocateLikeValues();
        this.expAvgSq = params.allocateLikeValues();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void step(float lr, long stepsDone) {
        params.backend().adamUpdate(params.values(), params.grads(), expAvg, expAvgSq, lr, BETA1, BETA2, EPS,
                weightDecay, stepsDone + 1);
    }

    @Override
    public void step(StepScalars scalars) {
        params.backend().adamUpdate(params.values(), params.grads(), expAvg, expAvgSq, scalars.schedule(),
                scalars.counters(), BETA1, BETA2, EPS, weightDecay);
    }

    /** {-lr / (1 - beta1^t), sqrt(1 - beta2^t)} of step t = stepsDone + 1, as the host-scalar step makes them. */
    @Override
    public void scheduleRow(float lr, long stepsDone, float[] row, int offset) {
        HostScalars.Adam s = HostScalars.Adam.of(lr, BETA1, BETA2, EPS, weightDecay, stepsDone + 1);
        row[offset] = s.negStepSize();
        row[offset + 1] = s.sqrtBiasCorrection2();
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("exp_avg", expAvg);
        m.put("exp_avg_sq", expAvgSq);
        return m;
    }

    @Override
    public String describe() {
        return "Adam, betas (" + BETA1 + ", " + BETA2 + "), eps " + EPS + (weightDecay != 0 ? ", weight decay " + weightDecay : "");
    }
}
