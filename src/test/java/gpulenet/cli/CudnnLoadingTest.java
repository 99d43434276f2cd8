package gpulenet.cli;

import gpulenet.data.IdxFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pinned cuDNN binding loading for real: JCudnn 11.7.0's classes, the 12.6.0 natives and a libcudnn.so.9,
 * here native-tests/null-cuda's no-op one (with its no-op CUDA driver), in child JVMs whose LD_LIBRARY_PATH
 * holds it or not. With it, info reports the version cudnnGetVersion gives and a dry run trains through every
 * cuDNN call the backend makes; without it, --conv cudnn is one line and exit 2.
 */
class CudnnLoadingTest {
    @TempDir
    static Path dir;
    private static Path withCudnn;
    private static Path withoutCudnn;
    private static Path data;

    private record Run(int code, String out, String err) {
    }

    @BeforeAll
    static void buildNullCuda() throws Exception {
        withCudnn = dir.resolve("null-cuda");
        // the natives from the local Maven repository: the jar is not built before the tests
        Process build = new ProcessBuilder("native-tests/null-cuda/build.sh", withCudnn.toString(),
                dir.resolve("no.jar").toString()).redirectErrorStream(true).start();
        String log = new String(build.getInputStream().readAllBytes());
        assertTrue(build.waitFor(120, TimeUnit.SECONDS) && build.exitValue() == 0, log);
        withoutCudnn = Files.createDirectory(dir.resolve("null-cuda-without-cudnn"));
        for (String lib : List.of("libcuda.so.1", "libcublas.so.12")) {
            Files.copy(withCudnn.resolve(lib), withoutCudnn.resolve(lib));
        }
        data = IdxFiles.writeDataSet(Files.createDirectory(dir.resolve("tiny")), 256, 64);
    }

    private static Run run(Path libraries, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), App.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("LD_LIBRARY_PATH", libraries.toString());
        Path out = dir.resolve("child.out"), err = dir.resolve("child.err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void infoReportsTheCudnnVersionThatLoads() throws Exception {
        Run info = run(withCudnn, "info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("\ncuDNN: 9.5.0 (libcudnn.so.9, loaded by JCudnn's 12.6.0 natives)\n"), info.out());
        Run without = run(withoutCudnn, "info");
        assertTrue(without.out().contains("\ncuDNN: not loaded: libcudnn.so.9 (cuDNN 9, which JCudnn's 12.6.0 natives link)"
                + " is not installed"), without.out());
    }

    @Test
    void aDryRunTrainsThroughEveryCudnnCallOfTheBackend() throws Exception {
        Run train = run(withCudnn, "train", "--device", "cuda", "--conv", "cudnn", "--dry-run", "--data", data.toString());
        assertEquals(0, train.code(), train.err());
        assertTrue(train.out().contains("conv: cuDNN 9.5.0 (deterministic algorithms)"), train.out());
        assertTrue(train.err().contains("null-cuda: cuDNN calls "), train.err());
    }

    @Test
    void withoutLibcudnnConvCudnnIsOneLineAndExit2() throws Exception {
        Run train = run(withoutCudnn, "train", "--device", "cuda", "--conv", "cudnn", "--dry-run", "--data",
                data.toString());
        assertEquals(2, train.code(), train.out());
        List<String> errors = train.err().lines().filter(l -> !l.startsWith("null-cuda:")).toList();
        assertEquals(List.of("gpu-lenet: error: --conv cudnn: cuDNN is not usable: libcudnn.so.9 (cuDNN 9, which"
                + " JCudnn's 12.6.0 natives link) is not installed: install cuDNN 9 (NVIDIA's libcudnn9-cuda-12 package,"
                + " or pip's nvidia-cudnn-cu12 or -cu13, whose nvidia/cudnn/lib folder holds it) and put its folder on"
                + " LD_LIBRARY_PATH"), errors);
    }
}
