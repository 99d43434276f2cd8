package gpulenet.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gpulenet.backend.cuda.Kernel.Arg;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every kernel the CUDA backend launches (all go through the {@link Kernel} table, which checks the
 * arguments of each launch) exists in the kernels/*.cu that ship, in the module the backend loads it
 * from, with the same number of parameters of the same kinds.
 */
class KernelSignaturesTest {

    private static final Path KERNELS = Path.of("kernels");
    private static final Pattern GLOBAL = Pattern.compile(
            "__global__\\s+(?:__launch_bounds__\\s*\\([^)]*\\)\\s*)?void\\s+(?:__launch_bounds__\\s*\\([^)]*\\)\\s*)?(\\w+)\\s*\\(([^)]*)\\)");

    /** A __global__ function of one .cu file. */
    record Signature(String module, List<Arg> params) {
    }

    @Test
    void everyLaunchedKernelMatchesItsCudaSignature() {
        Map<String, Signature> parsed = parseKernels();
        for (Kernel k : Kernel.values()) {
            Signature s = parsed.get(k.symbol);
            assertTrue(s != null, k.symbol + " is launched but no kernels/*.cu defines it; found " + parsed.keySet());
            assertEquals(k.module, s.module(), k.symbol + ": module (kernels/<module>.ptx) the backend loads it from");
            assertEquals(s.params(), k.params(), k.symbol + ": parameter kinds in order");
        }
    }

    @Test
    void parsesPointersIntsLongsAndFloats() {
        String src = """
                // comment __global__ void not_me(int)
                extern "C" __global__ void __launch_bounds__(256) k(const float* __restrict__ x /*[B,N]*/,
                    int n, float alpha, unsigned char *u, const int* idx, unsigned m, unsigned long long seed) { }
                """;
        Map<String, Signature> out = new HashMap<>();
        parse("m", src, out);
        assertEquals(Map.of("k", new Signature("m", List.of(Arg.PTR, Arg.INT, Arg.FLOAT, Arg.PTR, Arg.PTR, Arg.INT,
                Arg.LONG))), out);
    }

    @Test
    void launchesWithWrongArgumentsAreRefused() {
        DevicePtr p = new DevicePtr(new Object(), 0);
        Kernel.RELU_FORWARD.checkArgs(p, p, 3);
        assertThrows(IllegalArgumentException.class, () -> Kernel.RELU_FORWARD.checkArgs(p, p));
        assertThrows(IllegalArgumentException.class, () -> Kernel.RELU_FORWARD.checkArgs(p, p, 3f));
        assertThrows(IllegalArgumentException.class, () -> Kernel.RELU_FORWARD.checkArgs(p, 3, 3));
        Kernel.DROPOUT2D_MASK.checkArgs(p, 8, 20, 1L, DevicePtr.NULL, 2L, 0.25f, 4f / 3);
        assertThrows(IllegalArgumentException.class, () -> Kernel.DROPOUT2D_MASK.checkArgs(p, 8, 20, 1, DevicePtr.NULL, 2, 0.25f, 4f / 3));
    }

    static Map<String, Signature> parseKernels() {
        assertTrue(Files.isDirectory(KERNELS), KERNELS.toAbsolutePath() + " is missing");
        Map<String, Signature> out = new HashMap<>();
        try (Stream<Path> files = Files.list(KERNELS)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".cu")).sorted().toList()) {
                String module = f.getFileName().toString().replaceFirst("\\.cu$", "");
                parse(module, Files.readString(f), out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static void parse(String module, String source, Map<String, Signature> out) {
        String code = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
        Matcher m = GLOBAL.matcher(code);
        while (m.find()) {
            List<Arg> params = new ArrayList<>();
            String list = m.group(2).trim();
            if (!list.isEmpty() && !list.equals("void")) {
                for (String p : list.split(",")) {
                    params.add(kind(p.trim(), m.group(1)));
                }
            }
            Signature previous = out.put(m.group(1), new Signature(module, params));
            assertTrue(previous == null, m.group(1) + " is defined twice");
        }
    }

    private static Arg kind(String param, String kernel) {
        if (param.contains("*")) {
            return Arg.PTR;
        }
        String[] tokens = param.replaceAll("\\b(const|__restrict__)\\b", " ").trim().split("\\s+");
        String type = String.join(" ", Arrays.copyOf(tokens, tokens.length - 1));
        return switch (type) {
            case "int", "unsigned", "unsigned int" -> Arg.INT;
            case "long long", "unsigned long long" -> Arg.LONG;
            case "float" -> Arg.FLOAT;
            default -> throw new AssertionError(kernel + ": parameter '" + param + "' is neither a pointer, an int, a long long nor a float");
        };
    }
}
