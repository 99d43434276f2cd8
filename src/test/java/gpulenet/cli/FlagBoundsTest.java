package gpulenet.cli;

import org.junit.jupiter.api.Test;

import static gpulenet.cli.AppTest.run;
import static gpulenet.cli.AppTest.runRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flags whose values once ran away or printed nothing: each is one line and exit 2, or its promised output. */
class FlagBoundsTest {
    @Test
    void versionPrintsInEverySubcommand() {
        String version = run("--version").out();
        assertTrue(version.startsWith("gpu-lenet "), version);
        for (String command : new String[]{"train", "eval", "predict", "export", "models", "bench", "selftest", "info"}) {
            for (String flag : new String[]{"-V", "--version"}) {
                AppTest.Run r = run(command, flag);
                assertEquals(0, r.code(), command + " " + flag);
                assertEquals(version, r.out(), command + " " + flag);
            }
        }
    }

    @Test
    void predictHelpListsOnlyWhatPredictTakes() {
        String help = run("predict", "--help").out();
        assertFalse(help.contains("--data"), help);
        assertTrue(help.contains("--device") && help.contains("--threads"), help);
        assertTrue(runRefused("predict", "--checkpoint", "c.safetensors", "--data", "d", "x.png").err()
                .contains("--data"));
    }

    @Test
    void threadsAreBoundedInEveryCommandThatTakesThem() {
        String bound = "--threads must be at most " + gpulenet.backend.Backends.maxCpuThreads();
        assertTrue(runRefused("info", "--threads", "100000").err().contains(bound));
        assertTrue(runRefused("train", "--threads", "99999", "--epochs", "1").err().contains(bound));
    }

    @Test
    void normalizeStdMustBeANormalFloatGivingFiniteInputs() {
        assertEquals("gpu-lenet: error: --normalize: STD must be a normal positive float (1.17549435E-38 or more), got "
                + "0.5,1e-45 (1.4E-45 as a 32-bit float)\n", runRefused("train", "--normalize", "0.5,1e-45").err());
        assertEquals("gpu-lenet: error: --normalize: 3e38,0.5 makes the network's inputs infinite ((pixel/255 - MEAN)/STD "
                + "overflows a 32-bit float)\n", runRefused("train", "--normalize", "3e38,0.5").err());
    }
}
