package gpulenet.cli;

import gpulenet.InputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;

/**
 * The gpu-lenet command line. User errors (bad flags, bad files, unusable device) print one line and
 * exit 2; anything else is an internal error: one line and exit 1, with the stack trace when
 * GPU_LENET_DEBUG is set.
 */
@Command(name = "gpu-lenet", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Trains and evaluates LeNet-5 on MNIST (or any IDX data set) on the CPU or an NVIDIA GPU.",
        subcommands = {TrainCommand.class, EvalCommand.class, BenchCommand.class, SelftestCommand.class, InfoCommand.class,
                CommandLine.HelpCommand.class})
public final class App implements Runnable {
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INTERNAL = 1;
    static final String PREFIX = "gpu-lenet: error: ";

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: the one-line error handling lives here, so main and tests share it. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new App());
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
