package gpulenet.backend.cuda;

import gpulenet.io.InputException;

/** CUDA cannot be used on this host; the message is the one-line reason (no driver, no device, ...). */
public class CudaUnavailableException extends InputException {
    public CudaUnavailableException(String reason) {
        super(reason);
    }
}
