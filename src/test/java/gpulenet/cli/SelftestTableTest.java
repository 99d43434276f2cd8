package gpulenet.cli;

import gpulenet.backend.BackendComparison.Row;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The selftest table: one aligned line per check with its errors and verdict. */
class SelftestTableTest {

    @Test
    void oneLinePerCheckWithErrorsAndVerdict() {
        StringWriter text = new StringWriter();
        SelftestCommand.print(new PrintWriter(text, true), List.of(
                new Row("conv2dForward", "conv1 x[7,1,28,28]", 4.172e-7, 2.012e-6, true),
                new Row("maxPool2x2Backward (relu before)", "pool1 x[7,6,28,28]", 0.5, 5.0, false)));
        List<String> lines = text.toString().lines().toList();
        assertEquals(3, lines.size(), text.toString());
        assertEquals(List.of("op", "shape", "max", "abs", "err", "max", "rel", "err", "result"), List.of(lines.get(0).split("\\s+")));
        assertEquals(List.of("conv2dForward", "conv1", "x[7,1,28,28]", "4.172e-07", "2.012e-06", "PASS"), List.of(lines.get(1).split("\\s+")));
        assertEquals(List.of("maxPool2x2Backward", "(relu", "before)", "pool1", "x[7,6,28,28]", "5.000e-01", "5.000e+00", "FAIL"),
                List.of(lines.get(2).split("\\s+")));
        assertEquals(lines.get(1).indexOf("PASS"), lines.get(2).indexOf("FAIL"), "columns line up");
    }
}
