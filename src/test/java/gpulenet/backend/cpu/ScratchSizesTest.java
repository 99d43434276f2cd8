package gpulenet.backend.cpu;

import gpulenet.backend.SizingBackend;
import gpulenet.data.Dataset;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.ReLU;
import gpulenet.optim.Optimizers;
import gpulenet.train.DeviceDataset;
import gpulenet.train.TrainingStep;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scratch grows row by row, so a wide layer next to a tall one costs their sum, not their rectangle. */
class ScratchSizesTest {
    private static final long ROW = 16 + 4;

    @Test
    void rowsGrowToTheWidestRequestThatReachesThem() {
        Scratch s = new Scratch();
        s.matrix(Scratch.Slot.PRODUCT, 20000, 784);
        float[][] m = s.matrix(Scratch.Slot.PRODUCT, 64, 20000);
        assertEquals(20000, m.length);
        assertEquals(20000, m[63].length);
        assertEquals(784, m[64].length);
        long expected = 64 * (20000 * 4 + ROW) + (20000 - 64) * (784 * 4 + ROW);
        assertEquals(expected, s.matrixBytes());

        Scratch.Sizes sizes = new Scratch.Sizes();
        sizes.matrix(Scratch.Slot.PRODUCT, 20000, 784);
        sizes.matrix(Scratch.Slot.PRODUCT, 64, 20000);
        sizes.matrix(Scratch.Slot.PRODUCT, 10, 100);
        assertEquals(expected, sizes.bytes());
    }

    private static Model wide(int hidden) {
        return new Model("wide", List.of(new Flatten("0"), new Linear("1", 784, hidden), new ReLU("2"),
                new Linear("3", hidden, 10)), InputTransform.NONE);
    }

    /** What the CPU backend's workspace is estimated at for one training step of {@code model}. */
    private static long estimate(CpuBackend cpu, Model model, int batch) {
        SizingBackend plan = new SizingBackend(cpu);
        Parameters params = new Parameters(plan, model.parameterShapes());
        Network net = Network.forTraining(plan, model, params, 28, 28, batch);
        new TrainingStep(net, Optimizers.create("sgd", params, 0.9f, 0f)).run(batch, 0.01f, 0, 0);
        return cpu.workspaceBytes(plan);
    }

    @Test
    void theEstimateIsWhatATrainingStepAllocates() {
        int batch = 64;
        Model model = wide(3000);
        try (CpuBackend cpu = new CpuBackend(2)) {
            DeviceDataset data = new DeviceDataset(cpu, new Dataset("d", new byte[batch * 784], new byte[batch], batch, 28, 28));
            data.useIdentityOrder();
            Parameters params = new Parameters(cpu, model.parameterShapes());
            params.initialize(1);
            Network net = Network.forTraining(cpu, model, params, 28, 28, batch);
            net.gather(data.images(), data.labels(), data.order(), 0, batch);
            new TrainingStep(net, Optimizers.create("sgd", params, 0.9f, 0f)).run(batch, 0.01f, 0, 0);
            assertEquals(estimate(cpu, model, batch), cpu.scratchMatrixBytes());
        }
    }

    @Test
    void aWideHiddenLayerNeedsMegabytesNotGigabytes() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            // one rectangle around every request was 20000 x 20000 floats per worker: 3.5 GiB in all
            long bytes = estimate(cpu, wide(20000), 64);
            assertTrue(bytes < 200L << 20, bytes + " bytes");
        }
    }
}
