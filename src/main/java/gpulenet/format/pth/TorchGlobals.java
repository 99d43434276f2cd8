package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.Global;
import gpulenet.format.pth.PickleValues.OrderedDict;
import gpulenet.format.pth.PickleValues.StorageRef;
import gpulenet.format.pth.PickleValues.TensorRef;
import gpulenet.format.pth.PickleValues.Tuple;
import gpulenet.io.InputException;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The allowlist: the only globals a file may name, and what calling each one (REDUCE) builds. It is what a
 * state_dict of tensors needs and nothing more, a subset of what PyTorch's weights-only unpickler admits:
 * nothing here imports or runs anything; each allowed call is carried out by this class on checked
 * arguments. A file naming anything else (os.system, builtins.eval, a model class) is refused.
 */
final class TorchGlobals {
    static final String ORDERED_DICT = "collections.OrderedDict";
    static final String REBUILD_TENSOR_V2 = "torch._utils._rebuild_tensor_v2";
    /** PyTorch before 1.0 (legacy files). */
    static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor";
    static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    static final String SIZE = "torch.Size";
    private static final Set<String> CALLABLE = Set.of(ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR, REBUILD_PARAMETER, SIZE);
    /** A storage key as torch.save writes them (a counter, or a legacy storage's address). */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_]{1,64}");

    private TorchGlobals() {
    }

    /** The global {@code module.name}, if the allowlist has it; else one line naming it. */
    static Global global(String module, String name, String source) {
        String full = module + "." + name;
        if (CALLABLE.contains(full) || Dtype.ofStorageClass(full) != null) {
            return new Global(full);
        }
        throw new InputException(source + ": refusing the global " + full + ": only a state_dict of tensors is read, "
                + "and nothing the file names is imported or run (allowed: " + allowed() + ")" + hint(module));
    }

    /** A model class (a module of the user's script, or torch.nn) means the whole model was saved. */
    private static String hint(String module) {
        return module.equals("__main__") || module.startsWith("torch.nn")
                ? "; torch.save(model) pickles the model's class: save model.state_dict() instead" : "";
    }

    static String allowed() {
        Set<String> all = new TreeSet<>(CALLABLE);
        all.add("torch.*Storage");
        return String.join(", ", all);
    }

    /** The REDUCE of {@code callable} on {@code args}: only the allowlist's callables, on arguments of the right kind. */
    static Object reduce(Object callable, Object args, String source) {
        if (!(callable instanceof Global g) || !CALLABLE.contains(g.name())) {
            throw new InputException(source + ": refusing a call (REDUCE) of " + PickleValues.typeName(callable)
                    + ": only " + String.join(", ", new TreeSet<>(CALLABLE)) + " may be called");
        }
        if (!(args instanceof Tuple a)) {
            throw new InputException(source + ": corrupt pickle: " + g.name() + " called with " + PickleValues.typeName(args)
                    + " instead of a tuple");
        }
        return switch (g.name()) {
            case ORDERED_DICT -> orderedDict(a, source);
            case SIZE -> {
                require(a.size() == 1 && a.get(0) instanceof Tuple, source, "torch.Size takes one tuple");
                yield a.get(0);
            }
            case REBUILD_PARAMETER -> {
                require(a.size() == 3 && a.get(0) instanceof TensorRef && a.get(1) instanceof Boolean
                        && a.get(2) instanceof OrderedDict h && h.isEmpty(), source,
                        "_rebuild_parameter takes (tensor, requires_grad, empty hooks)");
                yield a.get(0);
            }
            default -> tensor(g.name(), a, source);
        };
    }

    /**
     * {@code OrderedDict()}, its items set afterwards (Python 3), or {@code OrderedDict([[key, value], ...])}
     * (Python 2's pickles, in files of early PyTorch).
     */
    private static OrderedDict orderedDict(Tuple a, String source) {
        OrderedDict d = new OrderedDict();
        if (a.size() == 0) {
            return d;
        }
        require(a.size() == 1 && a.get(0) instanceof List<?>, source, "OrderedDict takes no arguments or a list of items");
        for (Object item : (List<?>) a.get(0)) {
            List<?> pair = item instanceof Tuple t ? t.items() : item instanceof List<?> l ? l : null;
            require(pair != null && pair.size() == 2 && (pair.get(0) instanceof String || pair.get(0) instanceof Long), source,
                    "an OrderedDict item is not a (str or int key, value) pair");
            d.put(pair.get(0), pair.get(1));
        }
        return d;
    }

    /**
     * {@code _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])} or
     * legacy {@code _rebuild_tensor(storage, offset, size, stride)}: the view is checked to lie inside its
     * storage (non-negative strides, no overflow), so no later read can leave it.
     */
    private static TensorRef tensor(String name, Tuple a, String source) {
        boolean v2 = name.equals(REBUILD_TENSOR_V2);
        boolean shapeOk = v2 ? (a.size() == 6 || a.size() == 7) && a.get(4) instanceof Boolean
                && a.get(5) instanceof OrderedDict hooks && hooks.isEmpty()
                && (a.size() == 6 || a.get(6) == null || a.get(6) instanceof java.util.Map)
                : a.size() == 4;
        require(shapeOk && a.get(0) instanceof StorageRef && a.get(1) instanceof Long && a.get(2) instanceof Tuple
                && a.get(3) instanceof Tuple, source, name + " takes (storage, offset, size, stride"
                + (v2 ? ", requires_grad, empty backward hooks)" : ")"));
        StorageRef storage = (StorageRef) a.get(0);
        long offset = (Long) a.get(1);
        long[] size = longs((Tuple) a.get(2), source, "size");
        long[] stride = longs((Tuple) a.get(3), source, "stride");
        require(size.length == stride.length, source, "a tensor has " + size.length + " sizes and " + stride.length + " strides");
        require(offset >= 0, source, "a tensor has the negative storage offset " + offset);
        try {
            long numel = 1;
            long last = offset;
            for (int i = 0; i < size.length; i++) {
                numel = Math.multiplyExact(numel, size[i]);
                if (size[i] > 0) {
                    last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
                }
            }
            if (numel > 0 && last >= storage.numel()) {
                throw new InputException(source + ": tensor " + shape(size) + " with stride " + shape(stride) + " at offset "
                        + offset + " needs " + (last + 1) + " elements of storage " + storage.key() + ", which holds "
                        + storage.numel());
            }
        } catch (ArithmeticException e) {
            throw new InputException(source + ": tensor " + shape(size) + " with stride " + shape(stride)
                    + " overflows 64-bit indexing");
        }
        return new TensorRef(storage, offset, size, stride);
    }

    private static long[] longs(Tuple t, String source, String what) {
        require(t.size() <= 64, source, "a tensor " + what + " has " + t.size() + " dimensions");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            require(t.get(i) instanceof Long v && v >= 0, source, "a tensor " + what + " holds "
                    + (t.get(i) instanceof Long v2 ? "the negative value " + v2 : PickleValues.typeName(t.get(i))));
            out[i] = (Long) t.get(i);
        }
        return out;
    }

    static String shape(long[] dims) {
        List<String> s = new ArrayList<>();
        for (long d : dims) {
            s.add(Long.toString(d));
        }
        return "[" + String.join(", ", s) + "]";
    }

    /**
     * A persistent id: {@code ('storage', torch.FloatStorage, key, location, numel)}, plus a view_metadata of
     * None in legacy files. Anything else (another tag, an unlisted storage class, a storage view of PyTorch
     * 0.3) is refused.
     */
    static StorageRef storage(Object pid, boolean legacy, String source) {
        require(pid instanceof Tuple, source, "a persistent id is " + PickleValues.typeName(pid) + ", not a tuple");
        Tuple t = (Tuple) pid;
        require(t.size() >= 1 && "storage".equals(t.get(0)), source,
                "a persistent id is not tagged 'storage' (only storages are loaded)");
        require(t.size() == (legacy ? 6 : 5), source, "a storage's persistent id has " + t.size() + " fields, not "
                + (legacy ? 6 : 5));
        require(t.get(1) instanceof Global g && Dtype.ofStorageClass(g.name()) != null, source,
                "a storage's type is " + PickleValues.typeName(t.get(1)) + ", not a torch storage class");
        require(t.get(2) instanceof String key && KEY.matcher(key).matches(), source,
                "a storage key is not a short name of letters and digits");
        require(t.get(3) instanceof String, source, "a storage's location is not a str");
        require(t.get(4) instanceof Long n && n >= 0, source, "a storage's size is not a non-negative int");
        require(!legacy || t.get(5) == null, source,
                "storage views (PyTorch before 0.4) are not read: load and save the file with a newer PyTorch");
        return new StorageRef((String) t.get(2), Dtype.ofStorageClass(((Global) t.get(1)).name()), (Long) t.get(4));
    }

    private static void require(boolean ok, String source, String what) {
        if (!ok) {
            throw new InputException(source + ": not a state_dict this reader accepts: " + what);
        }
    }
}
