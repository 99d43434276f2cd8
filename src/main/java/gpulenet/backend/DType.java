package gpulenet.backend;

/** Element types a backend tensor can hold. */
public enum DType {
    F32(4), I32(4), U8(1);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }
}
