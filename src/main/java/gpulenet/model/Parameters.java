package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LeNet-5's parameters as three flat F32 buffers of equal layout (values, gradients, momentum), so one
 * SGD call updates everything, with a named view per tensor under PyTorch's names and layouts, in
 * PyTorch's state_dict order.
 */
public final class Parameters {

    /** One parameter tensor: its PyTorch name, shape, fan-in (for the init bound) and offset in the flat buffers. */
    public record Spec(String name, int[] shape, int fanIn, int offset) {
        public int size() {
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    public static final List<Spec> SPECS;
    public static final int TOTAL;

    static {
        Object[][] table = {
                {"conv1.weight", new int[]{6, 1, 5, 5}, 1 * 5 * 5},
                {"conv1.bias", new int[]{6}, 1 * 5 * 5},
                {"conv2.weight", new int[]{16, 6, 5, 5}, 6 * 5 * 5},
                {"conv2.bias", new int[]{16}, 6 * 5 * 5},
                {"fc1.weight", new int[]{120, 400}, 400},
                {"fc1.bias", new int[]{120}, 400},
                {"fc2.weight", new int[]{84, 120}, 120},
                {"fc2.bias", new int[]{84}, 120},
                {"fc3.weight", new int[]{10, 84}, 84},
                {"fc3.bias", new int[]{10}, 84},
        };
        Spec[] specs = new Spec[table.length];
        int offset = 0;
        for (int i = 0; i < table.length; i++) {
            specs[i] = new Spec((String) table[i][0], (int[]) table[i][1], (Integer) table[i][2], offset);
            offset += specs[i].size();
        }
        SPECS = List.of(specs);
        TOTAL = offset;
    }

    private final Backend backend;
    private final Tensor values;
    private final Tensor grads;
    private final Tensor momentum;
    private final Map<String, Tensor> valueViews = new LinkedHashMap<>();
    private final Map<String, Tensor> gradViews = new LinkedHashMap<>();

    /** Zero-filled buffers on {@code backend}; call {@link #initialize} or {@link #upload} next. */
    public Parameters(Backend backend) {
        this.backend = backend;
        this.values = backend.allocate(DType.F32, TOTAL);
        this.grads = backend.allocate(DType.F32, TOTAL);
        this.momentum = backend.allocate(DType.F32, TOTAL);
        for (Spec s : SPECS) {
            valueViews.put(s.name(), backend.view(values, s.offset(), s.shape()));
            gradViews.put(s.name(), backend.view(grads, s.offset(), s.shape()));
        }
    }

    public static Spec spec(String name) {
        for (Spec s : SPECS) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no parameter named " + name);
    }

    /**
     * PyTorch's default init for Conv2d and Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
     * drawn tensor by tensor in state_dict order from one generator seeded with {@code seed}.
     */
    public static float[] initialValues(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] flat = new float[TOTAL];
        for (Spec s : SPECS) {
            double bound = 1.0 / Math.sqrt(s.fanIn());
            for (int i = 0; i < s.size(); i++) {
                flat[s.offset() + i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            }
        }
        return flat;
    }

    /** Fresh PyTorch-style values for {@code seed} and zero momentum. */
    public void initialize(long seed) {
        upload(initialValues(seed), new float[TOTAL]);
    }

    /** Replaces all values and momentum buffers (flat, in {@link #SPECS} order). */
    public void upload(float[] flatValues, float[] flatMomentum) {
        if (flatValues.length != TOTAL || flatMomentum.length != TOTAL) {
            throw new IllegalArgumentException("expected " + TOTAL + " values");
        }
        backend.upload(values, flatValues);
        backend.upload(momentum, flatMomentum);
    }

    public float[] downloadValues() {
        float[] out = new float[TOTAL];
        backend.download(values, out);
        return out;
    }

    public float[] downloadGrads() {
        float[] out = new float[TOTAL];
        backend.download(grads, out);
        return out;
    }

    public float[] downloadMomentum() {
        float[] out = new float[TOTAL];
        backend.download(momentum, out);
        return out;
    }

    /** The named parameter's values, as a view of the flat buffer. */
    public Tensor value(String name) {
        return require(valueViews, name);
    }

    /** The named parameter's gradient, as a view of the flat gradient buffer. */
    public Tensor grad(String name) {
        return require(gradViews, name);
    }

    /** Copies the named tensor out of a flat array laid out like these buffers. */
    public static float[] slice(float[] flat, String name) {
        Spec s = spec(name);
        float[] out = new float[s.size()];
        System.arraycopy(flat, s.offset(), out, 0, s.size());
        return out;
    }

    /** One momentum-SGD step over every parameter (PyTorch semantics, see {@link Backend#sgdUpdate}). */
    public void sgdStep(float lr, float momentumFactor, float weightDecay, boolean firstStep) {
        backend.sgdUpdate(values, grads, momentum, lr, momentumFactor, weightDecay, firstStep);
    }

    private static Tensor require(Map<String, Tensor> views, String name) {
        Tensor t = views.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return t;
    }
}
