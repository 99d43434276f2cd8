package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.model.NetworkGoldenContract;

/**
 * {@link CudaNetworkGoldenTest} with `--conv cudnn`: every preset's step and trajectory against PyTorch, with
 * the convolutions, max-pools and ReLUs through cuDNN's calls ({@link EmulatedCudnn}) and the rest on the
 * emulated kernels, every step after the first replayed from a captured graph; see {@link NetworkGoldenContract}.
 */
class CudnnNetworkGoldenTest extends CudaNetworkGoldenTest {
    @Override
    protected Backend createBackend() {
        return new CudaBackend(new EmulatedDriver(true), GemmChoice.KERNEL, ConvChoice.CUDNN);
    }
}
