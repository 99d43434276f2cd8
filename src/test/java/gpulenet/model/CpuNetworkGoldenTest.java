package gpulenet.model;

import gpulenet.backend.Backend;
import gpulenet.backend.cpu.CpuBackend;

/** Every preset's whole network on the CPU backend (two threads) against PyTorch; see {@link NetworkGoldenContract}. */
class CpuNetworkGoldenTest extends NetworkGoldenContract {
    @Override
    protected Backend createBackend() {
        return new CpuBackend(2);
    }
}
