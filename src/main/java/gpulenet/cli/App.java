package gpulenet.cli;

import gpulenet.io.InputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The gpu-lenet command line. User errors (bad flags, bad files, unusable device) print one line and
 * exit 2; anything else is an internal error: one line and exit 1, with the stack trace when
 * GPU_LENET_DEBUG is set.
 */
@Command(name = "gpu-lenet", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Trains and evaluates the PyTorch MNIST tutorials' CNNs (LeNet-5 and others) on MNIST (or any IDX data set) on the CPU or an NVIDIA GPU.",
        subcommands = {TrainCommand.class, EvalCommand.class, PredictCommand.class, ExportCommand.class, ModelsCommand.class, BenchCommand.class, SelftestCommand.class, InfoCommand.class,
                CommandLine.HelpCommand.class})
public final class App implements Runnable {
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INTERNAL = 1;
    static final String PREFIX = "gpu-lenet: error: ";

    @Spec
    CommandSpec spec;

    /**
     * Runs the command line and exits with its code. Running out of memory is an {@link Error}, which
     * picocli's execution handler never sees: it is caught here, and in any other thread (a progress bar's)
     * by the default handler, and becomes one line and exit 2 like any other bad input.
     */
    public static void main(String[] args) {
        System.setOut(utf8(FileDescriptor.out));
        System.setErr(utf8(FileDescriptor.err));
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (e instanceof OutOfMemoryError) {
                System.err.println(PREFIX + outOfMemory());
                Runtime.getRuntime().halt(EXIT_USAGE);
            }
            e.printStackTrace();
        });
        int code;
        try {
            CommandLine cl = commandLine();
            cl.setOut(new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true));
            cl.setErr(new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true));
            code = cl.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println(PREFIX + outOfMemory());
            code = EXIT_USAGE;
        }
        System.exit(code);
    }

    /**
     * Standard output or error in UTF-8 whatever the locale: under LC_ALL=C Java would print every non-ASCII
     * character (a file name, a degree sign) as '?'. Buffered and flushed at each line, as Java's own.
     */
    private static PrintStream utf8(FileDescriptor fd) {
        return new PrintStream(new BufferedOutputStream(new FileOutputStream(fd), 8192), true, StandardCharsets.UTF_8);
    }

    /** What to do when the Java heap ran out. */
    static String outOfMemory() {
        long mib = Runtime.getRuntime().maxMemory() >> 20;
        return "out of memory: the Java heap (" + mib + " MiB) is too small for this run; use a smaller --batch-size, "
                + "or give Java more memory (java -Xmx" + Math.max(2, 2 * ((mib + 1023) >> 10)) + "g -jar gpu-lenet.jar ...)";
    }

    /** The configured command line: the one-line error handling lives here, so main and tests share it. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new App());
        // Each subcommand lists -V in its help; the version provider is not inherited, so -V would print nothing.
        cl.getSubcommands().values().forEach(sub -> sub.getCommandSpec().versionProvider(new Version()));
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println(PREFIX + ex.getMessage());
            err.flush();
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof InputException) {
                err.println(PREFIX + ex.getMessage());
                err.flush();
                return EXIT_USAGE;
            }
            err.println("gpu-lenet: internal error: " + ex
                    + (System.getenv("GPU_LENET_DEBUG") == null ? " (set GPU_LENET_DEBUG=1 for the stack trace)" : ""));
            if (System.getenv("GPU_LENET_DEBUG") != null) {
                ex.printStackTrace(err);
            }
            err.flush();
            return EXIT_INTERNAL;
        });
        return cl;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: try 'gpu-lenet train', 'gpu-lenet eval --checkpoint FILE', 'gpu-lenet bench', "
                        + "'gpu-lenet info', 'gpu-lenet selftest' or 'gpu-lenet help'");
    }
}
