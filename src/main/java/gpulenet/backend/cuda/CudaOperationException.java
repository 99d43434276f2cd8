package gpulenet.backend.cuda;

/** A CUDA call failed; the message names the operation or kernel and the CUDA error. */
public class CudaOperationException extends RuntimeException {
    public CudaOperationException(String message) {
        super(message);
    }

    public CudaOperationException(String message, Throwable cause) {
        super(message, cause);
    }
}
