package gpulenet.io;

/**
 * Bad input from the user: a missing or malformed file, a bad flag value, an unusable checkpoint, a
 * device that was asked for but cannot be used. The CLI prints the message as one line and exits 2,
 * so the message must say what is wrong and where (file name, flag) on its own.
 */
public class InputException extends RuntimeException {
    public InputException(String message) {
        super(message);
    }

    public InputException(String message, Throwable cause) {
        super(message, cause);
    }
}
