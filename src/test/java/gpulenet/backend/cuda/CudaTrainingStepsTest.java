package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.model.Network;
import gpulenet.model.Presets;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Training steps of every preset on the CUDA backend (emulated driver) against the CPU backend: batches
 * gathered on the device from a uint8 data set and a shuffled order, Dropout2d masks, forward, loss,
 * backward and the preset's optimizer, with either GEMM for LeNet-5. Also checks the step loop allocates
 * no device memory and waits for the device only where the stats are read.
 */
class CudaTrainingStepsTest {

    private static final int SAMPLES = 40;
    private static final int BATCH = 8;
    private static final int STEPS = 4;
    private static final float MOMENTUM = 0.9f;
    private static final double ABS = 1e-4;
    private static final double REL = 1e-3;

    /** What a run of {@link #STEPS} steps leaves behind. */
    private record Run(float[] losses, float[] correct, float[] params, float[][] state) {
    }

    static Stream<Arguments> presetsAndGemms() {
        return Stream.of(Arguments.of("lenet5", GemmChoice.CUBLAS), Arguments.of("lenet5", GemmChoice.KERNEL),
                Arguments.of("lenet5-adam", GemmChoice.KERNEL), Arguments.of("lenet5-32", GemmChoice.KERNEL),
                Arguments.of("cnn-dropout", GemmChoice.KERNEL), Arguments.of("cnn3", GemmChoice.KERNEL));
    }

    @ParameterizedTest
    @MethodSource("presetsAndGemms")
    void stepsMatchTheCpuBackend(String preset, GemmChoice gemm) {
        Presets.Preset p = Presets.get(preset);
        Run cpu;
        try (CpuBackend backend = new CpuBackend(2)) {
            cpu = train(backend, null, p);
        }
        EmulatedDriver driver = new EmulatedDriver(true);
        Run cuda;
        try (CudaBackend backend = new CudaBackend(driver, gemm)) {
            assertEquals(gemm == GemmChoice.CUBLAS, backend.usesCublas());
            cuda = train(backend, driver, p);
        }
        assertEquals(0, driver.liveAllocations(), "close frees every allocation");
        for (int s = 0; s < STEPS; s++) {
            assertClose(cpu.losses[s], cuda.losses[s], "loss sum of step " + s);
            assertEquals(cpu.correct[s], cuda.correct[s], "correct count of step " + s);
        }
        assertTrue(cpu.losses[STEPS - 1] < cpu.losses[0], "training lowers the loss on a repeated batch");
        for (int i = 0; i < cpu.params.length; i++) {
            assertClose(cpu.params[i], cuda.params[i], "parameter " + i);
            for (int k = 0; k < cpu.state.length; k++) {
                assertClose(cpu.state[k][i], cuda.state[k][i], "optimizer state " + k + " element " + i);
            }
        }
    }

    /** Runs the steps; with an emulated driver, also checks the loop neither allocates nor synchronises. */
    private static Run train(Backend backend, EmulatedDriver driver, Presets.Preset preset) {
        TrainingFixture f = TrainingFixture.of(backend, preset, SAMPLES, BATCH, 7, 17, 3, MOMENTUM);
        Network net = f.net();
        // ten times the tutorials' rates, so that four steps move the parameters well past the tolerance
        float lr = preset.defaults().lr() * 10;

        float[] losses = new float[STEPS];
        float[] correct = new float[STEPS];
        int allocationsBefore = driver == null ? 0 : driver.allocations();
        for (int s = 0; s < STEPS; s++) {
            int syncsBefore = driver == null ? 0 : driver.synchronizations();
            // the last step repeats the first batch, so the loss must have dropped
            int start = (s == STEPS - 1 ? 0 : s) * BATCH;
            f.gather(start, BATCH);
            f.step().run(BATCH, lr, 42, s);
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
        float[][] state = f.optimizer().state().values().stream().map(f.params()::download).toArray(float[][]::new);
        return new Run(losses, correct, f.params().downloadValues(), state);
    }

    private static void assertClose(float expected, float actual, String what) {
        assertTrue(Math.abs(expected - actual) <= ABS + REL * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual);
    }
}
