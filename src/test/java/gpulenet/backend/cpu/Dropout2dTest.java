package gpulenet.backend.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The counter-based uniform behind Dropout2d's masks (the same definition as kernels/dropout.cu). */
class Dropout2dTest {

    @Test
    void splitmix64GivesThePublishedSequence() {
        // splitmix64's first outputs from state 0 (its reference implementation adds the gamma first)
        assertEquals(0xE220A8397B1DCDAFL, Dropout2d.splitmix64(0));
        assertEquals(0x6E789E6AA1B965F4L, Dropout2d.splitmix64(0x9E3779B97F4A7C15L));
    }

    @Test
    void uniformIsTheTop24BitsOfTheThreeRoundHash() {
        long seed = 2026, step = 5;
        int n = 3, c = 17;
        long h = Dropout2d.splitmix64(Dropout2d.splitmix64(Dropout2d.splitmix64(seed) ^ step) ^ (((long) n << 32) | c));
        float u = Dropout2d.counterUniform(seed, step, n, c);
        assertEquals((double) (h >>> 40) / (1 << 24), u, 0.0);
        assertEquals(true, u >= 0f && u < 1f);
        assertEquals(false, u == Dropout2d.counterUniform(seed, step, c, n), "sample and channel are not interchangeable");
    }
}
