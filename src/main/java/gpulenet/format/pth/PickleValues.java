package gpulenet.format.pth;

import java.util.LinkedHashMap;
import java.util.List;

/**
 * The values the pickle reader builds. Python's None is Java null, int is Long (or BigInteger past 64 bits),
 * float Double, bool Boolean, str String, list ArrayList, dict LinkedHashMap with str or int keys; the rest
 * are these types. None of them is ever walked recursively, so a deep or cyclic structure costs nothing.
 */
final class PickleValues {
    private PickleValues() {
    }

    /** A tuple. */
    record Tuple(List<Object> items) {
        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** A global the allowlist admits, named as the file names it ("collections.OrderedDict"). */
    record Global(String name) {
    }

    /** A collections.OrderedDict (the only object BUILD may set attributes on, as PyTorch sets _metadata). */
    static final class OrderedDict extends LinkedHashMap<Object, Object> {
    }

    /** A storage named by a persistent id: its key in the file, element type and element count. */
    record StorageRef(String key, Dtype dtype, long numel) {
    }

    /**
     * A tensor as _rebuild_tensor_v2 describes it: a view into a storage, its bounds already checked to lie
     * inside the storage.
     */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
        long numel() {
            long n = 1;
            for (long d : size) {
                n *= d;
            }
            return n;
        }
    }

    /** What a value is, in Python's words, for messages (never its contents). */
    static String typeName(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Global g) {
            return g.name();
        }
        if (v instanceof TensorRef) {
            return "a tensor";
        }
        if (v instanceof StorageRef) {
            return "a storage";
        }
        if (v instanceof OrderedDict) {
            return "an OrderedDict";
        }
        if (v instanceof Tuple) {
            return "a tuple";
        }
        if (v instanceof java.util.Map) {
            return "a dict";
        }
        if (v instanceof List) {
            return "a list";
        }
        if (v instanceof String) {
            return "a str";
        }
        if (v instanceof Boolean) {
            return "a bool";
        }
        if (v instanceof Double) {
            return "a float";
        }
        return "an int";
    }
}
