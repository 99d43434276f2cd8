package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.FreeMemory;
import gpulenet.backend.SizingBackend;
import gpulenet.backend.Tensor;
import gpulenet.data.DataSets;
import gpulenet.io.InputException;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.optim.Optimizers;

import java.util.Locale;

/**
 * What a training run needs at one batch size, worked out before anything is allocated: the network, its
 * parameters and both data sets are built on a {@link SizingBackend} and one training step is run there,
 * which gives every tensor (activations and gradients per sample times the batch, parameters, gradients
 * and momentum, the data sets and their batch order) and the ops the backend sizes its own workspace
 * from (the CPU backend's scratch buffers). Derived from what the network allocates, it follows the
 * network when its layers change.
 */
public final class MemoryEstimate {
    private static final double GIB = 1024.0 * 1024 * 1024;
    /** The collector's room to work and G1's rounding of every large array up to whole heap regions. */
    private static final double HEAP_HEADROOM = 1.1;

    private final SizingBackend plan;
    /** Bytes on the backend: tensors and its workspace. */
    private final long backendBytes;
    /** Bytes of Java arrays beside them: the order arrays on the host (each split's identity, the epoch's shuffle). */
    private final long hostBytes;

    private MemoryEstimate(Backend target, DataSets data, Model model, TrainConfig config, int batch) {
        plan = new SizingBackend(target);
        Parameters params = new Parameters(plan, model.parameterShapes());
        Network network = Network.forTraining(plan, model, params, data.train().rows(), data.train().cols(), batch);
        new DeviceDataset(plan, data.train());
        new DeviceDataset(plan, data.test());
        new TrainingStep(network, Optimizers.create(config.optimizer(), params, 0f, 0f)).run(batch, 0f, 0, 0);
        backendBytes = plan.allocatedBytes() + target.workspaceBytes(plan);
        hostBytes = (long) Integer.BYTES * (2L * data.train().count() + data.test().count());
    }

    public static MemoryEstimate of(Backend target, DataSets data, Model model, TrainConfig config, int batch) {
        return new MemoryEstimate(target, data, model, config, batch);
    }

    /**
     * What must fit in the backend's memory. On the Java heap (the CPU backend) that includes the host
     * arrays and {@link #HEAP_HEADROOM}: measured, a run needs up to 8% more heap than its arrays.
     */
    public long bytes(FreeMemory where) {
        return where.javaHeap() ? (long) ((backendBytes + hostBytes) * HEAP_HEADROOM) : backendBytes;
    }

    /**
     * Refuses, with one line saying what is needed and what to do, a batch the backend cannot take: more
     * than its ops allow, a tensor too large for it, or more memory than it has free.
     */
    public static void requireFits(Backend backend, DataSets data, Model model, TrainConfig config) {
        int batch = config.batchSize();
        if (batch > backend.maxBatch()) {
            throw new InputException(String.format(Locale.ROOT,
                    "--batch-size %d is more than the %s backend takes in one step (%d); use --batch-size %d or less",
                    batch, backend.name(), backend.maxBatch(), backend.maxBatch()));
        }
        MemoryEstimate need = of(backend, data, model, config, batch);
        Tensor largest = need.plan.largest();
        if (largest.size() > Tensor.MAX_ELEMENTS) {
            long perSample = largest.size() / largest.dim(0);
            throw new InputException(String.format(Locale.ROOT,
                    "--batch-size %d needs a tensor of %d elements (%s), more than the %d one tensor can hold; "
                            + "use --batch-size %d or less", batch, largest.size(), largest, Tensor.MAX_ELEMENTS,
                    Tensor.MAX_ELEMENTS / perSample));
        }
        FreeMemory free = backend.freeMemory();
        if (need.bytes(free) > free.bytes() && free.javaHeap()) {
            System.gc(); // what is in use counts garbage too: look again before refusing
            free = backend.freeMemory();
        }
        if (need.bytes(free) > free.bytes()) {
            throw new InputException(need.refusal(backend, data, model, config, free));
        }
    }

    private String refusal(Backend backend, DataSets data, Model model, TrainConfig config, FreeMemory free) {
        int batch = config.batchSize();
        String line = String.format(Locale.ROOT, "--batch-size %d needs about %s of %s and %s is free", batch,
                size(bytes(free)), free.where(), size(Math.max(0, free.bytes())));
        long fits = largestBatchThatFits(backend, data, model, config, free);
        String smaller = fits >= 1 ? "use --batch-size " + fits + " or less" : "even --batch-size 1 does not fit";
        if (!free.javaHeap()) {
            return line + ": " + smaller;
        }
        long inUse = Runtime.getRuntime().maxMemory() - free.bytes();
        long heapGib = (long) Math.ceil((inUse + bytes(free)) * 10 / 9 / GIB);
        return line + ": " + smaller + ", or give Java more memory (java -Xmx" + heapGib + "g -jar gpu-lenet.jar ...)";
    }

    /**
     * The largest batch whose need fits in 95% of what is free (what is in use differs a little from run
     * to run). The need is affine in the batch (per-sample buffers plus fixed ones): two estimates give the line.
     */
    private long largestBatchThatFits(Backend backend, DataSets data, Model model, TrainConfig config, FreeMemory free) {
        int batch = config.batchSize();
        if (batch < 2) {
            return 0;
        }
        int half = batch / 2;
        long atHalf = of(backend, data, model, config, half).bytes(free);
        double perSample = (double) (bytes(free) - atHalf) / (batch - half);
        double fixed = atHalf - perSample * half;
        return (long) Math.floor((0.95 * free.bytes() - fixed) / perSample);
    }

    private static String size(long bytes) {
        return bytes >= GIB ? String.format(Locale.ROOT, "%.1f GiB", bytes / GIB)
                : String.format(Locale.ROOT, "%d MiB", Math.round(bytes / (1024.0 * 1024)));
    }
}
