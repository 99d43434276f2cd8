package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.OrderedDict;
import gpulenet.format.pth.PickleValues.StorageRef;
import gpulenet.format.pth.PickleValues.Tuple;
import gpulenet.io.InputException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads one pickle (protocol 2, as torch.save writes it) without running anything: a small interpreter of
 * the opcodes a state_dict needs, whose only calls are the allowlist's ({@link TorchGlobals}). Every other
 * opcode (INST, OBJ, NEWOBJ, STACK_GLOBAL, EXT, text-protocol opcodes, ...) is refused with one line naming
 * it. The stack, the memo, the marks and every length are bounded by the pickle's own size, so a hostile
 * file can neither loop, nor recurse, nor allocate more than a few times its size.
 */
final class PickleReader {
    /** Mark nesting (a tuple in a tuple in ...): a state_dict needs 3 levels. */
    private static final int MAX_MARKS = 64;
    private static final int MAX_GLOBAL_NAME = 256;
    /**
     * Values pushed in all: a state_dict pushes some tens per tensor, and this keeps the worst a hostile pickle
     * can build (a container per byte) to some tens of MiB of heap, whatever the size of the file.
     */
    private static final int MAX_VALUES = 1 << 20;

    /** The value a pickle holds and where its STOP ended. */
    record Loaded(Object value, int end) {
    }

    private final String source;
    private final ByteBuffer in;
    private final int limit;
    private final Function<Object, StorageRef> persistent;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final int[] marks = new int[MAX_MARKS];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();
    /** Items put into lists and dicts: each costs at least a byte of the pickle, so this is bounded by its size. */
    private long insertions;
    private int pushes;

    private PickleReader(String source, byte[] bytes, int start, int end, Function<Object, StorageRef> persistent) {
        this.source = source;
        this.in = ByteBuffer.wrap(bytes, 0, end).order(ByteOrder.LITTLE_ENDIAN).position(start);
        this.limit = end;
        this.persistent = persistent;
    }

    /**
     * The pickle that starts at {@code start} in {@code bytes} (ending by {@code end}); {@code persistent} turns
     * a persistent id (BINPERSID) into a storage, or refuses it.
     */
    static Loaded load(String source, byte[] bytes, int start, int end, Function<Object, StorageRef> persistent) {
        PickleReader r = new PickleReader(source, bytes, start, end, persistent);
        Object value = r.run();
        return new Loaded(value, r.in.position());
    }

