package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.model.layer.ParameterShape;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A network's parameters as two flat F32 buffers of equal layout (values and gradients), so that one
 * optimizer call updates everything, with a named view per tensor under PyTorch's names and layouts, in
 * state_dict order. Optimizer state lives in further buffers of the same layout (see {@code optim}).
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

    private final Backend backend;
    private final List<Spec> specs;
    private final int total;
    private final Tensor values;
    private final Tensor grads;
    private final Map<String, Tensor> valueViews = new LinkedHashMap<>();
    private final Map<String, Tensor> gradViews = new LinkedHashMap<>();

    /** Zero-filled buffers on {@code backend} laid out as {@code shapes}; call {@link #initialize} or {@link #upload} next. */
    public Parameters(Backend backend, List<ParameterShape> shapes) {
        this.backend = backend;
        this.specs = layout(shapes);
        this.total = total(specs);
        this.values = backend.allocate(DType.F32, total);
        this.grads = backend.allocate(DType.F32, total);
        for (Spec s : specs) {
            valueViews.put(s.name(), backend.view(values, s.offset(), s.shape()));
            gradViews.put(s.name(), backend.view(grads, s.offset(), s.shape()));
        }
    }

    /** The flat layout of {@code shapes}, back to back in their order. */
    public static List<Spec> layout(List<ParameterShape> shapes) {
        List<Spec> out = new ArrayList<>();
        int offset = 0;
        for (ParameterShape p : shapes) {
            out.add(new Spec(p.name(), p.shape(), p.fanIn(), offset));
            offset = Math.addExact(offset, Math.toIntExact(p.size()));
        }
        return Collections.unmodifiableList(out);
    }

    private static int total(List<Spec> specs) {
        return specs.isEmpty() ? 0 : specs.get(specs.size() - 1).offset() + specs.get(specs.size() - 1).size();
    }

    public Backend backend() {
        return backend;
    }

    public List<Spec> specs() {
        return specs;
    }

    /** Number of parameter values. */
    public int total() {
        return total;
    }

    public Spec spec(String name) {
        for (Spec s : specs) {
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
    public float[] initialValues(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] flat = new float[total];
        for (Spec s : specs) {
            double bound = 1.0 / Math.sqrt(s.fanIn());
            for (int i = 0; i < s.size(); i++) {
                flat[s.offset() + i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            }
        }
        return flat;
    }

    /** Fresh PyTorch-style values for {@code seed}. */
    public void initialize(long seed) {
        upload(initialValues(seed));
    }

    /** Replaces all values (flat, in {@link #specs()} order). */
    public void upload(float[] flatValues) {
        if (flatValues.length != total) {
            throw new IllegalArgumentException("expected " + total + " values, got " + flatValues.length);
        }
        backend.upload(values, flatValues);
    }

    public float[] downloadValues() {
        return download(values);
    }

    public float[] downloadGrads() {
        return download(grads);
    }

    /** A buffer laid out like these (F32 [total]) read back to the host. */
    public float[] download(Tensor flat) {
        float[] out = new float[total];
        backend.download(flat, out);
        return out;
    }

    /** The flat values buffer, F32 [total]. */
    public Tensor values() {
        return values;
    }

    /** The flat gradient buffer, laid out as {@link #values()}. */
    public Tensor grads() {
        return grads;
    }

    /** A new zero-filled buffer laid out as {@link #values()}, for optimizer state. */
    public Tensor allocateLikeValues() {
        return backend.allocate(DType.F32, total);
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
    public float[] slice(float[] flat, String name) {
        Spec s = spec(name);
        float[] out = new float[s.size()];
        System.arraycopy(flat, s.offset(), out, 0, s.size());
        return out;
    }

    private static Tensor require(Map<String, Tensor> views, String name) {
        Tensor t = views.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return t;
    }
}
