package gpulenet.train;

/**
 * What one epoch did.
 *
 * @param trainLoss   mean training loss over the epoch's samples
 * @param trainSeconds training time alone (gather, steps, log reads), without eval or checkpointing
 */
public record EpochSummary(int epoch, float lr, int trainImages, double trainLoss, double trainSeconds,
                           Evaluation test) {
    public double imagesPerSecond() {
        return trainImages / trainSeconds;
    }
}
