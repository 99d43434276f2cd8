package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.data.DataSets;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Presets;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Evaluation's optional per-sample predictions (eval --errors): what the confusion matrix counts, sample by sample. */
class EvaluationPredictionsTest {
    @Test
    void predictionsAgreeWithTheConfusionMatrixAndTheAccuracy() {
        DataSets small = TrainingListenerTest.small();
        try (Backend backend = new CpuBackend(2)) {
            Trainer t = new Trainer(backend, small, new TrainConfig(1, 64, 0.05f, 0.9f, 0f, 1f, 1, 100, false, null),
                    new PrintWriter(new StringWriter()), false);
            t.run();
            Model model = Presets.get(Presets.DEFAULT).model();
            // batches of 64 over 200 test images: the last one ragged
            Network network = Network.forInference(backend, model, t.parameters(), 28, 28, 64);
            DeviceDataset test = new DeviceDataset(backend, small.test());

            int[] predictions = new int[200];
            Arrays.fill(predictions, -1);
            Evaluation both = Evaluation.run(network, test, 200, true, predictions);
            long[][] rebuilt = new long[Model.CLASSES][Model.CLASSES];
            long wrong = 0;
            for (int i = 0; i < 200; i++) {
                assertTrue(predictions[i] >= 0 && predictions[i] < Model.CLASSES, "sample " + i + ": " + predictions[i]);
                rebuilt[small.test().label(i)][predictions[i]]++;
                wrong += predictions[i] != small.test().label(i) ? 1 : 0;
            }
            assertArrayEquals(both.confusion(), rebuilt);
            assertEquals(200 - both.correct(), wrong);
            assertTrue(wrong > 0 && wrong < 200, wrong + " wrong: a test with both kinds");

            int[] alone = new int[200];
            Evaluation predictionsOnly = Evaluation.run(network, test, 200, false, alone);
            assertNull(predictionsOnly.confusion());
            assertArrayEquals(predictions, alone);
            assertEquals(both.lossSum(), predictionsOnly.lossSum());
            assertEquals(both.correct(), Evaluation.run(network, test, 200, false).correct());
        }
    }
}
