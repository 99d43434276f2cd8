package gpulenet.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gpulenet.backend.Backend;
import gpulenet.backend.Backends;
import gpulenet.backend.cpu.CpuBackend;
import gpulenet.backend.cuda.ConvChoice;
import gpulenet.backend.cuda.CudaBackend;
import gpulenet.backend.cuda.CudaUnavailableException;
import gpulenet.backend.cuda.CudaVersion;
import gpulenet.backend.cuda.DeviceInfo;
import gpulenet.backend.cuda.GemmChoice;
import gpulenet.backend.cuda.KernelBuildId;
import gpulenet.data.DataSets;
import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;
import gpulenet.model.Model;
import gpulenet.model.Presets;
import gpulenet.train.EpochSummary;
import gpulenet.train.ShortNumber;
import gpulenet.train.TrainConfig;
import gpulenet.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code bench}: the same training job on each device and batch size, for each model named, fresh
 * parameters from the same seed every time, timed by the trainer (training alone: no eval, no data upload,
 * the device synchronised before the clock stops). Each model trains with its preset's own set-up
 * (optimizer, lr, momentum, lr decay, input transform); only the batch size comes from --batch-sizes. A
 * device that cannot run gets a line saying why instead of rows.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time training on the CPU and the GPU: the same job (default one epoch of MNIST at batch 64, "
                + "LeNet-5) on each usable device, with images/s, epoch seconds, speed-up over the CPU and test accuracy."})
