package gpulenet.backend;

/** {@link Backend#capture} could not record the ops; the message says why in one line. Nothing ran. */
public final class CaptureFailedException extends RuntimeException {
    public CaptureFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
