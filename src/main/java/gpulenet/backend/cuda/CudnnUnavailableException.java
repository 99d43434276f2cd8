package gpulenet.backend.cuda;

/** cuDNN cannot be used here; the message is the one-line reason, with what to install or set. */
public class CudnnUnavailableException extends RuntimeException {
    public CudnnUnavailableException(String reason) {
        super(reason);
    }
}
