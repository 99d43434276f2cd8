package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.TensorRef;
import gpulenet.io.InputException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the state_dict is in what a file holds: the whole of it ({@code torch.save(model.state_dict(), PATH)}),
 * or one entry of a dict ({@code torch.save({'epoch': e, 'model_state_dict': ..., 'optimizer_state_dict': ...},
 * PATH)}, PyTorch's own tutorial pattern).
 *
 * @param tensors the state_dict's tensors by name, in file order
 * @param key     the dict key it was found under, or null for a bare state_dict
 * @param epoch   the dict's 'epoch' when it has an int one, or null
 */
record StateDictChoice(Map<String, TensorRef> tensors, String key, Long epoch) {
    /** The keys tried first, in this order, when a dict holds more than one state_dict. */
    static final List<String> PREFERRED_KEYS = List.of("model_state_dict", "state_dict", "model", "net", "model_state");

    static StateDictChoice of(Object top, String source) {
        Map<String, TensorRef> bare = stateDict(top);
        if (bare != null) {
            return new StateDictChoice(bare, null, null);
        }
        if (!(top instanceof Map<?, ?> dict)) {
            throw new InputException(source + ": holds " + PickleValues.typeName(top) + ", not a state_dict (a dict of tensors)");
        }
        Map<String, Map<String, TensorRef>> candidates = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            Map<String, TensorRef> sd = stateDict(e.getValue());
            if (e.getKey() instanceof String k && sd != null) {
                candidates.put(k, sd);
            }
        }
        Long epoch = dict.get("epoch") instanceof Long e ? e : null;
        if (candidates.size() == 1) {
            Map.Entry<String, Map<String, TensorRef>> only = candidates.entrySet().iterator().next();
            return new StateDictChoice(only.getValue(), only.getKey(), epoch);
        }
        for (String k : PREFERRED_KEYS) {
            if (candidates.containsKey(k)) {
                return new StateDictChoice(candidates.get(k), k, epoch);
            }
        }
        List<String> keys = new ArrayList<>();
        dict.keySet().forEach(k -> keys.add("'" + k + "'"));
        throw new InputException(source + ": holds a dict with keys " + String.join(", ", keys)
                + (candidates.isEmpty() ? ", none of them a state_dict of tensors"
                : ", of which " + candidates.size() + " are state_dicts and none is named " + String.join(", ", PREFERRED_KEYS)));
    }

    /** {@code v} as a state_dict: a non-empty dict of str to tensors; else null. */
    private static Map<String, TensorRef> stateDict(Object v) {
        if (!(v instanceof Map<?, ?> m) || m.isEmpty()) {
            return null;
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String k) || !(e.getValue() instanceof TensorRef t)) {
                return null;
            }
            out.put(k, t);
        }
        return out;
    }
}
