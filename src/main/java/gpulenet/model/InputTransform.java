package gpulenet.model;

import gpulenet.data.DataSets;
import gpulenet.data.Dataset;
import gpulenet.data.Resize;
import gpulenet.io.InputException;

import java.util.Locale;

/**
 * What the tutorials' torchvision transforms do to an MNIST image before the network sees it: an optional
 * {@code Resize((resize, resize))} (done once when the data set is loaded, see data.Resize), then
 * {@code ToTensor()} and {@code Normalize((mean,), (std,))}, i.e. x = (u8/255 - mean)/std in float32 (done
 * in the batch gather). No normalisation is mean 0, std 1: exactly u8/255.
 *
 * @param resize the square size images are resized to, or 0 to keep them as they are
 */
public record InputTransform(int resize, float mean, float std) {
    public static final InputTransform NONE = new InputTransform(0, 0f, 1f);

    public InputTransform {
        if (resize < 0 || !(std > 0) || !Float.isFinite(mean) || !Float.isFinite(std)) {
            throw new IllegalArgumentException("invalid transform: resize " + resize + ", mean " + mean + ", std " + std);
        }
    }

    public boolean normalizes() {
        return mean != 0f || std != 1f;
    }

    /** The --normalize value that gives this transform: "0.5,0.5" or "none". */
    public String normalizeText() {
        return normalizes() ? Float.toString(mean) + "," + Float.toString(std) : "none";
    }

    /**
     * Parses a --normalize value, MEAN,STD or none; {@code what} names the source in errors. STD must be a
     * normal float (a subnormal one such as 1e-45 loses its precision, and its inverse is infinite) and the
     * inputs it gives, for pixels 0 and 255, finite: otherwise the first step's loss is NaN and the run
     * stops as diverged, blaming --lr.
     */
    public static InputTransform withNormalize(int resize, String text, String what) {
        if (text.trim().equalsIgnoreCase("none")) {
            return new InputTransform(resize, 0f, 1f);
        }
        String[] parts = text.split(",");
        try {
            if (parts.length == 2) {
                float mean = Float.parseFloat(parts[0].trim());
                float std = Float.parseFloat(parts[1].trim());
                if (Float.isFinite(mean) && std > 0 && Float.isFinite(std)) {
                    requireUsable(mean, std, text, what);
                    return new InputTransform(resize, mean, std);
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InputException(what + " must be MEAN,STD (STD positive) or none, got " + text);
    }

    private static void requireUsable(float mean, float std, String text, String what) {
        if (std < Float.MIN_NORMAL) {
            throw new InputException(String.format(Locale.ROOT, "%s: STD must be a normal positive float (%s or more), "
                    + "got %s (%s as a 32-bit float)", what, Float.MIN_NORMAL, text, std));
        }
        if (!Float.isFinite((0f - mean) / std) || !Float.isFinite((1f - mean) / std)) {
            throw new InputException(what + ": " + text + " makes the network's inputs infinite ((pixel/255 - MEAN)/STD "
                    + "overflows a 32-bit float)");
        }
    }

    /** The split with its images resized as this transform says (the same split when it does not resize). */
    public Dataset applyTo(Dataset split) {
        return resize == 0 || (split.rows() == resize && split.cols() == resize) ? split : Resize.bilinear(split, resize);
    }

    /** Both splits, as {@link #applyTo(Dataset)}. */
    public DataSets applyTo(DataSets data) {
        return resize == 0 ? data : new DataSets(data.name(), applyTo(data.train()), applyTo(data.test()));
    }

    public InputTransform withResize(int size) {
        return new InputTransform(size, mean, std);
    }

    /** How the tutorials write it: "Resize((32,32)), ToTensor, Normalize((0.1307,),(0.3081,))". */
    public String describe() {
        String s = (resize > 0 ? String.format(Locale.ROOT, "Resize((%d,%d)), ", resize, resize) : "") + "ToTensor";
        return normalizes() ? s + ", Normalize((" + mean + ",),(" + std + ",))" : s;
    }
}
