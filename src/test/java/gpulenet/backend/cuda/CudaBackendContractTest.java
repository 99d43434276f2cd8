package gpulenet.backend.cuda;

import gpulenet.backend.Backend;
import gpulenet.backend.BackendGoldenOpsContract;
import gpulenet.backend.BackendGradientContract;
import org.junit.jupiter.api.Nested;

/**
 * The CPU backend's op contracts (PyTorch golden ops, same tolerances; odd-shape gradients) on the CUDA
 * backend over the emulated driver, once with the linear layers on cuBLAS (the reference cublasSgemm,
 * so the row-major to column-major mapping is what is checked) and once on the sgemm kernel.
 */
class CudaBackendContractTest {

    private static Backend cuda(GemmChoice gemm) {
        return new CudaBackend(new EmulatedDriver(true), gemm);
    }

    @Nested
    class GoldenOpsOnCublas extends BackendGoldenOpsContract {
        @Override
        protected Backend createBackend() {
            return cuda(GemmChoice.CUBLAS);
        }
    }

    @Nested
    class GoldenOpsOnSgemmKernel extends BackendGoldenOpsContract {
        @Override
        protected Backend createBackend() {
            return cuda(GemmChoice.KERNEL);
        }
    }

    @Nested
    class GradientsOnCublas extends BackendGradientContract {
        @Override
        protected Backend createBackend() {
            return cuda(GemmChoice.CUBLAS);
        }
    }

    @Nested
    class GradientsOnSgemmKernel extends BackendGradientContract {
        @Override
        protected Backend createBackend() {
            return cuda(GemmChoice.KERNEL);
        }
    }
}
