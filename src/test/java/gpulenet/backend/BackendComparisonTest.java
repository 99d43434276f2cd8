package gpulenet.backend;

import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.cli.TrainingComparison;
import gpulenet.data.DataSets;
import gpulenet.data.IdxFiles;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The selftest's comparisons (op by op, and a few training steps) pass a backend against itself and catch one
 * that is wrong in one op.
 */
class BackendComparisonTest {
    @TempDir
    Path dir;

    @Test
    void cpuAgainstCpuPassesEveryOpAndTrainingStep() {
        DataSets data = DataSets.load(IdxFiles.writeDataSet(dir, 64, 16));
        try (CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2)) {
            BackendComparison comparison = new BackendComparison(one, two, 5);
            List<Row> rows = comparison.ops(1, 7, 64);
            rows.addAll(TrainingComparison.compare(one, two, TestModels.lenet5(), "sgd", 0.05f, data.train(), 16, 4, 5));
            assertTrue(BackendComparison.allPass(rows), rows.stream().filter(r -> !r.pass()).toList().toString());
            Set<String> ops = rows.stream().map(r -> r.op().split(":| \\(")[0]).collect(Collectors.toSet());
            assertEquals(Set.of("upload/download f32", "upload/download i32", "view", "zero", "sgdUpdate", "adamUpdate",
                    "gatherBatch", "conv2dForward", "conv2dBackward", "maxPool2x2Forward", "maxPool2x2Backward",
                    "linearForward", "linearBackward", "reluForward", "reluBackward", "dropout2dMask", "dropout2dForward",
                    "dropout2dBackward", "softmaxCrossEntropy", "train"), ops, "every op is checked");
            for (int batch : new int[]{1, 7, 64}) {
                assertTrue(rows.stream().anyMatch(r -> r.op().equals("conv2dForward") && r.shape().contains("x[" + batch + ",1,28,28]")),
                        "conv1 at batch " + batch);
            }
            assertTrue(rows.stream().allMatch(r -> r.maxAbs() == 0), "identical arithmetic, identical bits");
        }
    }

    @Test
    void aBackendWithAWrongPoolBackwardFailsThoseRowsAndTheTrainingSteps() {
        DataSets data = DataSets.load(IdxFiles.writeDataSet(dir, 64, 16));
        try (CpuBackend reference = new CpuBackend(2); CpuBackend inner = new CpuBackend(2)) {
            Backend wrong = new ReluIgnoringPool(inner);
            BackendComparison comparison = new BackendComparison(reference, wrong, 5);
            List<Row> rows = comparison.ops(7);
            rows.addAll(TrainingComparison.compare(reference, wrong, TestModels.lenet5(), "sgd", 0.05f, data.train(), 16, 4, 5));
            assertFalse(BackendComparison.allPass(rows));
            for (Row r : rows) {
                // judged per step, the wrong gradients fail in every step; the updates, made from the candidate's
                // own gradients, agree
                boolean shouldFail = r.op().equals("maxPool2x2Backward (relu before)") || r.op().equals("train: gradients");
                assertEquals(!shouldFail, r.pass(), r.toString());
                if (shouldFail) {
                    assertTrue(r.maxAbs() > BackendComparison.OP_ABS, r.toString());
                }
            }
        }
    }

    @Test
    void errorsAreAbsoluteAndRelativeToTheReference() {
        Row close = BackendComparison.compare("op", "[3]", new float[]{1000f, 0f, -2f}, new float[]{1000.05f, 5e-6f, -2f}, 1e-5, 1e-4);
        assertTrue(close.pass(), close.toString());
        assertEquals(0.05, close.maxAbs(), 1e-4);
        assertEquals(5e-5, close.maxRel(), 1e-6);
        Row far = BackendComparison.compare("op", "[1]", new float[]{1f}, new float[]{1.001f}, 1e-5, 1e-4);
        assertFalse(far.pass());
        Row nan = BackendComparison.compare("op", "[1]", new float[]{1f}, new float[]{Float.NaN}, 1e-5, 1e-4);
        assertFalse(nan.pass());
        assertEquals(Double.POSITIVE_INFINITY, nan.maxAbs());
    }

    /** The CPU backend except that pool backward forgets the fused ReLU mask: a plausible kernel bug. */
    private static final class ReluIgnoringPool implements Backend {
        private final Backend inner;

        ReluIgnoringPool(Backend inner) {
            this.inner = inner;
        }

        @Override
        public void maxPool2x2Backward(Tensor dy, Tensor y, Tensor argmax, boolean reluBefore, Tensor dx) {
            inner.maxPool2x2Backward(dy, y, argmax, false, dx);
        }

        @Override
        public String name() {
            return "wrong";
        }

        @Override
        public String describe() {
            return "CPU with a pool backward that ignores the ReLU";
        }

        @Override
        public FreeMemory freeMemory() {
            return inner.freeMemory();
        }

        @Override
        public long workspaceBytes(SizingBackend plan) {
            return inner.workspaceBytes(plan);
        }

        @Override
        public Tensor allocate(DType dtype, int... shape) {
            return inner.allocate(dtype, shape);
        }

        @Override
        public Tensor view(Tensor base, long offset, int... shape) {
            return inner.view(base, offset, shape);
        }

        @Override
        public void upload(Tensor dst, float[] src) {
            inner.upload(dst, src);
        }

        @Override
        public void upload(Tensor dst, int[] src) {
            inner.upload(dst, src);
        }

        @Override
        public void upload(Tensor dst, byte[] src) {
            inner.upload(dst, src);
        }

        @Override
        public void download(Tensor src, float[] dst) {
            inner.download(src, dst);
        }

        @Override
        public void download(Tensor src, int[] dst) {
            inner.download(src, dst);
        }

        @Override
        public void zero(Tensor t) {
            inner.zero(t);
        }

        @Override
        public void gatherBatch(Tensor images, Tensor labels, Tensor order, int start, float mean, float std, Tensor x, Tensor y) {
            inner.gatherBatch(images, labels, order, start, mean, std, x, y);
        }

        @Override
        public void conv2dForward(Tensor x, Tensor w, Tensor b, int pad, boolean relu, Tensor y) {
            inner.conv2dForward(x, w, b, pad, relu, y);
        }

        @Override
        public void conv2dBackward(Tensor x, Tensor w, Tensor dy, int pad, Tensor dx, Tensor dw, Tensor db) {
            inner.conv2dBackward(x, w, dy, pad, dx, dw, db);
        }

        @Override
        public void maxPool2x2Forward(Tensor x, Tensor y, Tensor argmax) {
            inner.maxPool2x2Forward(x, y, argmax);
        }

        @Override
        public void linearForward(Tensor x, Tensor w, Tensor b, boolean relu, Tensor y) {
            inner.linearForward(x, w, b, relu, y);
        }

        @Override
        public void linearBackward(Tensor x, Tensor w, Tensor dy, boolean reluOnInput, Tensor dx, Tensor dw, Tensor db) {
            inner.linearBackward(x, w, dy, reluOnInput, dx, dw, db);
        }

        @Override
        public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
            inner.softmaxCrossEntropy(logits, labels, dlogits, stats);
        }

        @Override
        public void sgdUpdate(Tensor params, Tensor grads, Tensor momentumBuf, float lr, float momentum, float weightDecay,
                              boolean firstStep) {
            inner.sgdUpdate(params, grads, momentumBuf, lr, momentum, weightDecay, firstStep);
        }

        @Override
        public void reluForward(Tensor x, Tensor y) {
            inner.reluForward(x, y);
        }

        @Override
        public void reluBackward(Tensor dy, Tensor y, Tensor dx) {
            inner.reluBackward(dy, y, dx);
        }

        @Override
        public void dropout2dMask(Tensor mask, long seed, long step, float p) {
            inner.dropout2dMask(mask, seed, step, p);
        }

        @Override
        public void dropout2dForward(Tensor x, Tensor mask, Tensor y) {
            inner.dropout2dForward(x, mask, y);
        }

        @Override
        public void dropout2dBackward(Tensor dy, Tensor mask, Tensor dx) {
            inner.dropout2dBackward(dy, mask, dx);
        }

        @Override
        public void adamUpdate(Tensor params, Tensor grads, Tensor expAvg, Tensor expAvgSq, HostScalars.Adam scalars) {
            inner.adamUpdate(params, grads, expAvg, expAvgSq, scalars);
        }

        @Override
        public void synchronize() {
            inner.synchronize();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
