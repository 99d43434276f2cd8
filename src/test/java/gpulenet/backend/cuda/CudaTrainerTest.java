package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.io.InputException;
import gpulenet.train.EpochSummary;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Trainer on the CUDA backend (emulated driver, sgemm kernel) against the CPU backend on a slice of
 * MNIST: data set resident on the device, shuffled gathers, a partial last batch, weight decay, log
 * lines, and an evaluation without gradients (a null dlogits).
 */
class CudaTrainerTest {

    private static final double ABS = 1e-4;
    private static final double REL = 1e-3;

    private record Result(List<Float> losses, float[] params, EpochSummary summary) {
    }

    @Test
    void oneEpochOnASliceMatchesTheCpuBackend() {
        DataSets mnist = DataSets.embedded();
        DataSets slice = new DataSets("mnist-slice", head(mnist.train(), 136), head(mnist.test(), 50));
        // 136 = two batches of 64 and one of 8; a log line every 2 steps and at the end
        TrainConfig config = new TrainConfig(1, 64, 0.05f, 0.9f, 1e-4f, 0.5f, 3, 2, false, null);
        Result cpu;
        try (Backend backend = new CpuBackend(2)) {
            cpu = train(backend, slice, config);
        }
        EmulatedDriver driver = new EmulatedDriver(true);
        Result cuda;
        try (Backend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            cuda = train(backend, slice, config);
        }
        assertEquals(2, cpu.losses.size());
        for (int i = 0; i < cpu.losses.size(); i++) {
            assertClose(cpu.losses.get(i), cuda.losses.get(i), "logged loss " + i);
        }
        for (int i = 0; i < cpu.params.length; i++) {
            assertClose(cpu.params[i], cuda.params[i], "parameter " + i);
        }
        assertEquals(cpu.summary.test().correct(), cuda.summary.test().correct(), "test-set correct count");
        assertClose((float) cpu.summary.test().lossSum(), (float) cuda.summary.test().lossSum(), "test-set loss sum");
        assertEquals(50, cuda.summary.test().count());
    }

    private static Result train(Backend backend, DataSets data, TrainConfig config) {
        Trainer trainer = new Trainer(backend, data, config, new PrintWriter(new StringWriter()), false);
        List<EpochSummary> summaries = trainer.run();
        return new Result(trainer.loggedLosses(), trainer.parameters().downloadValues(), summaries.get(0));
    }

    @Test
    void aBatchTooLargeForTheDeviceIsRefusedWithOneThatFits() {
        DataSets mnist = DataSets.embedded();
        DataSets slice = new DataSets("mnist-slice", head(mnist.train(), 2000), head(mnist.test(), 50));
        TrainConfig config = new TrainConfig(1, 2000, 0.05f, 0.9f, 0f, 1f, 3, 1, false, null);
        EmulatedDriver driver = new EmulatedDriver(true, 64L << 20);
        try (Backend backend = new CudaBackend(driver, GemmChoice.KERNEL)) {
            int own = driver.liveAllocations();  // the backend's own scratch, made when it opens
            InputException e = assertThrows(InputException.class,
                    () -> new Trainer(backend, slice, config, new PrintWriter(new StringWriter()), false));
            Matcher m = Pattern.compile("--batch-size 2000 needs about 1\\d\\d MiB of GPU memory on host emulation and "
                    + "64 MiB is free: use --batch-size (\\d+) or less").matcher(e.getMessage());
            assertTrue(m.matches(), e.getMessage());
            assertEquals(own, driver.liveAllocations(), "refused before allocating");
            int fits = Integer.parseInt(m.group(1));
            new Trainer(backend, slice, config.withBatchSize(fits), new PrintWriter(new StringWriter()), false);
            assertTrue(driver.memGetInfo() < (64L << 20) / 16, "the suggested batch leaves 5% of the device free, not more: "
                    + driver.memGetInfo() + " bytes left");
        }
    }

    private static Dataset head(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n),
                n, d.rows(), d.cols());
    }

    private static void assertClose(float expected, float actual, String what) {
        assertTrue(Math.abs(expected - actual) <= ABS + REL * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual);
    }
}
