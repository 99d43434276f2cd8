package gpulenet.model.layer;

import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what PyTorch's {@code print(model)} shows into the layer list this project trains. The printout is
 * the one description of a network every PyTorch user can produce without extra code.
 *
 * <p>A printout lists modules, not what forward() does with them, so it is read on a contract: the children
 * run in printed order (an nn.Sequential, or a module whose forward() calls its children and nested
 * containers in order). A layer's name is its state_dict path ("conv1.0"; the top module's own name is not
 * part of it). The one thing forward() commonly adds, {@code x.view(-1, n)}, prints nothing, so a Flatten
 * named "view" is put before the first Linear that follows 4-D output.
 *
 * <p>Accepted: the current repr ({@code Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))}), the PyTorch 0.x
 * one ({@code Sequential (}, {@code Linear (2000 -> 100)}, {@code MaxPool2d (size=(2, 2), stride=(2, 2),
 * dilation=(1, 1))}, {@code ReLU (inplace)}), ModuleList's {@code (0-2): 3 x Linear(...)} and any nesting.
 * The structure comes from the parentheses, not the indentation, so re-indented or CRLF text reads the same.
 * What the layer records cannot compute exactly (other modules, strides, dilation, groups, bias=False, other
 * pools) is an {@link InputException} naming the line, never approximated.
 */
public final class ModulePrintout {
    private static final String SUPPORTED = "supported: Conv2d (stride 1, no dilation/groups, bias), ReLU, "
            + "MaxPool2d(2), Dropout2d, Flatten, Linear (with bias)";
    // Far more than any printout of a network this project can train; a bigger file is something else.
    private static final long MAX_BYTES = 1 << 20;
    // Printed networks nest a few levels (torchvision's deepest, under ten); deeper text is not a network.
    static final int MAX_DEPTH = 100;
    // Layers after ModuleList repeats are expanded: over twice the leaf modules of torchvision's ResNet-152
    // (about 360), and a step runs each layer one after another, so a longer list would only run for hours.
    static final int MAX_LAYERS = 1000;

    // "(conv1): rest"; the name is anything PyTorch accepts as a child name up to the "):".
    private static final Pattern CHILD = Pattern.compile("\\(([^()\\s]+)\\):\\s*(.*)");
    // ModuleList's run of equal children: "(0-2): 3 x Linear(...)".
    private static final Pattern RANGE = Pattern.compile("(\\d+)-(\\d+)");
    private static final Pattern REPEAT = Pattern.compile("(\\d+) x (.*)");
    // "Conv2d(args)", "Sequential (": the type, then all after its opening parenthesis.
    private static final Pattern MODULE = Pattern.compile("([A-Za-z_]\\w*)\\s*\\((.*)");
    private static final Pattern OLD_LINEAR = Pattern.compile("(\\d+)\\s*->\\s*(\\d+)");
    private static final Pattern INT = Pattern.compile("-?\\d+");
    private static final Pattern FLOAT = Pattern.compile("-?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?");

    private ModulePrintout() {
    }

    /** Reads and parses a file; I/O problems and parse errors are InputException naming the file. */
    public static List<Layer> read(Path file) {
        long size = InputFiles.requireRegularFile(file);
        if (size > MAX_BYTES) {
            throw new InputException(file + ": " + size + " bytes is too large for a printout of a model");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new InputException(file + ": not UTF-8 text, so not a printout of a model");
        } catch (IOException e) {
            throw new InputException(file + ": cannot read: " + IoReasons.reason(e));
        }
        return parse(file.toString(), text);
    }

    /** source names the text in messages (a file name). */
    public static List<Layer> parse(String source, String text) {
        Module top = new TreeReader(source).read(text);
        return new LayerBuilder(source).build(top);
    }

    /**
     * One printed module: a leaf with the text between its parentheses, or a container (args null) with its
     * children. names are the child names it stands for: one, several for a ModuleList repeat, none for the top.
     */
    private record Module(int line, List<String> names, String type, String args, List<Module> children) {
        boolean isContainer() {
            return args == null;
        }
    }

    /** The first pass: lines to a tree of modules, checking the parentheses. */
    private static final class TreeReader {
        private final String source;

        TreeReader(String source) {
            this.source = source;
        }

        Module read(String text) {
            // Windows editors may save a byte order mark, which strip() does not remove.
            String[] lines = text.replaceFirst("^\uFEFF", "").split("\\R", -1);
            Module top = null;
            Deque<Module> open = new ArrayDeque<>();
            for (int i = 0; i < lines.length; i++) {
                String s = lines[i].strip();
                int line = i + 1;
                if (s.isEmpty()) {
                    continue;
                }
                if (top == null) {
                    top = top(line, s);
                    open.push(top);
                } else if (open.isEmpty()) {
                    throw fail(source, line, "\"" + s + "\" after the closing parenthesis of " + top.type() + " on line "
                            + top.line() + " (unbalanced parentheses?)");
                } else if (s.equals(")")) {
                    open.pop();
                } else {
                    Module child = child(line, s);
                    open.peek().children().add(child);
                    if (child.isContainer()) {
                        if (open.size() >= MAX_DEPTH) {
                            throw fail(source, line, "nested more than " + MAX_DEPTH + " modules deep");
                        }
                        open.push(child);
                    }
                }
            }
            if (top == null) {
                throw new InputException(source + ": empty, expected what print(model) shows");
            }
            if (!open.isEmpty()) {
                Module unclosed = open.peek();
                throw fail(source, unclosed.line(), "unbalanced parentheses: " + unclosed.type()
                        + "( is never closed by a \")\" line");
            }
            return top;
        }

        private Module top(int line, String s) {
            Module top = MODULE.matcher(s).matches() ? module(line, List.of(), s) : null;
            if (top != null && !top.isContainer() && top.args().isBlank()) {
                // A module without children prints as "Net()".
                throw fail(source, line, s + " has no layers");
            }
            if (top == null || !top.isContainer()) {
                throw fail(source, line, "expected the model's first line, such as \"Net(\" or \"Sequential(\", got \"" + s + "\"");
            }
            return top;
        }

        private Module child(int line, String s) {
            Matcher c = CHILD.matcher(s);
            if (!c.matches()) {
                throw fail(source, line, "cannot read \"" + s + "\": expected \"(name): Module(...)\" or \")\"");
            }
            String name = c.group(1);
            String rest = c.group(2);
            Matcher range = RANGE.matcher(name);
            Matcher repeat = REPEAT.matcher(rest);
            if (!range.matches() || !repeat.matches()) {
                return module(line, List.of(name), rest);
            }
            long first = count(range.group(1));
            long last = count(range.group(2));
            long count = count(repeat.group(1));
            if (count > MAX_LAYERS) {
                throw fail(source, line, "(" + name + ") repeats a module " + repeat.group(1) + " times, more than the "
                        + MAX_LAYERS + " layers a network may have");
            }
            // a ModuleList numbers its children from 0, so no index of a network within the bound is larger
            if (last >= MAX_LAYERS) {
                throw fail(source, line, "(" + name + ") numbers children past the " + MAX_LAYERS
                        + " layers a network may have");
            }
            if (last < first || count != last - first + 1) {
                throw fail(source, line, "cannot read \"" + s + "\": (" + name + ") is not " + repeat.group(1) + " children");
            }
            List<String> names = new ArrayList<>();
            for (long i = first; i <= last; i++) {
                names.add(Long.toString(i));
            }
            return module(line, names, repeat.group(2));
        }

        /** Digits as a count; more digits than a long holds are read as Long.MAX_VALUE, which no bound admits. */
        private static long count(String digits) {
            return digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits);
        }

        private Module module(int line, List<String> names, String s) {
            Matcher m = MODULE.matcher(s);
            if (!m.matches()) {
                throw fail(source, line, "cannot read \"" + s + "\": expected a module such as \"Conv2d(...)\"");
            }
            String rest = m.group(2);
            if (rest.isEmpty()) {
                return new Module(line, names, m.group(1), null, new ArrayList<>());
            }
            if (!rest.endsWith(")") || !balanced(rest.substring(0, rest.length() - 1))) {
                throw fail(source, line, "unbalanced parentheses in \"" + s + "\"");
            }
            return new Module(line, names, m.group(1), rest.substring(0, rest.length() - 1), List.of());
        }

        private static boolean balanced(String s) {
            int depth = 0;
            for (char ch : s.toCharArray()) {
                depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
                if (depth < 0) {
                    return false;
                }
            }
            return depth == 0;
        }
    }

    /** The second pass: the tree, in order, to layers, tracking whether the data is still 4-D. */
    private static final class LayerBuilder {
        private final String source;
        private final List<Layer> layers = new ArrayList<>();
        private String viewName;
        // Modules visited, containers included: repeated containers multiply, even empty ones.
        private int visited;
        // The line that made the data 2-D (a Flatten, or the Linear a view was put before); 0 while 4-D.
        private int flattenedOnLine;

        LayerBuilder(String source) {
            this.source = source;
        }

        List<Layer> build(Module top) {
            viewName = unusedTopName(top, "view");
            addChildren(top, "");
            if (layers.isEmpty()) {
                throw fail(source, top.line(), top.type() + " has no layers");
            }
            return List.copyOf(layers);
        }

        // The implied flatten sits at the top of the module tree, so only top-level names can clash.
        private static String unusedTopName(Module top, String base) {
            Set<String> taken = new HashSet<>();
            top.children().forEach(c -> taken.addAll(c.names()));
            String name = base;
            for (int i = 1; taken.contains(name); i++) {
                name = base + "_" + i;
            }
            return name;
        }

        private void addChildren(Module container, String prefix) {
            Set<String> seen = new HashSet<>();
            for (Module child : container.children()) {
                for (String name : child.names()) {
                    if (!seen.add(name)) {
                        throw fail(source, child.line(), "a second child named (" + name + ") in " + container.type()
                                + " on line " + container.line());
                    }
                    if (++visited > MAX_LAYERS) {
                        throw fail(source, child.line(), "the network has more than " + MAX_LAYERS + " modules "
                                + "(ModuleList repeats counted one by one)");
                    }
                    String path = prefix.isEmpty() ? name : prefix + "." + name;
                    if (child.isContainer()) {
                        addChildren(child, path);
                    } else {
                        addLeaf(new Leaf(source, child, path));
                    }
                }
            }
        }

        private void addLeaf(Leaf leaf) {
            switch (leaf.module.type()) {
                case "Conv2d" -> add(leaf.conv2d(), leaf, true);
                case "ReLU" -> add(leaf.relu(), leaf, false);
                case "MaxPool2d" -> add(leaf.maxPool2d(), leaf, true);
                case "Dropout2d" -> add(leaf.dropout2d(), leaf, true);
                case "Flatten" -> {
                    add(leaf.flatten(), leaf, false);
                    markFlat(leaf.module.line());
                }
                case "Linear" -> {
                    Linear linear = leaf.linear();
                    if (flattenedOnLine == 0) {
                        layers.add(new Flatten(viewName));
                        markFlat(leaf.module.line());
                    }
                    add(linear, leaf, false);
                }
                default -> throw leaf.unsupported("is not supported");
            }
        }

        private void markFlat(int line) {
            if (flattenedOnLine == 0) {
                flattenedOnLine = line;
            }
        }

        private void add(Layer layer, Leaf leaf, boolean needsImage) {
            if (needsImage && flattenedOnLine != 0) {
                throw leaf.fail("needs [C, H, W] input, but the data was flattened on line " + flattenedOnLine);
            }
            layers.add(layer);
        }
    }

    /** One leaf module to be read into a layer record: its arguments and the checks on them. */
    private static final class Leaf {
        private final String source;
        private final Module module;
        private final String path;

        Leaf(String source, Module module, String path) {
            this.source = source;
            this.module = module;
            this.path = path;
        }

        Conv2d conv2d() {
            Map<String, String> a = arguments("in_channels", "out_channels", "kernel_size", "stride", "padding",
                    "dilation", "groups", "bias", "padding_mode");
            int in = positive(a, "in_channels");
            int out = positive(a, "out_channels");
            int kernel = square("kernel_size", required(a, "kernel_size"));
            if (kernel <= 0) {
                throw fail("kernel_size=" + a.get("kernel_size") + " is not positive");
            }
            only(a, "stride", 1);
            only(a, "dilation", 1);
            only(a, "groups", 1);
            only(a, "bias", true);
            String mode = a.get("padding_mode");
            if (mode != null && !unquoted(mode).equals("zeros")) {
                throw unsupported("padding_mode=" + mode + " is not supported (only zeros)");
            }
            return new Conv2d(path, in, out, kernel, padding(a.get("padding"), kernel));
        }

        private int padding(String value, int kernel) {
            if (value == null || unquoted(value).equals("valid")) {
                return 0;
            }
            if (unquoted(value).equals("same")) {
                if (kernel % 2 == 0) {
                    // PyTorch pads an even kernel's "same" by one more on one side, which Conv2d cannot express.
                    throw unsupported("padding=same with an even kernel_size is not supported (it pads unevenly)");
                }
                return (kernel - 1) / 2;
            }
            int padding = square("padding", value);
            if (padding < 0) {
                throw fail("padding=" + value + " is negative");
            }
            return padding;
        }

        ReLU relu() {
            // inplace does not change the result; it only has to be readable.
            bool(arguments("inplace"), "inplace");
            return new ReLU(path);
        }

        MaxPool2d maxPool2d() {
            // "size" is the 0.x repr's name for kernel_size; last, so that no positional argument lands on it.
            Map<String, String> a = arguments("kernel_size", "stride", "padding", "dilation", "return_indices",
                    "ceil_mode", "size");
            if (a.containsKey("size")) {
                if (a.containsKey("kernel_size")) {
                    throw fail("kernel_size is given twice");
                }
                a.put("kernel_size", a.remove("size"));
            }
            required(a, "kernel_size");
            only(a, "kernel_size", 2);
            // stride defaults to the kernel size, which is 2 by now.
            only(a, "stride", 2);
            only(a, "padding", 0);
            only(a, "dilation", 1);
            only(a, "ceil_mode", false);
            only(a, "return_indices", false);
            return new MaxPool2d(path);
        }

        Dropout2d dropout2d() {
            Map<String, String> a = arguments("p", "inplace");
            bool(a, "inplace");
            // 0.5 is PyTorch's default, which the repr always prints, so only hand-written text can omit it.
            String value = a.getOrDefault("p", "0.5");
            if (!FLOAT.matcher(value).matches()) {
                throw fail("p=" + value + " is not a number");
            }
            float p = Float.parseFloat(value);
            if (!(p >= 0 && p < 1)) {
                throw fail("p=" + value + " is not in [0, 1)");
            }
            return new Dropout2d(path, p);
        }

        Flatten flatten() {
            Map<String, String> a = arguments("start_dim", "end_dim");
            only(a, "start_dim", 1);
            only(a, "end_dim", -1);
            return new Flatten(path);
        }

        Linear linear() {
            Matcher old = OLD_LINEAR.matcher(module.args().strip());
            if (old.matches()) {
                return new Linear(path, positive("in_features", old.group(1)), positive("out_features", old.group(2)));
            }
            Map<String, String> a = arguments("in_features", "out_features", "bias");
            only(a, "bias", true);
            return new Linear(path, positive(a, "in_features"), positive(a, "out_features"));
        }

        /**
         * The arguments by parameter name: positional ones in the constructor's order, keyword ones by name, and
         * a bare parameter name (the 0.x repr's "inplace") as True. Names not in params are not supported.
         */
        private Map<String, String> arguments(String... params) {
            List<String> known = List.of(params);
            Map<String, String> values = new HashMap<>();
            int position = 0;
            for (String arg : splitTopLevel(module.args())) {
                String key;
                String value;
                int eq = arg.indexOf('=');
                if (eq >= 0) {
                    key = arg.substring(0, eq).strip();
                    value = arg.substring(eq + 1).strip();
                } else if (known.contains(arg)) {
                    key = arg;
                    value = "True";
                } else if (position < params.length) {
                    key = params[position++];
                    value = arg;
                } else {
                    throw fail("too many arguments in (" + module.args() + ")");
                }
                if (!known.contains(key)) {
                    throw unsupported("argument " + key + " is not supported");
                }
                if (values.put(key, value) != null) {
                    throw fail(key + " is given twice");
                }
            }
            return values;
        }

        private List<String> splitTopLevel(String args) {
            List<String> parts = new ArrayList<>();
            if (args.isBlank()) {
                return parts;
            }
            int depth = 0;
            int start = 0;
            for (int i = 0; i <= args.length(); i++) {
                char ch = i < args.length() ? args.charAt(i) : ',';
                depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
                if (ch == ',' && depth == 0) {
                    String part = args.substring(start, i).strip();
                    if (part.isEmpty()) {
                        throw fail("cannot read the arguments (" + args + ")");
                    }
                    parts.add(part);
                    start = i + 1;
                }
            }
            return parts;
        }

        private String required(Map<String, String> a, String key) {
            String value = a.get(key);
            if (value == null) {
                throw fail(key + " is missing");
            }
            return value;
        }

        private int positive(Map<String, String> a, String key) {
            return positive(key, required(a, key));
        }

        private int positive(String key, String value) {
            if (!INT.matcher(value).matches() || value.length() > 10 || Long.parseLong(value) <= 0
                    || Long.parseLong(value) > Integer.MAX_VALUE) {
                throw fail(key + "=" + value + " is not a positive whole number");
            }
            return Integer.parseInt(value);
        }

        /** An int, or a tuple of ints such as (5, 5) or (5,). */
        private int[] ints(String key, String value) {
            String inner = value.startsWith("(") && value.endsWith(")") ? value.substring(1, value.length() - 1) : value;
            List<String> parts = new ArrayList<>(Arrays.asList(inner.split(",", -1)));
            if (parts.size() > 1 && parts.get(parts.size() - 1).isBlank()) {
                parts.remove(parts.size() - 1);
            }
            int[] result = new int[parts.size()];
            for (int i = 0; i < result.length; i++) {
                String part = parts.get(i).strip();
                if (!INT.matcher(part).matches() || part.length() > 10) {
                    throw fail(key + "=" + value + " is not a whole number or a tuple of them");
                }
                result[i] = Integer.parseInt(part);
            }
            return result;
        }

        /** The one size of a square argument: 5 or (5, 5). */
        private int square(String key, String value) {
            int[] v = ints(key, value);
            if (Arrays.stream(v).anyMatch(x -> x != v[0])) {
                throw unsupported(key + "=" + value + " is not supported (only the same for height and width)");
            }
            return v[0];
        }

        private void only(Map<String, String> a, String key, int expected) {
            String value = a.get(key);
            if (value != null && Arrays.stream(ints(key, value)).anyMatch(x -> x != expected)) {
                throw unsupported(key + "=" + value + " is not supported (only " + expected + ")");
            }
        }

        private void only(Map<String, String> a, String key, boolean expected) {
            Boolean value = bool(a, key);
            if (value != null && value != expected) {
                throw unsupported(key + "=" + a.get(key) + " is not supported (only " + (expected ? "True" : "False") + ")");
            }
        }

        private Boolean bool(Map<String, String> a, String key) {
            String value = a.get(key);
            if (value == null) {
                return null;
            }
            if (!value.equals("True") && !value.equals("False")) {
                throw fail(key + "=" + value + " is not True or False");
            }
            return value.equals("True");
        }

        private static String unquoted(String value) {
            boolean quoted = value.length() >= 2 && (value.charAt(0) == '\'' || value.charAt(0) == '"')
                    && value.charAt(value.length() - 1) == value.charAt(0);
            return quoted ? value.substring(1, value.length() - 1) : value;
        }

        InputException fail(String problem) {
            return ModulePrintout.fail(source, module.line(), "(" + path + ") " + module.type() + ": " + problem);
        }

        InputException unsupported(String problem) {
            return ModulePrintout.fail(source, module.line(), "(" + path + ") " + module.type() + " " + problem
                    + "; " + SUPPORTED);
        }
    }

    private static InputException fail(String source, int line, String problem) {
        return new InputException(source + ":" + line + ": " + problem);
    }
}
