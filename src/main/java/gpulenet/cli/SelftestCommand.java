package gpulenet.cli;

import gpulenet.backend.BackendComparison.Row;
import gpulenet.backend.BackendComparison;
import gpulenet.backend.Backends;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.backend.cuda.ConvChoice;
import gpulenet.backend.cuda.CudaBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.data.DataSets;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Presets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code selftest}: the CUDA backend against the CPU backend (the oracle) on this host's GPU, op by op on
 * random inputs (LeNet-5's shapes, odd ones and the other tutorials' convolutions) and over a few training
 * steps of every preset network on real data, each step judged from the GPU's own state (see
 * {@link TrainingComparison}). Exit 0 when everything matches, 1 on any mismatch, 2 when no GPU is usable.
 */
@Command(name = "selftest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Check the GPU against the CPU: every op at batch 1, 7 and 64 on random data, and a few "
                + "training steps of every preset network on real data.", "Exit 0 when all pass, 1 on any failure, 2 without a usable GPU."})
public final class SelftestCommand implements Callable<Integer> {
    static final int[] BATCHES = {1, 7, 64};
    static final int TRAIN_BATCH = 64;
    static final int TRAIN_STEPS = 8;

    @Spec
    CommandSpec spec;

    @Mixin
    GemmOption gemm;

    @Mixin
    ConvOption conv;

    @Mixin
    ThreadsOption threads;

    @Mixin
    DataOption data;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seeds the random inputs and the init. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        GemmChoice gemmChoice = gemm.choice();
        int cpuThreads = threads.cpuThreads();
        CudaBackend cuda;
        try {
            cuda = CudaBackend.open(gemmChoice, conv.choice());
        } catch (CudaUnavailableException e) {
            throw new InputException("selftest needs a usable GPU: " + e.getMessage(), e);
        }
        List<Row> rows = new ArrayList<>();
        try (cuda; CpuBackend cpu = new CpuBackend(cpuThreads)) {
            out.println("Reference: " + Backends.describe(cpu));
            out.println("Checked:   " + Backends.describe(cuda));
            out.flush();
            DataSets sets = data.load();
            BackendComparison comparison = new BackendComparison(cpu, cuda, seed);
            if (conv.choice() == ConvChoice.KERNELS) {
                rows.addAll(comparison.ops(BATCHES));
            } else {
                // the pool's op check feeds the backward a forward it did not run, and cuDNN's pooling backward
                // reads the forward's input: with cuDNN the pools are checked inside the networks below
                out.println("--conv cudnn: the single ops are skipped; convolutions and whole networks are compared");
            }
            rows.addAll(comparison.tutorialConvolutions(TRAIN_BATCH));
            for (Presets.Preset p : Presets.ALL) {
                Model model = p.model();
                rows.addAll(TrainingComparison.compare(cpu, cuda, model, p.defaults().optimizer(), p.defaults().lr(),
                        model.transform().applyTo(sets.train()), TRAIN_BATCH, TRAIN_STEPS, seed));
            }
        }
        print(out, rows);
        long failed = rows.stream().filter(r -> !r.pass()).count();
        out.printf(Locale.ROOT, "%s: %d of %d checks passed (ops: abs %.0e + rel %.0e * |ref|; training, each step from the GPU's "
                        + "own state: abs %.0e + rel %.0e * |ref|, gradients out of it in at most %d step per network)%n",
                failed == 0 ? "PASS" : "FAIL", rows.size() - failed, rows.size(),
                BackendComparison.OP_ABS, BackendComparison.OP_REL, BackendComparison.TRAIN_ABS, BackendComparison.TRAIN_REL,
                TrainingComparison.FLIPPED_STEPS_ALLOWED);
        out.flush();
        return failed == 0 ? 0 : 1;
    }

    /** The table: op, shape, max abs error, max rel error, PASS/FAIL. */
    static void print(PrintWriter out, List<Row> rows) {
        int opWidth = "op".length();
        int shapeWidth = "shape".length();
        for (Row r : rows) {
            opWidth = Math.max(opWidth, r.op().length());
            shapeWidth = Math.max(shapeWidth, r.shape().length());
        }
        String format = "%-" + opWidth + "s  %-" + shapeWidth + "s  %12s  %12s  %s%n";
        out.printf(Locale.ROOT, format, "op", "shape", "max abs err", "max rel err", "result");
        for (Row r : rows) {
            out.printf(Locale.ROOT, format, r.op(), r.shape(), String.format(Locale.ROOT, "%.3e", r.maxAbs()),
                    String.format(Locale.ROOT, "%.3e", r.maxRel()), r.pass() ? "PASS" : "FAIL");
        }
    }
}
