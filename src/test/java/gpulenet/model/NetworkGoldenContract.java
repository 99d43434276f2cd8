package gpulenet.model;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gpulenet.backend.Backend;
import gpulenet.backend.SeedGolden;
import gpulenet.backend.StepScalars;
import gpulenet.backend.Tensor;
import gpulenet.backend.Tolerance;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.format.Safetensors;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;
import gpulenet.optim.Adam;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Optimizers;
import gpulenet.optim.Sgd;
import gpulenet.train.DeviceDataset;
import gpulenet.train.StepRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every preset's whole {@link Network}, built from its {@link Model} on the backend under test, against
 * PyTorch's autograd: the tutorials' set-ups of golden/seeds (lenet5-adam, lenet5-32, cnn-dropout, cnn3; see
 * its README) and lenet5 against golden/lenet5_* (see golden/README.md).
 *
 * <ul>
 *   <li>one step, batch 8, on a network built for a larger batch (so every buffer is a view): the gathered
 *       input (and lenet5-32's resized uint8 images), every activation the network keeps, the loss, the
 *       gradient of every Conv2d, Linear and MaxPool2d output, every parameter gradient, and the parameters
 *       (and Adam's moments) after one step of the preset's optimizer; cnn-dropout also the eval-mode
 *       forward, and its training forward with PyTorch's Dropout2d mask injected;</li>
 *   <li>the trajectory: 30 steps of batch 16 (lenet5: 60 of 32) with one optimizer, the loss of every step
 *       and the final parameters;</li>
 *   <li>an inference network's forward and loss;</li>
 *   <li>the Dropout2d masks the network draws: the CPU backend's, and a new mask each step.</li>
 * </ul>
 *
 * Tolerances are absolute, per tensor, from the seeds README's "Validation" section (input 1e-7, act.* 1e-5,
 * loss 1e-5, grad.act.* 1e-7, grad.* 1e-6, updated.* 2e-7 for SGD and 0.2*lr for Adam, exp_avg.* 1e-7,
 * exp_avg_sq.* 1e-9, losses 1e-5, final.* 5e-5); lenet5 uses golden/README.md's abs 1e-5 + rel 1e-4 for
 * the step and abs 1e-4 + rel 1e-3 for the trajectory. Tensors stored sampled (flat[0::17]) are compared at
 * the stored elements, and by their sum (see {@link SeedGolden#assertMatches}). Subclasses name the backend.
 */
public abstract class NetworkGoldenContract {
    /** The step's batch, and the network's larger maximum batch, so the step runs on views. */
    private static final int STEP_BATCH = 8;
    private static final int STEP_MAX_BATCH = 13;
    private static final int MNIST_SIZE = 28;

    /** Per-tensor tolerances: absolute, plus {@code rel}*|golden| (the seeds use none). */
    private record Tolerances(double input, double act, double loss, double gradAct, double grad, double updatedSgd,
                              double expAvg, double expAvgSq, double rel, double losses, double fin, double trajectoryRel) {
    }

    /** golden/seeds README, end of "Validation". */
    private static final Tolerances SEEDS = new Tolerances(1e-7, 1e-5, 1e-5, 1e-7, 1e-6, 2e-7, 1e-7, 1e-9, 0,
            1e-5, 5e-5, 0);
    /** golden/README.md: abs 1e-5 + rel 1e-4 for the step, abs 1e-4 + rel 1e-3 for the trajectory (input as the seeds). */
    private static final Tolerances LENET5 = new Tolerances(1e-7, 1e-5, 1e-5, 1e-5, 1e-5, 1e-5, 0, 0, 1e-4,
            1e-4, 1e-4, 1e-3);

    private static DataSets mnist;
    private static final Map<Integer, Dataset> TRANSFORMED = new HashMap<>();

    private Backend backend;

    protected abstract Backend createBackend();

    /**
     * How many of the trajectory's {@code goldenSteps} steps to run for {@code preset}: all by default. With
     * fewer, only those steps' losses are compared (the final parameters need every step).
     */
    protected int trajectorySteps(String preset, int goldenSteps) {
        return goldenSteps;
    }

    @BeforeEach
    void open() {
        backend = createBackend();
    }

    @AfterEach
    void close() {
        backend.close();
    }

    /** Every preset: one without reference data fails in {@link #setup}. */
    static Stream<String> presets() {
        return Presets.ALL.stream().map(Presets.Preset::name);
    }

    // ---- one step

    @ParameterizedTest(name = "{0}")
    @MethodSource("gpulenet.model.NetworkGoldenContract#presets")
    void oneStepMatchesPyTorchLayerByLayer(String preset) {
        Setup s = setup(preset);
        Reference g = s.step;
        Tolerances tol = s.tolerances;
        Presets.Preset p = Presets.get(preset);
        Model model = p.model();
        Hyper hyper = hyper(g, p);
        int b = STEP_BATCH;

        Parameters params = new Parameters(backend, model.parameterShapes());
        params.upload(flat(g, "param.", params));
        DeviceDataset train = trainingSet(backend, model);
        int size = train.host().rows();
        Network net = Network.forTraining(backend, model, params, size, size, STEP_MAX_BATCH);
        int[] indices = g.ints("indices");
        train.setOrder(orderStartingWith(indices, train.count()));
        net.gather(train.images(), train.labels(), train.order(), 0, b);
        checkInput(g, tol, net, train.host(), indices, b);

        if (g.has("eval.loss")) {
            // PyTorch's eval mode, with the initial parameters: Dropout2d is the identity
            net.resetStats();
            net.forward(b, false);
            net.loss(b, false);
            checkLoss(g, "eval.loss", net, b, tol);
            checkActivations(g, "eval.act.", model, net, b, false, tol);
        }

        injectPyTorchDropoutMasks(g, model, net, b, 0);
        net.resetStats();
        net.trainingPass(b);
        checkLoss(g, "loss", net, b, tol);
        checkActivations(g, "act.", model, net, b, true, tol);
        checkActivationGradients(g, model, net, b, tol);
        float[] grads = params.downloadGrads();
        for (Parameters.Spec spec : params.specs()) {
            g.check("grad." + spec.name(), params.slice(grads, spec.name()), tol.grad, tol.rel);
        }

        Optimizer optimizer = Optimizers.create(p.defaults().optimizer(), params, hyper.momentum, 0f);
        optimizer.step(hyper.lr, 0);
        float[] updated = params.downloadValues();
        double updatedTol = hyper.adam ? 0.2 * hyper.lr : tol.updatedSgd;
        for (Parameters.Spec spec : params.specs()) {
            g.check("updated." + spec.name(), params.slice(updated, spec.name()), updatedTol, tol.rel);
        }
        if (hyper.adam) {
            float[] m = params.download(optimizer.state().get("exp_avg"));
            float[] v = params.download(optimizer.state().get("exp_avg_sq"));
            for (Parameters.Spec spec : params.specs()) {
                g.check("exp_avg." + spec.name(), params.slice(m, spec.name()), tol.expAvg, 0);
                g.check("exp_avg_sq." + spec.name(), params.slice(v, spec.name()), tol.expAvgSq, 0);
            }
        }
    }

    /** The gathered input to 1e-7, its labels exactly, and for a resizing preset the resized uint8 images bitwise. */
    private void checkInput(Reference g, Tolerances tol, Network net, Dataset data, int[] indices, int b) {
        if (g.has("images_u8")) {
            int image = data.imageSize();
            byte[] resized = new byte[indices.length * image];
            for (int i = 0; i < indices.length; i++) {
                System.arraycopy(data.images(), indices[i] * image, resized, i * image, image);
            }
            assertArrayEquals(g.bytes("images_u8"), resized, "images_u8: the resized uint8 images, bitwise");
        }
        g.check("input", download(net.activation("input", b)), tol.input, 0);
        int[] labels = new int[b];
        backend.download(net.labels(b), labels);
        assertArrayEquals(g.ints("labels"), labels, "labels");
    }

    private static void checkLoss(Reference g, String name, Network net, int b, Tolerances tol) {
        g.check(name, new float[]{net.readStats()[0] / b}, tol.loss, tol.rel);
    }

    /**
     * Every layer output the network keeps, against {@code prefix + name}. A Conv2d or Linear followed by a
     * ReLU runs fused with it and keeps only the ReLU's output (under the ReLU's name), so its own output is
     * not there. In a training forward, a Dropout2d runs in place: the buffer of the layer before it then
     * holds the dropout's output. A last layer that the golden has no name for is its "logits".
     */
    private void checkActivations(Reference g, String prefix, Model model, Network net, int b, boolean train, Tolerances tol) {
        List<Layer> layers = model.layers();
        int checked = 0;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            boolean nextIsRelu = i + 1 < layers.size() && layers.get(i + 1) instanceof ReLU;
            if ((l instanceof Conv2d || l instanceof Linear) && nextIsRelu) {
                continue;
            }
            String name = l.name();
            if (train && i + 1 < layers.size() && layers.get(i + 1) instanceof Dropout2d) {
                name = layers.get(i + 1).name();
            }
            g.check(referenceName(g, prefix, name, i == layers.size() - 1), download(net.activation(l.name(), b)),
                    tol.act, tol.rel);
            checked++;
        }
        assertTrue(checked >= 4, "only " + checked + " activations checked");
    }

    /** The gradient of every Conv2d and Linear output (before a fused ReLU) and of every MaxPool2d output. */
    private void checkActivationGradients(Reference g, Model model, Network net, int b, Tolerances tol) {
        List<Layer> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (l instanceof Conv2d || l instanceof Linear || l instanceof MaxPool2d) {
                g.check(referenceName(g, "grad.act.", l.name(), i == layers.size() - 1),
                        download(net.gradient(l.name(), b)), tol.gradAct, tol.rel);
            }
        }
    }

    private static String referenceName(Reference g, String prefix, String layer, boolean last) {
        return !g.has(prefix + layer) && last ? prefix + "logits" : prefix + layer;
    }

    /**
     * Uploads PyTorch's Dropout2d mask (drop_mask, 1 = kept; [B,C] in a step file, row {@code step} of
     * [S,B,C] in a trajectory) into the network's mask as kept -> float32(1/(1-p)), dropped -> 0, where p is
     * the preset's. The golden sets have at most one Dropout2d.
     */
    private static void injectPyTorchDropoutMasks(Reference g, Model model, Network net, int b, int step) {
        List<Dropout2d> dropouts = model.layers().stream().filter(l -> l instanceof Dropout2d).map(l -> (Dropout2d) l).toList();
        if (dropouts.isEmpty()) {
            assertFalse(g.has("drop_mask"), "the golden has a dropout mask, but the preset no Dropout2d");
            return;
        }
        assertEquals(1, dropouts.size(), "Dropout2d layers");
        Dropout2d d = dropouts.get(0);
        Tensor mask = net.dropoutMask(d.name(), b);
        int channels = mask.dim(1);
        byte[] kept = g.bytes("drop_mask");
        float scale = (float) (1.0 / (1.0 - d.p()));
        float[] values = new float[b * channels];
        for (int i = 0; i < values.length; i++) {
            byte k = kept[step * b * channels + i];
            assertTrue(k == 0 || k == 1, "drop_mask values are 0 or 1");
            values[i] = k == 1 ? scale : 0f;
        }
        net.backend().upload(mask, values);
    }

    // ---- inference

    /**
     * A network built for inference runs the eval-mode forward (Dropout2d the identity): cnn-dropout's
     * eval.act.* and eval.loss, the other presets' act.* and loss (their forward has no training mode).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gpulenet.model.NetworkGoldenContract#presets")
    void inferenceNetworkGivesTheEvalForward(String preset) {
        Setup s = setup(preset);
        Reference g = s.step;
        Model model = Presets.get(preset).model();
        Parameters params = new Parameters(backend, model.parameterShapes());
        params.upload(flat(g, "param.", params));
        DeviceDataset train = trainingSet(backend, model);
        int size = train.host().rows();
        Network net = Network.forInference(backend, model, params, size, size, STEP_MAX_BATCH);
        int[] indices = g.ints("indices");
        train.setOrder(orderStartingWith(indices, train.count()));
        net.gather(train.images(), train.labels(), train.order(), 0, STEP_BATCH);
        net.resetStats();
        net.forward(STEP_BATCH, false);
        net.loss(STEP_BATCH, false);
        String prefix = g.has("eval.loss") ? "eval." : "";
        checkLoss(g, prefix + "loss", net, STEP_BATCH, s.tolerances);
        checkActivations(g, prefix + "act.", model, net, STEP_BATCH, false, s.tolerances);
    }

    // ---- trajectory

    /**
     * The trajectory: one optimizer for every step, each step's batch from batch_indices (cnn-dropout: with
     * that step's PyTorch mask), the loss of every step and the final parameters. Where a subclass runs only a
     * prefix of the steps ({@link #trajectorySteps}), the prefix's losses are compared with PyTorch's and its
     * parameters with the same prefix run on the CPU backend (at final.*'s tolerance).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gpulenet.model.NetworkGoldenContract#presets")
    void trajectoryMatchesPyTorch(String preset) {
        Setup s = setup(preset);
        Reference t = s.trajectory;
        Tolerances tol = s.tolerances;
        int steps = t.shape("batch_indices")[0];
        int run = trajectorySteps(preset, steps);
        assertTrue(run >= 1 && run <= steps, "steps to run: " + run);

        Trajectory result = runTrajectory(backend, s, preset, run);
        Tolerance.assertClose(Arrays.copyOf(t.floats("losses"), run), result.losses, tol.losses, tol.trajectoryRel,
                preset + " losses of steps 0.." + (run - 1));
        Parameters params = result.params;
        float[] fin = params.downloadValues();
        if (run == steps) {
            for (Parameters.Spec spec : params.specs()) {
                t.check("final." + spec.name(), params.slice(fin, spec.name()), tol.fin, tol.trajectoryRel);
            }
        } else {
            try (CpuBackend cpu = new CpuBackend(2)) {
                float[] reference = runTrajectory(cpu, s, preset, run).params.downloadValues();
                Tolerance.assertClose(reference, fin, tol.fin, tol.trajectoryRel,
                        preset + " parameters after " + run + " steps, against the CPU backend's");
            }
        }
    }

    private record Trajectory(float[] losses, Parameters params) {
    }

    /**
     * The first {@code run} steps of the preset's trajectory on {@code on}, as the trainer runs them: each
     * step's batch, learning rate (Adam: step size) and step count read on the backend from {@link StepScalars},
     * so on CUDA every step after the first is one replay of a captured graph. PyTorch's Dropout2d masks are
     * uploaded between steps, outside the graph, and the graph reads them from the mask tensors.
     */
    private static Trajectory runTrajectory(Backend on, Setup s, String preset, int run) {
        Reference t = s.trajectory;
        Presets.Preset p = Presets.get(preset);
        Model model = p.model();
        Hyper hyper = hyper(t, p);
        int b = t.shape("batch_indices")[1];

        Parameters params = new Parameters(on, model.parameterShapes());
        // The seeds' trajectories start from their step file's parameters; golden/lenet5_trajectory has its own.
        params.upload(flat(t.has("param." + params.specs().get(0).name()) ? t : s.step, "param.", params));
        DeviceDataset train = trainingSet(on, model);
        int size = train.host().rows();
        Network net = Network.forTraining(on, model, params, size, size, b);
        train.setOrder(orderStartingWith(t.ints("batch_indices"), train.count()));
        Optimizer optimizer = Optimizers.create(p.defaults().optimizer(), params, hyper.momentum, 0f);
        StepScalars scalars = new StepScalars(on, run);
        float[] schedule = new float[run * StepScalars.COLUMNS];
        for (int step = 0; step < run; step++) {
            optimizer.scheduleRow(hyper.lr, step, schedule, step * StepScalars.COLUMNS);
        }
        scalars.startEpoch(0, schedule);

        float[] losses = new float[run];
        try (StepRunner steps = new StepRunner(on, batch -> {
            net.trainingPass(train.images(), train.labels(), train.order(), scalars, b, batch);
            optimizer.step(scalars);
        }, true, new PrintWriter(System.err, true))) {
            for (int step = 0; step < run; step++) {
                injectPyTorchDropoutMasks(t, model, net, b, step);
                net.resetStats();
                steps.run(b);
                losses[step] = net.readStats()[0] / b;
            }
            assertEquals(on.name().equals("cuda") && run > 1, steps.usesGraphs() && steps.captures() == 1,
                    "steps after the first replay one captured graph on CUDA: " + steps.describe());
        }
        return new Trajectory(losses, params);
    }

    // ---- Dropout2d masks drawn by the network

    /**
     * cnn-dropout's masks drawn from (seed, step) are the CPU backend's bitwise, hold 0 or float32(1/(1-p)),
     * drop about p of the channels, change with the step and the seed, and do not depend on the batch size
     * (a sample's mask depends only on its position in the batch).
     */
    @Test
    void drawnDropoutMasksAreTheCpuBackendsAndChangeEveryStep() {
        Model model = Presets.get("cnn-dropout").model();
        Dropout2d d = (Dropout2d) model.layers().stream().filter(l -> l instanceof Dropout2d).findFirst().orElseThrow();
        float scale = (float) (1.0 / (1.0 - d.p()));
        assertEquals(1.3333333730697632f, scale, "float32(1/0.75)");
        int b = 13;
        long seed = 2026;
        Network net = Network.forTraining(backend, model, new Parameters(backend, model.parameterShapes()),
                MNIST_SIZE, MNIST_SIZE, b);
        try (CpuBackend cpu = new CpuBackend(1)) {
            Network reference = Network.forTraining(cpu, model, new Parameters(cpu, model.parameterShapes()),
                    MNIST_SIZE, MNIST_SIZE, b);
            float[][] byStep = new float[3][];
            for (int step = 0; step < byStep.length; step++) {
                net.drawDropoutMasks(b, seed, step);
                reference.drawDropoutMasks(b, seed, step);
                byStep[step] = download(net.dropoutMask(d.name(), b));
                float[] expected = new float[byStep[step].length];
                cpu.download(reference.dropoutMask(d.name(), b), expected);
                assertArrayEquals(expected, byStep[step], "mask of step " + step + " against the CPU backend's");
                int dropped = 0;
                for (float v : byStep[step]) {
                    assertTrue(v == 0f || v == scale, "mask value " + v);
                    dropped += v == 0f ? 1 : 0;
                }
                double fraction = dropped / (double) byStep[step].length;
                assertTrue(fraction > 0.1 && fraction < 0.4, "dropped fraction " + fraction + " for p " + d.p());
            }
            assertFalse(Arrays.equals(byStep[0], byStep[1]), "steps 0 and 1 draw the same mask");
            assertFalse(Arrays.equals(byStep[1], byStep[2]), "steps 1 and 2 draw the same mask");

            net.drawDropoutMasks(8, seed, 1);
            assertArrayEquals(Arrays.copyOf(byStep[1], 8 * byStep[1].length / b), download(net.dropoutMask(d.name(), 8)),
                    "a batch of 8 gets the first 8 rows of the batch of 13's mask");
            net.drawDropoutMasks(b, seed + 1, 1);
            assertFalse(Arrays.equals(byStep[1], download(net.dropoutMask(d.name(), b))), "another seed, the same mask");
        }
    }

    // ---- set-ups and reference files

    /** A preset's reference files and tolerances. */
    private record Setup(Reference step, Reference trajectory, Tolerances tolerances) {
    }

    private static Setup setup(String preset) {
        switch (preset) {
            case "lenet5":
                return new Setup(Reference.lenet5("lenet5_step"), Reference.lenet5("lenet5_trajectory"), LENET5);
            case "lenet5-adam", "lenet5-32", "cnn-dropout", "cnn3":
                return new Setup(Reference.seeds(preset + "_step"), Reference.seeds(preset + "_trajectory"), SEEDS);
            default:
                return fail("preset " + preset + " has no PyTorch reference data in golden/ or golden/seeds/");
        }
    }

    /** The golden's optimizer set-up, checked to be the preset's defaults (the goldens are the tutorials' set-ups). */
    private record Hyper(boolean adam, float lr, float momentum) {
    }

    private static Hyper hyper(Reference g, Presets.Preset p) {
        Map<String, String> meta = g.file.metadata();
        JsonObject h = meta.containsKey("hyper") ? JsonParser.parseString(meta.get("hyper")).getAsJsonObject() : null;
        double lr = h != null ? h.get("lr").getAsDouble() : Double.parseDouble(meta.get("lr"));
        double momentum = h != null ? (h.has("momentum") ? h.get("momentum").getAsDouble() : 0)
                : Double.parseDouble(meta.get("momentum"));
        boolean adam = h != null && h.has("beta1");
        if (adam) {
            assertEquals((float) h.get("beta1").getAsDouble(), Adam.BETA1, "beta1");
            assertEquals((float) h.get("beta2").getAsDouble(), Adam.BETA2, "beta2");
            assertEquals((float) h.get("eps").getAsDouble(), Adam.EPS, "eps");
        }
        Presets.Defaults d = p.defaults();
        assertEquals(adam ? Adam.NAME : Sgd.NAME, d.optimizer(), p.name() + ": the preset's optimizer");
        assertEquals((float) lr, d.lr(), p.name() + ": the preset's learning rate");
        if (!adam) {
            assertEquals((float) momentum, d.momentum(), p.name() + ": the preset's momentum");
        }
        return new Hyper(adam, (float) lr, (float) momentum);
    }

    /**
     * One reference file: golden/seeds/NAME (tensors of more than 4096 elements stored as flat[0::17], checked
     * with {@link SeedGolden#assertMatches}) or golden/NAME (every tensor complete). golden/lenet5_step has no
     * relu3, relu4 or flatten outputs; they are derived from fc1, fc2 and pool2 here.
     */
    private static final class Reference {
        final String name;
        final Safetensors file;
        final SeedGolden seeds;
        final Map<String, float[]> derived = new HashMap<>();

        private Reference(String name, Safetensors file, SeedGolden seeds) {
            this.name = name;
            this.file = file;
            this.seeds = seeds;
        }

        static Reference seeds(String name) {
            return new Reference(name, read("/golden/seeds/" + name + ".safetensors"), SeedGolden.load(name));
        }

        static Reference lenet5(String name) {
            Reference r = new Reference(name, read("/golden/" + name + ".safetensors"), null);
            if (r.file.has("act.fc1")) {
                r.derived.put("act.relu3", relu(r.file.floats("act.fc1")));
                r.derived.put("act.relu4", relu(r.file.floats("act.fc2")));
                r.derived.put("act.flatten", r.file.floats("act.pool2"));
            }
            return r;
        }

        private static Safetensors read(String resource) {
            try {
                return Safetensors.read(Path.of(NetworkGoldenContract.class.getResource(resource).toURI()));
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }

        boolean has(String tensor) {
            return derived.containsKey(tensor) || file.has(tensor);
        }

        int[] shape(String tensor) {
            return file.shape(tensor);
        }

        /** A tensor stored complete. */
        float[] floats(String tensor) {
            assertTrue(seeds == null || !seeds.isSampled(tensor), tensor + " is sampled");
            return file.floats(tensor);
        }

        int[] ints(String tensor) {
            return Arrays.stream(file.longs(tensor)).mapToInt(Math::toIntExact).toArray();
        }

        byte[] bytes(String tensor) {
            Safetensors.Entry e = file.entry(tensor);
            assertEquals("U8", e.dtype(), tensor + " dtype");
            byte[] out = new byte[(int) e.size()];
            e.data().duplicate().get(out);
            return out;
        }

        /** The complete tensor {@code actual} within abs + rel*|golden| of golden {@code tensor} at its stored elements. */
        void check(String tensor, float[] actual, double abs, double rel) {
            if (seeds != null) {
                seeds.assertMatches(tensor, actual, abs, rel);
                return;
            }
            float[] expected = derived.containsKey(tensor) ? derived.get(tensor) : file.floats(tensor);
            Tolerance.assertClose(expected, actual, abs, rel, name + " " + tensor);
        }
    }

    /** The flat parameter vector, in {@code params.specs()} order, from the tensors named prefix + PyTorch name. */
    private static float[] flat(Reference g, String prefix, Parameters params) {
        float[] out = new float[params.total()];
        for (Parameters.Spec s : params.specs()) {
            assertArrayEquals(s.shape(), g.shape(prefix + s.name()), prefix + s.name() + " shape");
            System.arraycopy(g.floats(prefix + s.name()), 0, out, s.offset(), s.size());
        }
        return out;
    }

    /** MNIST's training split as the model's transform makes it (lenet5-32: resized to 32x32), on the backend. */
    private static DeviceDataset trainingSet(Backend on, Model model) {
        Dataset data;
        synchronized (TRANSFORMED) {
            if (mnist == null) {
                mnist = DataSets.embedded();
            }
            data = TRANSFORMED.computeIfAbsent(model.transform().resize(), r -> model.transform().applyTo(mnist.train()));
        }
        assertEquals(model.inputSize(MNIST_SIZE), data.rows());
        return new DeviceDataset(on, data);
    }

    /** An order of [0, count) for the data set that starts with {@code first} (the rest is never gathered). */
    private static int[] orderStartingWith(int[] first, int count) {
        int[] order = new int[count];
        System.arraycopy(first, 0, order, 0, first.length);
        return order;
    }

    private static float[] relu(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(out[i], 0f);
        }
        return out;
    }

    private float[] download(Tensor t) {
        float[] out = new float[(int) t.size()];
        backend.download(t, out);
        return out;
    }
}
