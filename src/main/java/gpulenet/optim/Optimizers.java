package gpulenet.optim;

import gpulenet.io.InputException;
import gpulenet.model.Parameters;

import java.util.List;

/** Builds the optimizer a run names. */
public final class Optimizers {
    public static final List<String> NAMES = List.of(Sgd.NAME, Adam.NAME);

    private Optimizers() {
    }

    /** {@code momentum} applies to SGD only. */
    public static Optimizer create(String name, Parameters params, float momentum, float weightDecay) {
        switch (name) {
            case Sgd.NAME:
                return new Sgd(params, momentum, weightDecay);
            case Adam.NAME:
                return new Adam(params, weightDecay);
            default:
                throw new InputException("--optimizer must be one of " + String.join(", ", NAMES) + ", got " + name);
        }
    }
}
