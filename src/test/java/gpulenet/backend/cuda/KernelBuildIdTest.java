package gpulenet.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel build id covers every module the backend loads and is a short hash, or names the missing PTX. */
class KernelBuildIdTest {

    @Test
    void coversEveryLoadedModuleInNameOrder() {
        TreeSet<String> expected = new TreeSet<>();
        for (Kernel k : Kernel.values()) {
            expected.add(k.module);
        }
        assertEquals(List.copyOf(expected), KernelBuildId.modules());
        assertTrue(KernelBuildId.modules().contains("conv") && KernelBuildId.modules().contains("gemm"));
    }

    @Test
    void isTwelveHexDigitsWhenEveryPtxShipsAndNamesTheMissingOneOtherwise() {
        String missing = null;
        for (String module : KernelBuildId.modules()) {
            if (missing == null && KernelBuildId.class.getResource("/kernels/" + module + ".ptx") == null) {
                missing = "kernels/" + module + ".ptx";
            }
        }
        String id = KernelBuildId.get();
        if (missing == null) {
            assertTrue(id.matches("[0-9a-f]{12}"), id);
        } else {
            assertEquals("unknown (" + missing + " is missing from this build)", id);
        }
        assertSame(id, KernelBuildId.get(), "computed once");
    }
}
