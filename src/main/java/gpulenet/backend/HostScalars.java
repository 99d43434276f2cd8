package gpulenet.backend;

/**
 * The scalars an op computes once on the host, in double, and hands to its per-element loop or kernel
 * as float32, so both backends use the same bits, and the bits PyTorch uses.
 *
 * <p>PyTorch takes hyper-parameters as Python floats (doubles): 1 - 0.9 is 0.09999999999999998, which
 * rounds to 0.1f. The ops get floats, and widening 0.9f exactly gives 1 - 0.8999999761581421, which
 * rounds to 0.10000002f. So a float argument is widened to the shortest decimal that rounds to it
 * (0.9f to 0.9), the value a user gives on a command line or in a config.
 */
public final class HostScalars {
    private HostScalars() {
    }

    /** The double written as the shortest decimal that rounds to {@code v} (0.9f gives 0.9). */
    public static double decimal(float v) {
        return Double.parseDouble(Float.toString(v));
    }

    /** Dropout's keep scale, float32(1 / (1 - p)), as PyTorch's feature_dropout scales kept channels. */
    public static float dropoutScale(float p) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        return (float) (1.0 / (1.0 - decimal(p)));
    }

    /**
     * The float32 scalars of one Adam step (torch 1.13 _single_tensor_adam): beta1, 1 - beta1, beta2,
     * 1 - beta2, sqrt(1 - beta2^t), eps, the signed step size -lr / (1 - beta1^t), and weight decay.
     */
    public record Adam(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float sqrtBiasCorrection2,
                       float eps, float negStepSize, float weightDecay) {

        /** These scalars with the two that change from step to step replaced. */
        public Adam withStep(float negStepSize, float sqrtBiasCorrection2) {
            return new Adam(beta1, oneMinusBeta1, beta2, oneMinusBeta2, sqrtBiasCorrection2, eps, negStepSize, weightDecay);
        }

        /** The scalars of step {@code step} (1-based, after the increment). */
        public static Adam of(float lr, float beta1, float beta2, float eps, float weightDecay, long step) {
            if (step < 1) {
                throw new IllegalArgumentException("Adam step count must be at least 1, got " + step);
            }
            double b1 = decimal(beta1), b2 = decimal(beta2);
            double biasCorrection1 = 1 - Math.pow(b1, step);
            double biasCorrection2 = 1 - Math.pow(b2, step);
            return new Adam((float) b1, (float) (1 - b1), (float) b2, (float) (1 - b2),
                    (float) Math.sqrt(biasCorrection2), (float) decimal(eps),
                    (float) (-(decimal(lr) / biasCorrection1)), (float) decimal(weightDecay));
        }
    }
}
