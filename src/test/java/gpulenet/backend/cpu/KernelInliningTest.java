package gpulenet.backend.cpu;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelInliningTest {
    @Test
    void hotSpotTakesTheDirectiveAndListsEveryKernel() throws Exception {
        assertTrue(KernelInlining.advise(), "the JVM refused the directive " + KernelInlining.directive());
        String directives = KernelInlining.invoke("compilerDirectivesPrint");
        for (String kernel : KernelInlining.KERNELS) {
            assertTrue(directives.contains("-" + kernel), kernel + " missing from:\n" + directives);
        }
    }

    /** A renamed kernel would silently drop out of the directive. */
    @Test
    void everyPatternNamesAMethodOfTheBackend() throws Exception {
        for (String kernel : KernelInlining.KERNELS) {
            int dot = kernel.lastIndexOf('.');
            Class<?> owner = Class.forName(kernel.substring(0, dot).replace('/', '.'));
            String name = kernel.substring(dot + 1);
            Method[] methods = owner.getDeclaredMethods();
            assertTrue(Arrays.stream(methods).anyMatch(m -> m.getName().equals(name)), kernel + " is not a method");
        }
    }
}
