package gpulenet.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The host-side scalars are PyTorch's: computed in double from the decimal values, then rounded to float32. */
class HostScalarsTest {

    @Test
    void floatArgumentsStandForTheirShortestDecimal() {
        assertEquals(0.9, HostScalars.decimal(0.9f));
        assertEquals(0.001, HostScalars.decimal(0.001f));
        assertEquals(1e-8, HostScalars.decimal(1e-8f));
        assertEquals(0.25, HostScalars.decimal(0.25f));
    }

    @Test
    void adamScalarsAreTorchsPythonFloatsRoundedToFloat32() {
        HostScalars.Adam s = HostScalars.Adam.of(1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1);
        // Python: float32(1 - 0.9) = 0.1f; widening 0.9f exactly would give 0.10000002f
        assertEquals(0.1f, s.oneMinusBeta1());
        assertEquals((float) (1 - 0.999), s.oneMinusBeta2());
        assertEquals(0.9f, s.beta1());
        assertEquals((float) Math.sqrt(1 - 0.999), s.sqrtBiasCorrection2());
        assertEquals((float) (-(0.001 / (1 - 0.9))), s.negStepSize());
        assertEquals(1e-8f, s.eps());
        HostScalars.Adam later = HostScalars.Adam.of(1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 30);
        assertEquals((float) Math.sqrt(1 - Math.pow(0.999, 30)), later.sqrtBiasCorrection2());
        assertEquals((float) (-(0.001 / (1 - Math.pow(0.9, 30)))), later.negStepSize());
        assertThrows(IllegalArgumentException.class, () -> HostScalars.Adam.of(1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0));
    }

    @Test
    void dropoutScaleIsPyTorchsFloat32OfOneOverOneMinusP() {
        assertEquals(1.3333333730697632f, HostScalars.dropoutScale(0.25f), "the README's s for p = 0.25");
        assertEquals(1f, HostScalars.dropoutScale(0f));
        assertEquals((float) (1 / 0.9), HostScalars.dropoutScale(0.1f));
        assertThrows(IllegalArgumentException.class, () -> HostScalars.dropoutScale(1f));
        assertThrows(IllegalArgumentException.class, () -> HostScalars.dropoutScale(-0.1f));
        assertThrows(IllegalArgumentException.class, () -> HostScalars.dropoutScale(Float.NaN));
    }
}
