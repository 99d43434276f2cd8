package gpulenet.backend.cpu;

import gpulenet.backend.Backend;
import gpulenet.backend.BackendGradientContract;

class CpuBackendGradientTest extends BackendGradientContract {
    @Override
    protected Backend createBackend() {
        return new CpuBackend(2);
    }
}
