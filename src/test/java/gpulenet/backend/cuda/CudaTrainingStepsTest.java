package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.model.LeNet5;
import gpulenet.model.Parameters;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * LeNet-5 training steps on the CUDA backend (emulated driver) against the CPU backend: batches
 * gathered on the device from a uint8 data set and a shuffled order, forward, loss, backward and
 * momentum SGD, with either GEMM. Also checks the step loop allocates no device memory and waits for
 * the device only where the stats are read.
 */
class CudaTrainingStepsTest {

    private static final int SAMPLES = 40;
    private static final int BATCH = 8;
    private static final int STEPS = 4;
    private static final float LR = 0.05f;
    private static final float MOMENTUM = 0.9f;
    private static final double ABS = 1e-4;
    private static final double REL = 1e-3;

    /** What a run of {@link #STEPS} steps leaves behind. */
    private record Run(float[] losses, float[] correct, float[] params, float[] momentum) {
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"CUBLAS", "KERNEL"})
    void stepsMatchTheCpuBackend(GemmChoice gemm) {
        Run cpu;
        try (CpuBackend backend = new CpuBackend(2)) {
            cpu = train(backend, null);
        }
        EmulatedDriver driver = new EmulatedDriver(true);
        Run cuda;
        try (CudaBackend backend = new CudaBackend(driver, gemm)) {
            assertEquals(gemm == GemmChoice.CUBLAS, backend.usesCublas());
            cuda = train(backend, driver);
        }
        assertEquals(0, driver.liveAllocations(), "close frees every allocation");
        for (int s = 0; s < STEPS; s++) {
            assertClose(cpu.losses[s], cuda.losses[s], "loss sum of step " + s);
            assertEquals(cpu.correct[s], cuda.correct[s], "correct count of step " + s);
        }
        assertTrue(cpu.losses[STEPS - 1] < cpu.losses[0], "training lowers the loss on a repeated batch");
        for (int i = 0; i < Parameters.TOTAL; i++) {
            assertClose(cpu.params[i], cuda.params[i], "parameter " + i);
            assertClose(cpu.momentum[i], cuda.momentum[i], "momentum " + i);
        }
    }

    /** Runs the steps; with an emulated driver, also checks the loop neither allocates nor synchronises. */
    private static Run train(Backend backend, EmulatedDriver driver) {
        SplittableRandom rng = new SplittableRandom(7);
        byte[] images = new byte[SAMPLES * LeNet5.IMAGE * LeNet5.IMAGE];
        byte[] labels = new byte[SAMPLES];
        int[] order = new int[SAMPLES];
        for (int i = 0; i < images.length; i++) {
            images[i] = (byte) rng.nextInt(256);
        }
        for (int i = 0; i < SAMPLES; i++) {
            labels[i] = (byte) rng.nextInt(LeNet5.CLASSES);
            order[i] = (i * 17 + 3) % SAMPLES;
        }
        Tensor imagesT = backend.allocate(DType.U8, SAMPLES, LeNet5.IMAGE, LeNet5.IMAGE);
        Tensor labelsT = backend.allocate(DType.U8, SAMPLES);
        Tensor orderT = backend.allocate(DType.I32, SAMPLES);
        backend.upload(imagesT, images);
        backend.upload(labelsT, labels);
        backend.upload(orderT, order);
        Parameters params = new Parameters(backend);
        params.initialize(42);
        LeNet5 net = new LeNet5(backend, params, BATCH);

        float[] losses = new float[STEPS];
        float[] correct = new float[STEPS];
        int allocationsBefore = driver == null ? 0 : driver.allocations();
        for (int s = 0; s < STEPS; s++) {
            int syncsBefore = driver == null ? 0 : driver.synchronizations();
            // the last step repeats the first batch, so the loss must have dropped
            int start = (s == STEPS - 1 ? 0 : s) * BATCH;
            net.gather(imagesT, labelsT, orderT, start, BATCH);
            net.trainStep(BATCH, LR, MOMENTUM, 0f, s == 0);
            if (driver != null) {
                assertEquals(syncsBefore, driver.synchronizations(), "a training step waits for the device");
            }
            float[] stats = net.readStats();
            net.resetStats();
            losses[s] = stats[0];
            correct[s] = stats[1];
        }
        if (driver != null) {
            assertEquals(allocationsBefore, driver.allocations(), "training steps allocate device memory");
        }
        return new Run(losses, correct, params.downloadValues(), params.downloadMomentum());
    }

    private static void assertClose(float expected, float actual, String what) {
        assertTrue(Math.abs(expected - actual) <= ABS + REL * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual);
    }
}
