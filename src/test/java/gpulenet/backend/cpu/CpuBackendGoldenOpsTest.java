package gpulenet.backend.cpu;

import gpulenet.backend.Backend;
import gpulenet.backend.BackendGoldenOpsContract;

class CpuBackendGoldenOpsTest extends BackendGoldenOpsContract {
    @Override
    protected Backend createBackend() {
        return new CpuBackend(2);
    }
}
