package gpulenet.cli;

import gpulenet.cli.AppTest.Run;
import org.junit.jupiter.api.Test;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** --conv's refusals, before any data is loaded: one line on stderr, exit 2. */
class ConvOptionTest {
    @Test
    void anUnknownValueIsRefused() {
        Run r = run("train", "--conv", "cudnn8", "--dry-run");
        assertEquals(2, r.code());
        assertEquals("gpu-lenet: error: --conv: expected kernels or cudnn, got 'cudnn8'\n", r.err());
    }

    @Test
    void cudnnOnTheCpuIsRefused() {
        Run r = run("train", "--conv", "cudnn", "--device", "cpu", "--dry-run");
        assertEquals(2, r.code());
        assertEquals("gpu-lenet: error: --conv cudnn runs on the GPU: it needs --device cuda or auto, not cpu\n", r.err());
    }
}
