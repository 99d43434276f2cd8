package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.SizingBackend;
import gpulenet.format.Checkpoint;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Sgd;

import java.util.List;
import java.util.Map;

/** LeNet-5 (the default preset) and its parameters, for tests that need a network without building one. */
public final class TestModels {
    private TestModels() {
    }

    public static Model lenet5() {
        return Presets.get("lenet5").model();
    }

    /** LeNet-5's parameter layout: conv1.weight ... fc3.bias, 61,706 values. */
    public static List<Parameters.Spec> lenet5Specs() {
        return Parameters.layout(lenet5().parameterShapes());
    }

    public static int lenet5Total() {
        return new Parameters(new SizingBackend(), lenet5().parameterShapes()).total();
    }

    /** PyTorch-style initial values of LeNet-5 for {@code seed}, flat. */
    public static float[] lenet5InitialValues(long seed) {
        return new Parameters(new SizingBackend(), lenet5().parameterShapes()).initialValues(seed);
    }

    public static Parameters lenet5Parameters(Backend backend) {
        return new Parameters(backend, lenet5().parameterShapes());
    }

    /** Copies the named tensor out of a flat LeNet-5 array. */
    public static float[] slice(float[] flat, String name) {
        return new Parameters(new SizingBackend(), lenet5().parameterShapes()).slice(flat, name);
    }

    /**
     * A LeNet-5 checkpoint holding {@code values}, and SGD momentum {@code momentum} unless it is null (then
     * weights only), with {@code metadata} added to what capture records.
     */
    public static Checkpoint lenet5Checkpoint(Backend backend, float[] values, float[] momentum, Map<String, String> metadata) {
        Parameters params = lenet5Parameters(backend);
        params.upload(values);
        Optimizer sgd = null;
        if (momentum != null) {
            sgd = new Sgd(params, 0.9f, 0f);
            backend.upload(sgd.state().get(Sgd.MOMENTUM_STATE), momentum);
        }
        return Checkpoint.capture(lenet5(), params, sgd, metadata);
    }
}
