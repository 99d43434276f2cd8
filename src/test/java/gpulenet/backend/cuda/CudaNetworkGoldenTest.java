package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.model.NetworkGoldenContract;

/**
 * Every preset's whole network on the CUDA backend over the emulated driver (the shipped kernels compiled for
 * the host, the sgemm kernel for the linear layers) against PyTorch; see {@link NetworkGoldenContract}.
 */
class CudaNetworkGoldenTest extends NetworkGoldenContract {
    /**
     * cnn3's steps of the trajectory run here. The emulated kernels run on the CPU, and cnn3's 30 steps took
     * 48 s alone and 58 s within the whole suite on a 2-core machine (lenet5's 60 steps about 20 s, cnn-dropout's
     * 30 about 23 s). Ten steps still take Adam's moments and bias corrections through ten updates; their
     * losses are compared with PyTorch's and the parameters after them with the CPU backend's (which runs all
     * 30 steps against PyTorch's final parameters in CpuNetworkGoldenTest).
     */
    private static final int CNN3_STEPS = 10;

    @Override
    protected Backend createBackend() {
        return new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL);
    }

    @Override
    protected int trajectorySteps(String preset, int goldenSteps) {
        return preset.equals("cnn3") ? Math.min(CNN3_STEPS, goldenSteps) : goldenSteps;
    }
}
