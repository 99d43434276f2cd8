package gpulenet.backend.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReluMaskTest {
    @Test
    void passesTheGradientOnlyWhereTheActivationIsPositive() {
        float g = -2.5f;
        assertEquals(g, ReluMask.pass(g, 1f));
        assertEquals(g, ReluMask.pass(g, Float.MIN_VALUE));
        assertEquals(g, ReluMask.pass(g, Float.POSITIVE_INFINITY));
        assertEquals(0f, ReluMask.pass(g, 0f));
        assertEquals(0f, ReluMask.pass(g, -0f));
        assertEquals(0f, ReluMask.pass(g, -Float.MIN_VALUE));
        assertEquals(0f, ReluMask.pass(g, -3f));
        assertEquals(0f, ReluMask.pass(g, Float.NEGATIVE_INFINITY));
    }
}