public final class BenchCommand implements Callable<Integer> {
    static final String CPU = "cpu";
    static final String CUDA = "cuda";
    /** The GPU with cuDNN's convolutions, max-pools and ReLUs (--conv cudnn), timed beside the kernels. */
    static final String CUDA_CUDNN = "cuda-cudnn";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "NAME", split = ",", defaultValue = Presets.DEFAULT,
            description = {"The networks to time, repeatable or a comma list: " + "lenet5 (default), lenet5-adam, lenet5-32, "
                    + "cnn-dropout, cnn3 (see the models command). Each trains with its own optimizer, lr, momentum, lr decay "
                    + "and input transform; the batch sizes are --batch-sizes for all."})
    List<String> models;

    @Option(names = "--batch-sizes", paramLabel = "B", split = ",", defaultValue = "64",
            description = "Batch sizes to time, e.g. 64,256,1024. Default: ${DEFAULT-VALUE}.")
    List<Integer> batchSizes;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1", description = "Epochs per run. Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--devices", paramLabel = "DEVICE", split = ",", defaultValue = "cpu,cuda",
            description = "Devices to time: cpu, cuda, cuda-cudnn (cuDNN's convolutions, pools and ReLUs). "
                    + "Default: ${DEFAULT-VALUE}.")
    List<String> devices;

    @Mixin
    ThreadsOption threads;

    @Mixin
    GemmOption gemm;

    @Mixin
    DataOption data;

    @Mixin
    GraphOption graph;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "" + TrainConfig.DEFAULT_SEED,
            description = "Seeds the init and the shuffles of every run. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--json", paramLabel = "FILE",
            description = "Also write the results as JSON here, atomically. A symlink is followed: its target is "
                    + "replaced, not the link.")
    Path json;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "Draw images/s per model, device and batch size as bars (PyTorch's beside, when run) into this PNG.")
    Path plot;

    @Option(names = "--pytorch", paramLabel = "COMMAND",
            description = {"Also time PyTorch on the same job right after each run: COMMAND starts its reference "
                    + "script, split at spaces (e.g. \"python3 src/main/python/torch_reference.py\"); the job's flags are added "
                    + "(--model, --optimizer, --batch, --epochs, --lr, --momentum, --lr-decay, --normalize, --resize, --seed, "
                    + "--threads). "
                    + "The table gains its images/s and the ratio. The script reads gzip IDX files: the jar's MNIST "
                    + "is written out for it unless --data is given."})
    String pytorch;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        GemmChoice gemmChoice = gemm.choice();
        int cpuThreads = threads.cpuThreads();
        checkFlags();
        new FileFlags(spec).readsDataSet("--data", data.data).writes("--json", json).writes("--plot", plot).check();
        List<Presets.Preset> presets = presets();
        DataSets sets = data.load();
        batchSizes = batchesFor(sets.train().count(), out);
        BenchReport report = new BenchReport(job(sets, cpuThreads), MachineFacts.current());
        Path pytorchData = pytorch == null ? null : pytorchData();
        Set<String> unusable = new HashSet<>();
        try {
            for (Presets.Preset preset : presets) {
                Model model = preset.model();
                DataSets modelData = model.transform().applyTo(sets);
                report.model(preset.name(), setupLine(preset), setupJson(preset));
                for (String device : new LinkedHashSet<>(devices)) {
                    if (unusable.contains(device)) {
                        continue;
                    }
                    for (int batch : batchSizes) {
                        Backend backend;
                        try {
                            backend = device.equals(CPU) ? new CpuBackend(cpuThreads) : CudaBackend.open(gemmChoice,
                                    device.equals(CUDA_CUDNN) ? ConvChoice.CUDNN : ConvChoice.KERNELS);
                        } catch (CudaUnavailableException e) {
                            report.missing(device, "CUDA is not usable: " + e.getMessage());
                            unusable.add(device);
                            break;
                        } catch (InputException e) {
                            if (!device.equals(CUDA_CUDNN)) {
                                throw e;
                            }
                            report.missing(device, e.getMessage());
                            unusable.add(device);
                            break;
                        }
                        TrainConfig config = config(preset, batch);
                        BenchReport.Row row;
                        try (backend) {
                            row = run(backend, device, preset, config, modelData, out, report);
                        }
                        if (pytorch != null) {
                            row = withPyTorch(row, model, config, pytorchData, cpuThreads, out, report);
                        }
                        report.add(row);
                    }
                }
            }
        } finally {
            if (pytorchData != null && data.data == null) {
                deleteTree(pytorchData);
            }
        }
        if (report.rows().isEmpty()) {
            throw new InputException("bench: no device could run: " + report.missingReasons());
        }
        out.println();
        report.printTable(out);
        out.flush();
        if (json != null) {
            try {
                AtomicFile.write(json, report.toJson().getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new InputException("--json " + json + ": cannot write: " + IoReasons.reason(e), e);
            }
            out.println("Wrote " + json);
            out.flush();
        }
        if (plot != null) {
            Charts.writePng(plot, Charts.benchBars("Training images/s, one epoch of MNIST", report.rows()));
            out.println("Saved plot " + plot);
            out.flush();
        }
        return 0;
    }

    /** The presets --model names, each once, in the order given. */
    private List<Presets.Preset> presets() {
        Set<String> names = new LinkedHashSet<>();
        for (String m : models) {
            names.add(m.trim());
        }
        return names.stream().map(BenchCommand::preset).toList();
    }

    private static Presets.Preset preset(String name) {
        for (Presets.Preset p : Presets.ALL) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new InputException("--model must be one of " + Presets.names() + ", got " + name);
    }

    /** The preset's own training set-up at this batch size: one read of the loss per epoch, no checkpoints. */
    private TrainConfig config(Presets.Preset preset, int batch) {
        Presets.Defaults d = preset.defaults();
        return new TrainConfig(epochs, batch, d.optimizer(), d.lr(), d.momentum(), TrainConfig.DEFAULT_WEIGHT_DECAY,
                d.lrDecay(), seed, Integer.MAX_VALUE, false, null);
    }

    /** "lenet5: sgd lr 0.05 momentum 0.9 lr-decay 0.7; input ToTensor, Normalize((0.5,),(0.5,)); 61,706 parameters". */
    static String setupLine(Presets.Preset preset) {
        Presets.Defaults d = preset.defaults();
        Model m = preset.model();
        return String.format(Locale.ROOT, "%s: %s lr %s%s lr-decay %s; input %s; %,d parameters", preset.name(),
                d.optimizer(), ShortNumber.of(d.lr()), d.optimizer().equals("sgd") ? " momentum " + ShortNumber.of(d.momentum()) : "",
                ShortNumber.of(d.lrDecay()), m.transform().describe(), m.parameterCount());
    }

    private static JsonObject setupJson(Presets.Preset preset) {
        Presets.Defaults d = preset.defaults();
        Model m = preset.model();
        JsonObject o = new JsonObject();
        o.addProperty("name", preset.name());
        o.addProperty("parameters", m.parameterCount());
        o.addProperty("optimizer", d.optimizer());
        o.addProperty("lr", d.lr());
        o.addProperty("momentum", d.optimizer().equals("sgd") ? d.momentum() : 0f);
        o.addProperty("lr_decay", d.lrDecay());
        o.addProperty("normalize", m.transform().normalizeText());
        o.addProperty("resize", m.transform().resize());
        return o;
    }

    private void checkFlags() {
        if (models.isEmpty() || models.stream().anyMatch(String::isBlank)) {
            throw new InputException("--model takes model names, e.g. --model lenet5,cnn3; got an empty one");
        }
        if (devices.isEmpty() || devices.stream().anyMatch(String::isBlank)) {
            throw new InputException("--devices takes cpu, cuda and cuda-cudnn, e.g. --devices cpu,cuda; got an empty one");
        }
        presets();
        if (epochs <= 0) {
            throw new InputException("--epochs must be positive, got " + epochs);
        }
        for (int b : batchSizes) {
            if (b <= 0) {
                throw new InputException("--batch-sizes must all be positive, got " + b);
            }
        }
        for (String d : devices) {
            if (!d.equals(CPU) && !d.equals(CUDA) && !d.equals(CUDA_CUDNN)) {
                throw new InputException("--devices takes cpu, cuda and cuda-cudnn, got " + d);
            }
        }
        if (pytorch != null && pytorch.isBlank()) {
            throw new InputException("--pytorch needs a command, e.g. \"python3 src/main/python/torch_reference.py\"");
        }
    }

    /**
     * The batch sizes to time, in the order given (a size given twice is timed twice: the later run shows the
     * JIT warmed up): one larger than the training set is capped to it, as train caps --batch-size, and a line
     * says so; the rows and the JSON record the batch that ran.
     */
    private List<Integer> batchesFor(int trainImages, PrintWriter out) {
        List<Integer> batches = new ArrayList<>();
        for (int b : batchSizes) {
            if (b > trainImages) {
                out.printf(Locale.ROOT, "--batch-sizes %d is more than the %d training images: timing batch %d%n", b,
                        trainImages, trainImages);
            }
            batches.add(Math.min(b, trainImages));
        }
        out.flush();
        return batches;
    }

    private BenchReport.Row run(Backend backend, String device, Presets.Preset preset, TrainConfig config, DataSets sets,
                                PrintWriter out, BenchReport report) {
        String description = Backends.describe(backend);
        if (backend instanceof CudaBackend cuda) {
            report.gpu(gpuFacts(cuda));
        }
        out.printf(Locale.ROOT, "Bench: %s, batch %d, %d epoch%s of %s (%d images) on %s; model %s%n", device,
                config.batchSize(), epochs, epochs == 1 ? "" : "s", sets.name(), sets.train().count(), description,
                preset.name());
        out.flush();
        // the trainer's own lines are not wanted here: one read of the loss per epoch, no log output
        Trainer trainer = new Trainer(backend, sets, preset.model(), config, new PrintWriter(Writer.nullWriter()), false);
        trainer.useGraphs(graph.graphs());
        List<EpochSummary> summaries = trainer.run();
        if (backend instanceof CudaBackend) {
            out.println("  steps: " + trainer.describeSteps());
        }
        double seconds = 0;
        long images = 0;
        for (EpochSummary s : summaries) {
            seconds += s.trainSeconds();
            images += s.trainImages();
        }
        EpochSummary last = summaries.get(summaries.size() - 1);
        return new BenchReport.Row(preset.name(), device, description, config.batchSize(), summaries.size(),
                images / seconds, seconds / summaries.size(), last.test().accuracy(), null);
    }

    /** PyTorch's figure for the job of {@code row}, run now; the row unchanged (and a note) if it gives none. */
    private BenchReport.Row withPyTorch(BenchReport.Row row, Model model, TrainConfig config, Path pytorchData,
                                       int cpuThreads, PrintWriter out, BenchReport report) {
        List<String> line = PyTorchRun.commandLine(pytorch, pytorchData, row.device(), epochs, cpuThreads, model, config);
        out.println("PyTorch: " + String.join(" ", line));
        out.flush();
        try {
            PyTorchRun.Result result = PyTorchRun.run(line);
            return row.withPyTorch(result.imagesPerSecond());
        } catch (PyTorchRun.Failure e) {
            report.pytorchFailed(row.model(), row.device(), row.batch(), e.getMessage());
            return row;
        }
    }

    /** The directory the PyTorch script reads: --data, or the jar's MNIST written to a temporary one. */
    private Path pytorchData() {
        if (data.data != null) {
            return data.data;
        }
        try {
            Path dir = Files.createTempDirectory("gpu-lenet-mnist");
            DataSets.copyEmbedded(dir);
            return dir;
        } catch (IOException e) {
            throw new InputException("--pytorch: cannot write the MNIST files for PyTorch to a temporary directory: "
                    + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A leftover temporary copy of MNIST is harmless; the results are already out.
        }
    }

    private JsonObject job(DataSets sets, int cpuThreads) {
        JsonObject job = new JsonObject();
        job.addProperty("data", sets.name());
        job.addProperty("train_images", sets.train().count());
        job.addProperty("test_images", sets.test().count());
        job.addProperty("epochs", epochs);
        JsonArray batches = new JsonArray();
        batchSizes.forEach(batches::add);
        job.add("batch_sizes", batches);
        job.addProperty("seed", seed);
        job.addProperty("cpu_threads", cpuThreads);
        job.addProperty("gemm_choice", gemm.text());
        job.addProperty("pytorch_command", pytorch);
        return job;
    }

    private static JsonObject gpuFacts(CudaBackend cuda) {
        DeviceInfo d = cuda.deviceInfo();
        JsonObject g = new JsonObject();
        g.addProperty("name", d.name());
        g.addProperty("compute_capability", d.ccMajor() + "." + d.ccMinor());
        g.addProperty("memory_bytes", d.totalMemoryBytes());
        g.addProperty("driver_api_version", CudaVersion.format(d.driverVersion()));
        g.addProperty("gemm", cuda.gemmDescription());
        g.addProperty("kernel_build", KernelBuildId.get());
        return g;
    }
}
