package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.Tensor;
import gpulenet.backend.Tolerance;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.train.DeviceDataset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** LeNet5 on the CPU backend against PyTorch autograd (see src/test/resources/golden/README.md). */
class LeNet5GoldenTest {
    private static final double STEP_ABS = 1e-5, STEP_REL = 1e-4;
    private static final double TRAJ_ABS = 1e-4, TRAJ_REL = 1e-3;
    private static final float LR = 0.05f, MOMENTUM = 0.9f;

    private static DataSets mnist;
    private static Backend backend;

    @BeforeAll
    static void setUp() {
        mnist = DataSets.embedded();
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void tearDown() {
        backend.close();
    }

    static Safetensors golden(String name) throws Exception {
        return Safetensors.read(Path.of(LeNet5GoldenTest.class.getResource("/golden/" + name).toURI()));
    }

    /** The flat parameter vector from tensors named prefix + PyTorch name. */
    static float[] flat(Safetensors st, String prefix) {
        float[] out = new float[Parameters.TOTAL];
        for (Parameters.Spec s : Parameters.SPECS) {
            System.arraycopy(st.floats(prefix + s.name(), s.shape()), 0, out, s.offset(), s.size());
        }
        return out;
    }

    static int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }

    private static float[] get(Tensor t) {
        float[] out = new float[(int) t.size()];
        backend.download(t, out);
        return out;
    }

    private static void closeStep(String what, float[] expected, float[] actual) {
        Tolerance.assertClose(expected, actual, STEP_ABS, STEP_REL, what);
    }

    private static void closeTrajectory(String what, float[] expected, float[] actual) {
        Tolerance.assertClose(expected, actual, TRAJ_ABS, TRAJ_REL, what);
    }

    private static float[] relu(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(out[i], 0f);
        }
        return out;
    }

    @Test
    void oneStepMatchesPyTorchActivationByActivationAndGradientByGradient() throws Exception {
        Safetensors st = golden("lenet5_step.safetensors");
        int b = 8;
        Parameters params = new Parameters(backend);
        params.upload(flat(st, "param."), new float[Parameters.TOTAL]);
        // A max batch larger than the batch, so the step runs on views as a short last batch does.
        LeNet5 model = new LeNet5(backend, params, 13);

        DeviceDataset train = new DeviceDataset(backend, mnist.train());
        int[] order = new int[train.count()];
        System.arraycopy(ints(st.longs("indices", b)), 0, order, 0, b);
        train.setOrder(order);
        model.gather(train.images(), train.labels(), train.order(), 0, b);
        Tolerance.assertClose(st.floats("input"), get(model.activation("input", b)), 1e-7, 0, "gathered input");
        int[] labels = new int[b];
        backend.download(model.labels(b), labels);
        assertEquals(Arrays.toString(ints(st.longs("labels"))), Arrays.toString(labels));

        model.resetStats();
        model.forward(b);
        model.loss(b, true);
        model.backward(b);
        float[] stats = model.readStats();
        closeStep("loss", st.floats("loss"), new float[]{stats[0] / b});

        Map<String, float[]> activations = Map.of(
                "relu1", st.floats("act.relu1"), "pool1", st.floats("act.pool1"),
                "relu2", st.floats("act.relu2"), "pool2", st.floats("act.pool2"),
                "fc1", relu(st.floats("act.fc1")), "fc2", relu(st.floats("act.fc2")), "logits", st.floats("act.logits"));
        activations.forEach((name, ref) -> closeStep("activation " + name, ref, get(model.activation(name, b))));
        for (String name : new String[]{"logits", "fc2", "fc1", "pool2", "conv2", "pool1", "conv1"}) {
            closeStep("gradient of " + name, st.floats("grad.act." + name), get(model.gradient(name, b)));
        }
        float[] grads = params.downloadGrads();
        for (Parameters.Spec s : Parameters.SPECS) {
            closeStep("grad " + s.name(), st.floats("grad." + s.name()), Parameters.slice(grads, s.name()));
        }

        params.sgdStep(LR, MOMENTUM, 0f, true);
        float[] updated = params.downloadValues();
        for (Parameters.Spec s : Parameters.SPECS) {
            closeStep("updated " + s.name(), st.floats("updated." + s.name()), Parameters.slice(updated, s.name()));
        }
    }

    @Test
    void anInferenceNetworkGivesTheSameLogitsAndLossAndRefusesBackward() throws Exception {
        Safetensors st = golden("lenet5_step.safetensors");
        int b = 8;
        Parameters params = new Parameters(backend);
        params.upload(flat(st, "param."), new float[Parameters.TOTAL]);
        LeNet5 model = LeNet5.forInference(backend, params, b);
        DeviceDataset train = new DeviceDataset(backend, mnist.train());
        int[] order = new int[train.count()];
        System.arraycopy(ints(st.longs("indices", b)), 0, order, 0, b);
        train.setOrder(order);
        model.gather(train.images(), train.labels(), train.order(), 0, b);
        model.resetStats();
        model.forward(b);
        model.loss(b, false);
        closeStep("logits", st.floats("act.logits"), get(model.activation("logits", b)));
        closeStep("loss", st.floats("loss"), new float[]{model.readStats()[0] / b});
        assertThrows(IllegalStateException.class, () -> model.backward(b));
        assertThrows(IllegalStateException.class, () -> model.loss(b, true));
    }

    @Test
    void sixtyStepTrajectoryMatchesPyTorch() throws Exception {
        Safetensors st = golden("lenet5_trajectory.safetensors");
        int steps = 60, b = 32;
        Parameters params = new Parameters(backend);
        params.upload(flat(st, "param."), new float[Parameters.TOTAL]);
        LeNet5 model = new LeNet5(backend, params, b);
        DeviceDataset train = new DeviceDataset(backend, mnist.train());
        int[] order = new int[train.count()];
        System.arraycopy(ints(st.longs("batch_indices", steps, b)), 0, order, 0, steps * b);
        train.setOrder(order);

        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            model.resetStats();
            model.gather(train.images(), train.labels(), train.order(), s * b, b);
            model.trainStep(b, LR, MOMENTUM, 0f, s == 0);
            losses[s] = model.readStats()[0] / b;
        }
        closeTrajectory("losses", st.floats("losses", steps), losses);
        float[] fin = params.downloadValues();
        for (Parameters.Spec s : Parameters.SPECS) {
            closeTrajectory("final " + s.name(), st.floats("final." + s.name()), Parameters.slice(fin, s.name()));
        }
    }
}
