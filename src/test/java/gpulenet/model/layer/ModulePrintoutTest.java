package gpulenet.model.layer;

import gpulenet.io.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModulePrintoutTest {
    private static final String SUPPORTED = "; supported: Conv2d (stride 1, no dilation/groups, bias), ReLU, "
            + "MaxPool2d(2), Dropout2d, Flatten, Linear (with bias)";

    private static final List<Layer> TUTORIAL_001 = List.of(new Conv2d("conv1.0", 1, 10, 5, 0), new ReLU("conv1.1"),
            new Conv2d("conv2.0", 10, 20, 5, 0), new ReLU("conv2.1"), new MaxPool2d("maxpool"),
            new Dropout2d("drop", 0.25f), new Flatten("view"), new Linear("fc3.0", 2000, 100), new ReLU("fc3.1"),
            new Linear("fc4.0", 100, 10), new ReLU("fc4.1"));

    @Test
    void tutorial001CurrentRepr() {
        List<Layer> layers = ModulePrintout.read(printout("tutorial001.txt"));
        assertEquals(TUTORIAL_001, layers);
        assertEquals(List.of("conv1.0", "conv1.1", "conv2.0", "conv2.1", "maxpool", "drop", "view", "fc3.0", "fc3.1",
                "fc4.0", "fc4.1"), layers.stream().map(Layer::name).toList());
        assertEquals(List.of("conv1.0.weight", "conv1.0.bias", "conv2.0.weight", "conv2.0.bias", "fc3.0.weight",
                "fc3.0.bias", "fc4.0.weight", "fc4.0.bias"), parameterNames(layers));
    }

    @Test
    void tutorial001OldReprReadsTheSame() {
        assertEquals(TUTORIAL_001, ModulePrintout.read(printout("tutorial001-old.txt")));
    }

    @Test
    void tutorial003Sequential() {
        List<Layer> layers = ModulePrintout.read(printout("tutorial003.txt"));
        assertEquals(List.of(new Conv2d("0", 1, 32, 3, 0), new ReLU("1"), new Conv2d("2", 32, 16, 3, 0), new ReLU("3"),
                new Conv2d("4", 16, 8, 3, 0), new ReLU("5"), new MaxPool2d("6"), new Flatten("7"),
                new Linear("8", 968, 512), new Linear("9", 512, 128), new Linear("10", 128, 10)), layers);
        assertEquals("10.bias", parameterNames(layers).get(parameterNames(layers).size() - 1));
    }

    @Test
    void lenet5Sequential() {
        assertEquals(List.of(new Conv2d("0", 1, 6, 5, 2), new ReLU("1"), new MaxPool2d("2"), new Conv2d("3", 6, 16, 5, 0),
                new ReLU("4"), new MaxPool2d("5"), new Flatten("6"), new Linear("7", 400, 120), new ReLU("8"),
                new Linear("9", 120, 84), new ReLU("10"), new Linear("11", 84, 10)),
                ModulePrintout.read(printout("lenet5-sequential.txt")));
    }

    @Test
    void everyPrintoutChainsFromAnMnistImageToTenClasses() {
        for (String file : List.of("tutorial001.txt", "tutorial001-old.txt", "tutorial003.txt", "lenet5-sequential.txt")) {
            int[] shape = {1, 28, 28};
            for (Layer layer : ModulePrintout.read(printout(file))) {
                shape = layer.outputShape(shape);
            }
            assertArrayEquals(new int[]{10}, shape, file);
        }
    }

    @Test
    void pytorch03ReprWithoutSpaceBeforeConvParenthesis() {
        String text = """
                LeNetEncoder (
                  (encoder): Sequential (
                    (0): Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1))
                    (1): MaxPool2d (size=(2, 2), stride=(2, 2), dilation=(1, 1))
                    (2): ReLU (inplace)
                    (3): Dropout2d (p=0.5, inplace)
                  )
                  (fc1): Linear (2880 -> 500)
                )
                """;
        assertEquals(List.of(new Conv2d("encoder.0", 1, 20, 5, 0), new MaxPool2d("encoder.1"), new ReLU("encoder.2"),
                new Dropout2d("encoder.3", 0.5f), new Flatten("view"), new Linear("fc1", 2880, 500)),
                ModulePrintout.parse("t.txt", text));
    }

    @Test
    void acceptedFormsOfEachModule() {
        for (String relu : List.of("ReLU()", "ReLU(inplace=True)", "ReLU(inplace=False)", "ReLU(inplace)", "ReLU ()")) {
            assertEquals(new ReLU("0"), only(relu), relu);
        }
        for (String pool : List.of("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                "MaxPool2d(2)", "MaxPool2d(2, 2)", "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=0, dilation=1, ceil_mode=False)",
                "MaxPool2d (size=(2, 2), stride=(2, 2), dilation=(1, 1))", "MaxPool2d(kernel_size=2, return_indices=False)")) {
            assertEquals(new MaxPool2d("0"), only(pool), pool);
        }
        for (String drop : List.of("Dropout2d(p=0.25, inplace=False)", "Dropout2d (p=0.25)", "Dropout2d(0.25)")) {
            assertEquals(new Dropout2d("0", 0.25f), only(drop), drop);
        }
        assertEquals(new Dropout2d("0", 0.5f), only("Dropout2d()"));
        for (String flatten : List.of("Flatten(start_dim=1, end_dim=-1)", "Flatten()")) {
            assertEquals(new Flatten("0"), only(flatten), flatten);
        }
        assertEquals(new Conv2d("0", 1, 6, 5, 2), only("Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"));
        assertEquals(new Conv2d("0", 1, 6, 5, 2), only("Conv2d(1, 6, kernel_size=5, padding=2, padding_mode='zeros')"));
        assertEquals(new Conv2d("0", 1, 6, 5, 2), only("Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=same)"));
        assertEquals(new Conv2d("0", 1, 6, 3, 1), only("Conv2d(1, 6, kernel_size=(3, 3), stride=(1, 1), padding='same')"));
        assertEquals(new Conv2d("0", 1, 6, 5, 0), only("Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=valid)"));
        assertEquals(new Conv2d("0", 1, 6, 5, 0), only("Conv2d (1, 6, kernel_size=(5, 5), stride=(1, 1), dilation=(1, 1), groups=1, bias=True)"));
    }

    @Test
    void linearFormsEachGetTheImpliedView() {
        for (String linear : List.of("Linear(in_features=784, out_features=10, bias=True)",
                "Linear(in_features=784, out_features=10)", "Linear (784 -> 10)", "Linear(784, 10)")) {
            assertEquals(List.of(new Flatten("view"), new Linear("0", 784, 10)), sequential(linear), linear);
        }
    }

    @Test
    void viewIsPutOnlyBeforeTheFirstLinearAfterImageData() {
        assertEquals(List.of(new ReLU("0"), new Flatten("view"), new Linear("1", 784, 10), new ReLU("2"), new Linear("3", 10, 10)),
                sequential("ReLU()", "Linear(784, 10)", "ReLU()", "Linear(10, 10)"));
        assertEquals(List.of(new Flatten("0"), new Linear("1", 784, 10)), sequential("Flatten()", "Linear(784, 10)"));
    }

    @Test
    void viewNameAvoidsTopLevelChildNames() {
        String text = """
                Net(
                  (view): ReLU()
                  (view_1): Sequential(
                    (0): ReLU()
                  )
                  (fc): Linear(in_features=784, out_features=10, bias=True)
                )
                """;
        assertEquals(List.of(new ReLU("view"), new ReLU("view_1.0"), new Flatten("view_2"), new Linear("fc", 784, 10)),
                ModulePrintout.parse("t.txt", text));
    }

    @Test
    void anyNestingDepthAndModuleListRepeats() {
        // A ModuleList of equal children prints as one line since PyTorch 2.1.
        String text = """
                Net(
                  (a): Sequential(
                    (b): Sequential(
                      (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                    )
                  )
                  (blocks): ModuleList(
                    (0-1): 2 x Sequential(
                      (0): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                      (1): ReLU()
                    )
                  )
                  (fcs): ModuleList(
                    (0): Linear(in_features=3136, out_features=10, bias=True)
                    (1-2): 2 x Linear(in_features=10, out_features=10, bias=True)
                  )
                )
                """;
        assertEquals(List.of("a.b.0", "blocks.0.0", "blocks.0.1", "blocks.1.0", "blocks.1.1", "view", "fcs.0", "fcs.1",
                "fcs.2"), ModulePrintout.parse("t.txt", text).stream().map(Layer::name).toList());
    }

    @Test
    void nestingIsBoundedWithTheLineOfTheFirstTooDeepModule() {
        assertEquals(2, ModulePrintout.parse("t.txt", nested(ModulePrintout.MAX_DEPTH - 1)).size());
        // 5000 levels overflowed the stack of a recursive walk; the bound comes first, at the 100th nested one
        assertEquals("t.txt:" + (ModulePrintout.MAX_DEPTH + 1) + ": nested more than " + ModulePrintout.MAX_DEPTH
                + " modules deep", parseError(nested(5000)).getMessage());
    }

    /** A Sequential holding {@code depth} Sequentials one inside the other, a small network in the innermost. */
    private static String nested(int depth) {
        StringBuilder text = new StringBuilder("Sequential(\n");
        text.append("(s): Sequential(\n".repeat(depth));
        text.append("(0): Flatten(start_dim=1, end_dim=-1)\n(1): Linear(in_features=784, out_features=10, bias=True)\n");
        text.append(")\n".repeat(depth + 1));
        return text.toString();
    }

    @Test
    void moduleListRangesAreBoundedInsteadOfOverflowingOrRunningForHours() {
        assertEquals("t.txt:2: (1-99999999999) repeats a module 99999999999 times, more than the 1000 layers a network "
                + "may have", parseError("Sequential(\n  (1-99999999999): 99999999999 x ReLU()\n)").getMessage());
        assertEquals("t.txt:2: (0-99999999999999999999) repeats a module 100000000000000000000 times, more than the 1000 "
                + "layers a network may have", parseError("Sequential(\n  (0-99999999999999999999): "
                + "100000000000000000000 x ReLU()\n)").getMessage());
        assertEquals("t.txt:2: (1-100000000) repeats a module 100000000 times, more than the 1000 layers a network "
                + "may have", parseError("Sequential(\n  (1-100000000): 100000000 x ReLU()\n)").getMessage());
        assertEquals("t.txt:2: (99999999999999999999-99999999999999999999) numbers children past the 1000 layers a "
                + "network may have", parseError("Sequential(\n  (99999999999999999999-99999999999999999999): 1 x ReLU()\n)")
                .getMessage());
        // repeats of repeats multiply: 100 x 100 layers, and 1000 x 1000 empty containers
        assertEquals("t.txt:3: the network has more than 1000 modules (ModuleList repeats counted one by one)",
                parseError("Sequential(\n  (0-99): 100 x Sequential(\n    (0-99): 100 x ReLU()\n  )\n)").getMessage());
        assertEquals("t.txt:3: the network has more than 1000 modules (ModuleList repeats counted one by one)",
                parseError("Sequential(\n  (0-999): 1000 x Sequential(\n    (0-999): 1000 x Sequential(\n    )\n  )\n"
                        + "  (1000): Linear(784, 10)\n)").getMessage());
        assertEquals(ModulePrintout.MAX_LAYERS, ModulePrintout.parse("t.txt", "Sequential(\n  (0): Flatten()\n  (1-998): "
                + "998 x ReLU()\n  (999): Linear(784, 10)\n)").size());
    }

    @Test
    void windowsLineEndingsBlankLinesAndIndentationDoNotMatter() throws Exception {
        String printed = Files.readString(printout("tutorial001.txt"));
        String mangled = "\r\n\r\n" + printed.lines().map(l -> "\t" + l.strip() + "   ").reduce("", (a, b) -> a + b + "\r\n\r\n");
        assertEquals(TUTORIAL_001, ModulePrintout.parse("t.txt", mangled));
        assertEquals(TUTORIAL_001, ModulePrintout.parse("t.txt", printed.strip()));
        assertEquals(TUTORIAL_001, ModulePrintout.parse("t.txt", "\uFEFF" + printed));
    }

    @Test
    void emptyText() {
        assertEquals("t.txt: empty, expected what print(model) shows", parseError(" \n\r\n\t").getMessage());
        assertEquals("t.txt: empty, expected what print(model) shows", parseError("").getMessage());
    }

    @Test
    void unsupportedModulesNameTheirLine() {
        for (String module : List.of("BatchNorm2d(10, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
                "Dropout(p=0.5, inplace=False)", "Softmax(dim=1)", "LogSoftmax(dim=1)",
                "AvgPool2d(kernel_size=2, stride=2, padding=0)", "Sigmoid()")) {
            String type = module.substring(0, module.indexOf('('));
            assertError("t.txt:3: (1) " + type + " is not supported" + SUPPORTED, "ReLU()", module);
        }
    }

    @Test
    void unsupportedArgumentsNameTheirLine() {
        String conv = "Conv2d(1, 6, kernel_size=(5, 5), ";
        assertError("t.txt:2: (0) Conv2d stride=(2, 2) is not supported (only 1)" + SUPPORTED, conv + "stride=(2, 2))");
        assertError("t.txt:2: (0) Conv2d dilation=(2, 2) is not supported (only 1)" + SUPPORTED,
                conv + "stride=(1, 1), dilation=(2, 2))");
        assertError("t.txt:2: (0) Conv2d bias=False is not supported (only True)" + SUPPORTED,
                conv + "stride=(1, 1), bias=False)");
        assertError("t.txt:2: (0) Conv2d groups=2 is not supported (only 1)" + SUPPORTED, conv + "stride=(1, 1), groups=2)");
        assertError("t.txt:2: (0) Conv2d padding_mode=reflect is not supported (only zeros)" + SUPPORTED,
                conv + "stride=(1, 1), padding_mode=reflect)");
        assertError("t.txt:2: (0) Conv2d kernel_size=(3, 5) is not supported (only the same for height and width)" + SUPPORTED,
                "Conv2d(1, 6, kernel_size=(3, 5), stride=(1, 1))");
        assertError("t.txt:2: (0) Conv2d padding=(1, 2) is not supported (only the same for height and width)" + SUPPORTED,
                conv + "stride=(1, 1), padding=(1, 2))");
        assertError("t.txt:2: (0) Conv2d padding=same with an even kernel_size is not supported (it pads unevenly)" + SUPPORTED,
                "Conv2d(1, 6, kernel_size=(4, 4), stride=(1, 1), padding=same)");
        assertError("t.txt:2: (0) Conv2d argument output_padding is not supported" + SUPPORTED,
                conv + "stride=(1, 1), output_padding=(1, 1))");
        String pool = "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ";
        assertError("t.txt:2: (0) MaxPool2d ceil_mode=True is not supported (only False)" + SUPPORTED, pool + "ceil_mode=True)");
        assertError("t.txt:2: (0) MaxPool2d kernel_size=3 is not supported (only 2)" + SUPPORTED,
                "MaxPool2d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)");
        assertError("t.txt:2: (0) MaxPool2d stride=1 is not supported (only 2)" + SUPPORTED,
                "MaxPool2d(kernel_size=2, stride=1, padding=0, dilation=1, ceil_mode=False)");
        assertError("t.txt:2: (0) MaxPool2d padding=1 is not supported (only 0)" + SUPPORTED,
                "MaxPool2d(kernel_size=2, stride=2, padding=1, dilation=1, ceil_mode=False)");
        assertError("t.txt:2: (0) MaxPool2d ceil_mode=True is not supported (only False)" + SUPPORTED,
                "MaxPool2d (size=(2, 2), stride=(2, 2), dilation=(1, 1), ceil_mode)");
        assertError("t.txt:2: (0) Linear bias=False is not supported (only True)" + SUPPORTED,
                "Linear(in_features=784, out_features=10, bias=False)");
        assertError("t.txt:2: (0) Flatten start_dim=0 is not supported (only 1)" + SUPPORTED, "Flatten(start_dim=0, end_dim=-1)");
    }

    @Test
    void unreadableArguments() {
        assertError("t.txt:2: (0) Linear: out_features is missing", "Linear(in_features=784)");
        assertError("t.txt:2: (0) Linear: in_features=0 is not a positive whole number", "Linear(0, 10)");
        assertError("t.txt:2: (0) Conv2d: kernel_size=five is not a whole number or a tuple of them",
                "Conv2d(1, 6, kernel_size=five)");
        assertError("t.txt:2: (0) ReLU: inplace=maybe is not True or False", "ReLU(inplace=maybe)");
        assertError("t.txt:2: (0) Dropout2d: p=1.0 is not in [0, 1)", "Dropout2d(p=1.0, inplace=False)");
        assertError("t.txt:2: (0) ReLU: too many arguments in (True, 1)", "ReLU(True, 1)");
        assertError("t.txt:2: (0) Linear: in_features is given twice", "Linear(784, 10, in_features=784)");
        assertError("t.txt:2: (0) Linear: cannot read the arguments (784, , 10)", "Linear(784, , 10)");
    }

    @Test
    void unbalancedParentheses() {
        assertEquals("t.txt:1: unbalanced parentheses: Sequential( is never closed by a \")\" line",
                parseError("Sequential(\n  (0): ReLU()\n").getMessage());
        // The one ")" closes the Sequential, so Net is the one left open.
        assertEquals("t.txt:1: unbalanced parentheses: Net( is never closed by a \")\" line",
                parseError("Net(\n  (a): Sequential(\n    (0): ReLU()\n)\n").getMessage());
        assertEquals("t.txt:4: \")\" after the closing parenthesis of Sequential on line 1 (unbalanced parentheses?)",
                parseError("Sequential(\n  (0): ReLU()\n)\n)\n").getMessage());
        assertError("t.txt:2: unbalanced parentheses in \"Conv2d(1, 6, kernel_size=(5, 5)\"", "Conv2d(1, 6, kernel_size=(5, 5)");
        assertError("t.txt:2: unbalanced parentheses in \"Conv2d(1, 6, kernel_size=(5, 5)))\"", "Conv2d(1, 6, kernel_size=(5, 5)))");
    }

    @Test
    void unreadableLines() {
        assertEquals("t.txt:2: cannot read \"conv1: Conv2d(1, 6, kernel_size=(5, 5))\": expected \"(name): Module(...)\" or \")\"",
                parseError("Net(\n  conv1: Conv2d(1, 6, kernel_size=(5, 5))\n)").getMessage());
        assertEquals("t.txt:2: cannot read \"(conv1) Conv2d(1, 6, kernel_size=(5, 5))\": expected \"(name): Module(...)\" or \")\"",
                parseError("Net(\n  (conv1) Conv2d(1, 6, kernel_size=(5, 5))\n)").getMessage());
        assertError("t.txt:3: cannot read \"42\": expected a module such as \"Conv2d(...)\"", "ReLU()", "42");
        assertEquals("t.txt:2: cannot read \"(0-2): 2 x ReLU()\": (0-2) is not 2 children",
                parseError("Sequential(\n  (0-2): 2 x ReLU()\n)").getMessage());
        assertEquals("t.txt:1: expected the model's first line, such as \"Net(\" or \"Sequential(\", got \"(0): ReLU()\"",
                parseError("(0): ReLU()\n").getMessage());
        assertEquals("t.txt:1: expected the model's first line, such as \"Net(\" or \"Sequential(\", got \"ReLU(inplace=True)\"",
                parseError("ReLU(inplace=True)\n").getMessage());
    }

    @Test
    void noLayers() {
        assertEquals("t.txt:1: Net() has no layers", parseError("Net()\n").getMessage());
        assertEquals("t.txt:2: Net has no layers", parseError("\nNet(\n)\n").getMessage());
        assertEquals("t.txt:1: Net has no layers", parseError("Net(\n  (body): Sequential(\n  )\n)").getMessage());
    }

    @Test
    void duplicateChildNames() {
        assertEquals("t.txt:3: a second child named (a) in Net on line 1",
                parseError("Net(\n  (a): ReLU()\n  (a): ReLU()\n)").getMessage());
        assertEquals("t.txt:4: a second child named (1) in ModuleList on line 2",
                parseError("Net(\n  (l): ModuleList(\n    (0-1): 2 x ReLU()\n    (1): ReLU()\n  )\n)").getMessage());
        // The same name at different levels is fine: a.a.
        assertEquals(List.of(new ReLU("a.a")), ModulePrintout.parse("t.txt", "Net(\n (a): Sequential(\n (a): ReLU()\n )\n)"));
    }

    @Test
    void imageLayersAfterTheDataIsFlatNameTheirLine() {
        assertError("t.txt:3: (1) Conv2d: needs [C, H, W] input, but the data was flattened on line 2",
                "Flatten(start_dim=1, end_dim=-1)", "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
        assertError("t.txt:4: (2) Conv2d: needs [C, H, W] input, but the data was flattened on line 2",
                "Linear(in_features=784, out_features=784, bias=True)", "ReLU()",
                "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
        assertError("t.txt:3: (1) Dropout2d: needs [C, H, W] input, but the data was flattened on line 2",
                "Flatten()", "Dropout2d(p=0.25, inplace=False)");
        assertError("t.txt:3: (1) MaxPool2d: needs [C, H, W] input, but the data was flattened on line 2",
                "Flatten()", "MaxPool2d(2)");
    }

    @Test
    void readNamesTheFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.txt");
        assertEquals(missing + ": no such file", assertThrows(InputException.class, () -> ModulePrintout.read(missing)).getMessage());
        Path bad = dir.resolve("bad.txt");
        Files.writeString(bad, "Sequential(\n  (0): BatchNorm2d(6)\n)\n");
        assertEquals(bad + ":2: (0) BatchNorm2d is not supported" + SUPPORTED,
                assertThrows(InputException.class, () -> ModulePrintout.read(bad)).getMessage());
        Path binary = dir.resolve("binary.txt");
        Files.write(binary, new byte[]{(byte) 0xff, (byte) 0xfe, 0});
        assertEquals(binary + ": not UTF-8 text, so not a printout of a model",
                assertThrows(InputException.class, () -> ModulePrintout.read(binary)).getMessage());
    }

    /** The layers of a plain Sequential whose children are these module lines, numbered from 0. */
    private static List<Layer> sequential(String... modules) {
        return ModulePrintout.parse("t.txt", sequentialText(modules));
    }

    private static Layer only(String module) {
        List<Layer> layers = sequential(module);
        assertEquals(1, layers.size(), module);
        return layers.get(0);
    }

    private static String sequentialText(String... modules) {
        StringBuilder text = new StringBuilder("Sequential(\n");
        for (int i = 0; i < modules.length; i++) {
            text.append("  (").append(i).append("): ").append(modules[i]).append('\n');
        }
        return text.append(")\n").toString();
    }

    /** A Sequential of these module lines (line 2 onwards) fails with exactly this one-line message. */
    private static void assertError(String message, String... modules) {
        InputException e = parseError(sequentialText(modules));
        assertEquals(message, e.getMessage());
    }

    private static InputException parseError(String text) {
        InputException e = assertThrows(InputException.class, () -> ModulePrintout.parse("t.txt", text));
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
        assertTrue(e.getMessage().startsWith("t.txt:"), e.getMessage());
        return e;
    }

    private static List<String> parameterNames(List<Layer> layers) {
        return layers.stream().flatMap(l -> l.parameters().stream()).map(ParameterShape::name).toList();
    }

    private static Path printout(String name) {
        try {
            return Path.of(ModulePrintoutTest.class.getResource("/printouts/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
