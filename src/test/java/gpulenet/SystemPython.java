package gpulenet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The system's Python 3 (Debian's, where python3-torch and python3-torchvision install), for tests that check against PyTorch. */
public final class SystemPython {
    public static final Path PYTHON = Path.of("/usr/bin/python3");

    /** What one run printed (stdout and stderr together) and its exit code. */
    public record Result(int code, String output) {
    }

    private SystemPython() {
    }

    /** Skips the calling test unless the system Python is there and imports every one of {@code modules}. */
    public static void assumeModules(String... modules) {
        assumeTrue(Files.isExecutable(PYTHON), PYTHON + " not found");
        Result r = run(List.of("-c", "import " + String.join(", ", modules)));
        assumeTrue(r.code() == 0, PYTHON + " cannot import " + String.join(", ", modules) + ": " + r.output());
    }

    /** Runs {@code PYTHON args...} to the end. */
    public static Result run(List<String> args) {
        List<String> line = new ArrayList<>();
        line.add(PYTHON.toString());
        line.addAll(args);
        try {
            Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(p.waitFor(), out);
        } catch (IOException e) {
            return fail("cannot run " + line + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    /** Runs {@code PYTHON args...} and fails the test unless it exits with 0; returns what it printed. */
    public static String runOk(List<String> args) {
        Result r = run(args);
        if (r.code() != 0) {
            fail(PYTHON + " " + String.join(" ", args) + " exited with " + r.code() + ":\n" + r.output());
        }
        return r.output();
    }
}