    private Object run() {
        while (true) {
            int at = in.position();
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol > 2) {
                        throw corrupt("pickle protocol " + protocol + " (torch.save writes protocol 2)");
                    }
                }
                case '.' -> { // STOP
                    if (stack.size() != 1 || markCount != 0) {
                        throw corrupt("STOP with " + stack.size() + " values on the stack");
                    }
                    return stack.get(0);
                }
                case '(' -> { // MARK
                    if (markCount == MAX_MARKS) {
                        throw corrupt("nesting deeper than " + MAX_MARKS);
                    }
                    marks[markCount++] = stack.size();
                }
                case '}' -> push(new LinkedHashMap<>());
                case ']' -> push(new ArrayList<>());
                case ')' -> push(new Tuple(List.of()));
                case 't' -> push(new Tuple(popMark()));
                case 0x85 -> push(new Tuple(popN(1)));
                case 0x86 -> push(new Tuple(popN(2)));
                case 0x87 -> push(new Tuple(popN(3)));
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(peek()).add(counted(v));
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    List<Object> list = list(peek());
                    for (Object item : items) {
                        list.add(counted(item));
                    }
                }
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    put(peek(), k, v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw corrupt("SETITEMS with an odd number of values");
                    }
                    Object dict = peek();
                    for (int i = 0; i < items.size(); i += 2) {
                        put(dict, items.get(i), items.get(i + 1));
                    }
                }
                case 'J' -> push((long) in.getInt(need(4)));
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (in.getShort(need(2)) & 0xffff));
                case 0x8a -> push(long1(u8()));
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(null);
                case 'G' -> push(in.order(ByteOrder.BIG_ENDIAN).getDouble(need(8)));
                case 'X' -> push(utf8(length32()));
                case 0x8c -> push(utf8(u8()));
                case 'U' -> push(latin1(u8()));
                case 'T' -> push(latin1(length32()));
                case 'q' -> memoPut(u8());
                case 'r' -> memoPut(in.getInt(need(4)) & 0xffffffffL);
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(in.getInt(need(4)) & 0xffffffffL));
                case 'c' -> push(TorchGlobals.global(line(), line(), source)); // GLOBAL
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(TorchGlobals.reduce(callable, args, source));
                }
                case 'b' -> build();
                case 'Q' -> push(persistent.apply(pop())); // BINPERSID
                default -> throw refused(op, at);
            }
            in.order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** BUILD sets attributes; PyTorch sets a state_dict's _metadata this way, on an OrderedDict, and nothing else may be built. */
    private void build() {
        Object state = pop();
        Object target = peek();
        if (!(target instanceof OrderedDict) || !(state instanceof Map<?, ?> attributes)
                || !attributes.keySet().stream().allMatch(k -> k instanceof String)) {
            throw new InputException(source + ": refusing BUILD (setting the state) of " + PickleValues.typeName(target)
                    + " from " + PickleValues.typeName(state) + ": only an OrderedDict's attributes may be set");
        }
    }

    /** The refusal of an opcode outside the subset, naming the global it would have imported where it names one. */
    private InputException refused(int op, int at) {
        String what = switch (op) {
            case 'i' -> "INST " + safeLine() + "." + safeLine();
            case 0x93 -> "STACK_GLOBAL " + stackGlobalName();
            case 'o' -> "OBJ (an object built from a class on the stack)";
            case 0x81, 0x92 -> "NEWOBJ (an object built from a class on the stack)";
            case 'P' -> "PERSID";
            case 0x82, 0x83, 0x84 -> "EXT (a registered global)";
            default -> String.format(op >= 0x20 && op <= 0x7e ? "opcode 0x%02x '%c'" : "opcode 0x%02x", op, (char) op);
        };
        return new InputException(source + ": refusing " + what + " at byte " + at
                + ": it is not among the opcodes a state_dict needs, and nothing the file names is imported or run");
    }

    private String stackGlobalName() {
        int n = stack.size();
        if (n >= 2 && stack.get(n - 2) instanceof String module && stack.get(n - 1) instanceof String name) {
            return printable(module) + "." + printable(name);
        }
        return "(names not on the stack)";
    }

    /** A line of INST for the message: what there is of it, made printable. */
    private String safeLine() {
        StringBuilder b = new StringBuilder();
        while (in.position() < limit && b.length() < MAX_GLOBAL_NAME) {
            int c = in.get() & 0xff;
            if (c == '\n') {
                break;
            }
            b.append((char) c);
        }
        return printable(b.toString());
    }

    private static String printable(String s) {
        String cut = s.length() > MAX_GLOBAL_NAME ? s.substring(0, MAX_GLOBAL_NAME) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    /** A GLOBAL operand: printable ASCII up to a newline. */
    private String line() {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') {
                return b.toString();
            }
            if (c < 0x20 || c > 0x7e || b.length() == MAX_GLOBAL_NAME) {
                throw corrupt("a GLOBAL's name is not a short line of printable ASCII");
            }
            b.append((char) c);
        }
    }

    private void put(Object dict, Object key, Object value) {
        if (!(dict instanceof Map)) {
            throw corrupt("SETITEM on " + PickleValues.typeName(dict));
        }
        if (!(key instanceof String || key instanceof Long)) {
            throw corrupt("a dict key is " + PickleValues.typeName(key) + " (only str and int keys are read)");
        }
        @SuppressWarnings("unchecked")
        Map<Object, Object> map = (Map<Object, Object>) dict;
        map.put(key, counted(value));
    }

    private Object counted(Object v) {
        insertions++;
        if (insertions > limit) {
            throw corrupt("more items than bytes");
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object v) {
        if (!(v instanceof ArrayList)) {
            throw corrupt("APPEND to " + PickleValues.typeName(v));
        }
        return (List<Object>) v;
    }

    private Object long1(int n) {
        if (n > 16) {
            throw corrupt("an integer of " + n + " bytes");
        }
        byte[] le = new byte[n];
        in.get(need(n), le, 0, n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private void memoPut(long index) {
        if (stack.isEmpty()) {
            throw corrupt("PUT on an empty stack");
        }
        memo.put(index, peek());
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw corrupt("GET of memo entry " + index + ", which was never put");
        }
        return memo.get(index);
    }

    private void push(Object v) {
        if (++pushes > MAX_VALUES) {
            throw corrupt("more than " + MAX_VALUES + " values");
        }
        stack.add(v);
    }

    private Object pop() {
        if (stack.size() <= (markCount > 0 ? marks[markCount - 1] : 0)) {
            throw corrupt("a value was taken from an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.size() <= (markCount > 0 ? marks[markCount - 1] : 0)) {
            throw corrupt("a value was taken from an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popN(int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return Arrays.asList(items);
    }

    private List<Object> popMark() {
        if (markCount == 0) {
            throw corrupt("no MARK to close");
        }
        int from = marks[--markCount];
        List<Object> tail = stack.subList(from, stack.size());
        List<Object> items = new ArrayList<>(tail);
        tail.clear();
        return items;
    }

    private int u8() {
        return in.get(need(1)) & 0xff;
    }

    /** The position of the next {@code n} bytes, advanced past them; the pickle ending first is one line. */
    private int need(long n) {
        int at = in.position();
        if (n > limit - at) {
            throw new InputException(source + ": truncated: the pickle ends inside an opcode at byte " + at);
        }
        in.position(at + (int) n);
        return at;
    }

    private long length32() {
        return in.getInt(need(4)) & 0xffffffffL;
    }

    private String utf8(long n) {
        int at = need(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(in.array(), at, (int) n)).toString();
        } catch (CharacterCodingException e) {
            throw corrupt("a str is not UTF-8");
        }
    }

    private String latin1(long n) {
        int at = need(n);
        return new String(in.array(), at, (int) n, StandardCharsets.ISO_8859_1);
    }

    private InputException corrupt(String what) {
        return new InputException(source + ": corrupt pickle: " + what + " (at byte " + in.position() + ")");
    }
}
