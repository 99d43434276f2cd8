package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.model.Model;
import gpulenet.model.Network;
import gpulenet.model.Parameters;
import gpulenet.model.Presets;
import gpulenet.optim.Optimizer;
import gpulenet.optim.Optimizers;
import gpulenet.train.TrainingStep;

import java.util.SplittableRandom;

/**
 * A preset's network, parameters (seed 42) and optimizer on a backend, with a small data set of random
 * uint8 images and labels uploaded there and a fixed batch order {@code order[i] = (i * stride + offset) %
 * samples}: what the CUDA-vs-CPU step tests train on. What is learned does not matter.
 */
record TrainingFixture(Tensor images, Tensor labels, Tensor order, Network net, Parameters params,
                       Optimizer optimizer, TrainingStep step) {

    static TrainingFixture of(Backend backend, Presets.Preset preset, int samples, int batch, long dataSeed, int stride,
                              int offset, float momentum) {
        Model model = preset.model();
        int size = model.inputSize(28);
        SplittableRandom rng = new SplittableRandom(dataSeed);
        byte[] images = new byte[samples * size * size];
        byte[] labels = new byte[samples];
        int[] order = new int[samples];
        for (int i = 0; i < images.length; i++) {
            images[i] = (byte) rng.nextInt(256);
        }
        for (int i = 0; i < samples; i++) {
            labels[i] = (byte) rng.nextInt(Model.CLASSES);
            order[i] = (i * stride + offset) % samples;
        }
        Tensor imagesT = backend.allocate(DType.U8, samples, size, size);
        Tensor labelsT = backend.allocate(DType.U8, samples);
        Tensor orderT = backend.allocate(DType.I32, samples);
        backend.upload(imagesT, images);
        backend.upload(labelsT, labels);
        backend.upload(orderT, order);
        Parameters params = new Parameters(backend, model.parameterShapes());
        params.initialize(42);
        Network net = Network.forTraining(backend, model, params, size, size, batch);
        Optimizer optimizer = Optimizers.create(preset.defaults().optimizer(), params, momentum, 0f);
        return new TrainingFixture(imagesT, labelsT, orderT, net, params, optimizer, new TrainingStep(net, optimizer));
    }

    /** Gathers order[start .. start+batch) into the network's input. */
    void gather(int start, int batch) {
        net.gather(images, labels, order, start, batch);
    }
}
