package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.model.Network;
import gpulenet.model.Presets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA backend's launch sites on the emulated driver, which runs the kernels on the values its native
 * argument blocks hold: every site's arguments are marshalled once, a step writes only the scalars that
 * changed (the batch's start, the learning rate, the first-step flag, the batch size), and the kernels
 * still compute what the CPU backend does.
 */
class CudaLaunchSitesTest {

    private static final int SAMPLES = 40;
    private static final int BATCH = 8;
    private static final double ABS = 1e-4;
    private static final double REL = 1e-3;

    /** One training step: the batch's start in the shuffled order, its size, the learning rate. */
    private record Step(int start, int batch, float lr) {
    }

    private static final Step[] SCHEDULE = {
        new Step(0, BATCH, 0.5f), new Step(8, BATCH, 0.5f), new Step(16, BATCH, 0.5f), new Step(24, BATCH, 0.5f),
        // the next epoch's learning rate
        new Step(32, BATCH, 0.35f),
        // a short last batch, then the full batch again
        new Step(0, 5, 0.35f), new Step(5, BATCH, 0.35f), new Step(13, BATCH, 0.35f),
    };

    /** What a run leaves: the loss sums per step, the parameters, and per step the blocks made and values written. */
    private record Run(float[] losses, float[] params, int[] blocksAfter, long[] writes) {
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"CUBLAS", "KERNEL"})
    void everySiteIsMarshalledOnceAndAStepWritesOnlyWhatChanged(GemmChoice gemm) {
        Run cpu;
        try (CpuBackend backend = new CpuBackend(2)) {
            cpu = train(backend, null);
        }
        EmulatedDriver driver = new EmulatedDriver(true);
        Run cuda;
        try (CudaBackend backend = new CudaBackend(driver, gemm)) {
            cuda = train(backend, driver);
        }

        int sites = cuda.blocksAfter[0];
        // gather, conv1 + pool1, conv2 + pool2, the head and its reduction, the backward of conv2 and of conv1, SGD
        assertEquals(8, sites, "LeNet-5's step has a launch site per op");
        for (int s = 1; s < SCHEDULE.length; s++) {
            assertEquals(sites, cuda.blocksAfter[s], "step " + s + " made argument blocks; its sites exist since step 0");
        }
        assertTrue(cuda.writes[0] >= 3L * sites, "step 0 writes every value of every site: " + cuda.writes[0]);
        assertEquals(2, cuda.writes[1], "step 1 writes the batch's start and the first-step flag");
        assertEquals(1, cuda.writes[2], "step 2 writes the batch's start");
        assertEquals(1, cuda.writes[3], "step 3 writes the batch's start");
        assertEquals(2, cuda.writes[4], "step 4 writes the batch's start and the new learning rate");
        assertTrue(cuda.writes[5] > 2, "the short batch rewrites the batch sizes: " + cuda.writes[5]);
        assertEquals(cuda.writes[5], cuda.writes[6], "the full batch again rewrites the same sizes (and the start)");
        assertEquals(1, cuda.writes[7], "then only the start again");

        for (int s = 0; s < SCHEDULE.length; s++) {
            assertClose(cpu.losses[s], cuda.losses[s], "loss sum of step " + s);
        }
        for (int i = 0; i < cpu.params.length; i++) {
            assertClose(cpu.params[i], cuda.params[i], "parameter " + i);
        }
    }

    @Test
    void oneKernelOnSeveralTensorsWithChangingScalarsComputesEachUpdate() {
        int n = 300;
        float[][] expected;
        float[][] actual;
        try (CpuBackend backend = new CpuBackend(2)) {
            expected = alternateSgd(backend, n);
        }
        EmulatedDriver driver = new EmulatedDriver(false);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            actual = alternateSgd(backend, n);
        }
        assertEquals(3, driver.argumentBlocks(), "one block per parameter set");
        for (int t = 0; t < expected.length; t++) {
            for (int i = 0; i < n; i++) {
                assertEquals(expected[t][i], actual[t][i], "set " + t + " element " + i);
            }
        }
    }

    /** Three parameter sets updated in turn, each step with another learning rate and momentum. */
    private static float[][] alternateSgd(Backend backend, int n) {
        SplittableRandom rng = new SplittableRandom(3);
        Tensor[] params = new Tensor[3];
        Tensor[] grads = new Tensor[3];
        Tensor[] momentum = new Tensor[3];
        for (int t = 0; t < 3; t++) {
            params[t] = backend.allocate(DType.F32, n);
            grads[t] = backend.allocate(DType.F32, n);
            momentum[t] = backend.allocate(DType.F32, n);
            backend.upload(params[t], random(rng, n));
        }
        for (int step = 0; step < 4; step++) {
            for (int t = 0; t < 3; t++) {
                backend.upload(grads[t], random(rng, n));
                backend.sgdUpdate(params[t], grads[t], momentum[t], 0.1f * (step + 1) + 0.01f * t, 0.9f - 0.1f * t,
                        t == 2 ? 0.01f : 0f, step == 0);
            }
        }
        float[][] out = new float[3][n];
        for (int t = 0; t < 3; t++) {
            backend.download(params[t], out[t]);
        }
        return out;
    }

    @Test
    void pastTheCapBlocksAreReusedAndStillCarryTheRightArguments() {
        int tensors = LaunchSites.MAX_SITES_PER_KERNEL + 8;
        EmulatedDriver driver = new EmulatedDriver(false);
        try (CudaBackend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            SplittableRandom rng = new SplittableRandom(5);
            Tensor[] xs = new Tensor[tensors];
            Tensor[] ys = new Tensor[tensors];
            float[][] values = new float[tensors][];
            for (int round = 0; round < 2; round++) {
                for (int t = 0; t < tensors; t++) {
                    int n = 10 + t;
                    if (round == 0) {
                        xs[t] = backend.allocate(DType.F32, n);
                        ys[t] = backend.allocate(DType.F32, n);
                    }
                    values[t] = random(rng, n);
                    backend.upload(xs[t], values[t]);
                    backend.reluForward(xs[t], ys[t]);
                }
                for (int t = 0; t < tensors; t++) {
                    float[] y = new float[values[t].length];
                    backend.download(ys[t], y);
                    for (int i = 0; i < y.length; i++) {
                        assertEquals(Math.max(0f, values[t][i]), y[i], "round " + round + " tensor " + t + " element " + i);
                    }
                }
            }
        }
        assertEquals(LaunchSites.MAX_SITES_PER_KERNEL, driver.argumentBlocks());
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static Run train(Backend backend, EmulatedDriver driver) {
        TrainingFixture f = TrainingFixture.of(backend, Presets.get("lenet5"), SAMPLES, BATCH, 11, 13, 5, 0.9f);
        Network net = f.net();

        float[] losses = new float[SCHEDULE.length];
        int[] blocksAfter = new int[SCHEDULE.length];
        long[] writes = new long[SCHEDULE.length];
        for (int s = 0; s < SCHEDULE.length; s++) {
            Step st = SCHEDULE[s];
            long writesBefore = driver == null ? 0 : driver.argumentWrites();
            f.gather(st.start, st.batch);
            f.step().run(st.batch, st.lr, 42, s);
            if (driver != null) {
                blocksAfter[s] = driver.argumentBlocks();
                writes[s] = driver.argumentWrites() - writesBefore;
            }
            losses[s] = net.readStats()[0];
            net.resetStats();
        }
        return new Run(losses, f.params().downloadValues(), blocksAfter, writes);
    }

    private static void assertClose(float expected, float actual, String what) {
        assertTrue(Math.abs(expected - actual) <= ABS + REL * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual);
    }
}
