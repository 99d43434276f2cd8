package gpulenet.train;

/**
 * What a {@link Trainer} reports as it goes: each log line (every --log-interval steps and at an epoch's
 * last step, whether a "Train Epoch" line or a progress bar shows it) and each finished epoch. Called on
 * the training thread; a listener that throws stops the run.
 */
public interface TrainingListener {

    /**
     * One log line.
     *
     * @param epoch        1-based
     * @param step         global step count after this line's step (steps of earlier epochs included)
     * @param epochTrained training images of this epoch so far
     * @param epochImages  training images of a whole epoch (the training set)
     * @param loss         mean training loss over the steps since the previous log line, as printed
     * @param lr           this epoch's learning rate
     * @param trainSeconds training time of this epoch so far
     */
    record LogLine(int epoch, long step, int epochTrained, int epochImages, float loss, float lr, double trainSeconds) {
        /** Epochs done, fractional: epoch 2 half done is 1.5 (epoch e ends at e). */
        public double epochProgress() {
            return epoch - 1 + (double) epochTrained / epochImages;
        }

        /** Training images per second in this epoch so far. */
        public double imagesPerSecond() {
            return epochTrained / trainSeconds;
        }
    }

    /** After the loss of a log line is read and checked (a diverged loss stops the run before this). */
    default void logLine(LogLine line) {
    }

    /**
     * After an epoch's evaluation and checkpoint.
     *
     * @param step the global step count at the end of the epoch
     */
    default void epochEnd(EpochSummary summary, long step) {
    }
}
