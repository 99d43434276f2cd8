package gpulenet.cli;

import gpulenet.format.pth.Pickles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static gpulenet.cli.AppTest.runRefused;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command that reads a checkpoint refuses a hostile .pth with one line and exit 2, and runs nothing from it. */
class PthCommandTest {
    @TempDir
    Path dir;

    @Test
    void aPickleThatWouldRunACommandIsOneLineAndExit2InEveryCommandAndRunsNothing() throws IOException {
        Path marker = dir.resolve("pwned");
        byte[] pickle = Pickles.proto2().global("os", "system").str("touch " + marker).op(0x85, 'R').stop();
        Path zip = Files.write(dir.resolve("evil.pth"), Pickles.zip(pickle, Map.of()));
        Path legacy = Files.write(dir.resolve("evil-legacy.pt"), Pickles.legacy(pickle, Map.of()));
        for (Path file : List.of(zip, legacy)) {
            String f = file.toString();
            for (String[] args : List.of(new String[]{"eval", "--checkpoint", f}, new String[]{"predict", "--checkpoint", f, f},
                    new String[]{"export", "--checkpoint", f, "--onnx", dir.resolve("x.onnx").toString()},
                    new String[]{"train", "--resume", f}, new String[]{"train", "--init", f})) {
                AppTest.Run r = runRefused(args);
                assertTrue(r.err().startsWith("gpu-lenet: error: " + f + ": ")
                        && r.err().contains("refusing the global os.system: only a state_dict of tensors is read"), r.err());
            }
        }
        assertFalse(Files.exists(marker));
    }

    @Test
    void aStateDictOfNoPresetsNetworkAsksForOneInOneLine() {
        String tiny = "src/test/resources/pth/tiny-zip.pth";
        AppTest.Run r = runRefused("eval", "--checkpoint", tiny);
        assertTrue(r.err().contains(tiny + ": no network recorded, and its parameter names and shapes match none of the "
                + "presets (lenet5, lenet5-adam, lenet5-32, cnn-dropout, cnn3): give --model NAME or --model-file FILE"), r.err());
    }
}
