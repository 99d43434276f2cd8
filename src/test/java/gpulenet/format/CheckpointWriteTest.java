package gpulenet.format;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.io.InputException;
import gpulenet.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A checkpoint that cannot be written says so in one line with the operating system's reason. */
class CheckpointWriteTest {
    @TempDir
    Path dir;

    @Test
    void aWriteErrorCarriesTheReasonNotJustThePath() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x").resolve("model.safetensors");
        Checkpoint checkpoint;
        try (CpuBackend backend = new CpuBackend(1)) {
            checkpoint = TestModels.lenet5Checkpoint(backend, new float[TestModels.lenet5Total()], null, Map.of());
        }
        InputException e = assertThrows(InputException.class, () -> checkpoint.write(file));
        assertEquals(file + ": cannot write checkpoint: not a directory", e.getMessage());
    }
}
