package gpulenet.cli;

import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static gpulenet.cli.AppTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flags that put a checkpoint's weights into another network than the one it records say so. */
class ReplacedNetworkTest {
    @TempDir
    Path dir;

    @Test
    void evalAndExportSayWhenFlagsReplaceTheRecordedNetwork() throws Exception {
        Path data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 64, 32);
        Path ckpt = dir.resolve("c.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--device", "cpu", "--dry-run", "--save", ckpt.toString()).code());
        String note = "--model lenet5-32 replaces the network the checkpoint records: lenet5, input ToTensor, "
                + "Normalize((0.5,),(0.5,)) runs as lenet5-32, input Resize((32,32)), ToTensor, Normalize((0.1307,),(0.3081,)) "
                + "(the weights' shapes match)";
        AppTest.Run replaced = run("eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--model", "lenet5-32");
        assertEquals(0, replaced.code(), replaced.err());
        assertTrue(replaced.out().contains(note + "\n"), replaced.out());

        AppTest.Run normalized = run("eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu",
                "--normalize", "none");
        assertTrue(normalized.out().contains("--normalize none replaces the network the checkpoint records: lenet5, input "
                + "ToTensor, Normalize((0.5,),(0.5,)) runs as lenet5, input ToTensor (the weights' shapes match)\n"),
                normalized.out());

        for (String[] same : new String[][]{{}, {"--model", "lenet5"}, {"--normalize", "0.5,0.5"}}) {
            String[] args = new String[]{"eval", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--device", "cpu"};
            AppTest.Run kept = run(concat(args, same));
            assertEquals(0, kept.code(), kept.err());
            assertFalse(kept.out().contains("replaces"), kept.out());
        }

        AppTest.Run export = run("export", "--checkpoint", ckpt.toString(), "--model", "lenet5-32", "--onnx",
                dir.resolve("m.onnx").toString());
        assertEquals(0, export.code(), export.err());
        assertTrue(export.out().contains(note + "\n"), export.out());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
