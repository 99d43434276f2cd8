package gpulenet.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, as TensorFlow's record writer and TensorBoard's reader use it: uint64 length
 * (little-endian), masked CRC32C of those 8 bytes, the data, masked CRC32C of the data.
 */
final class TfRecord {
    private static final int MASK_DELTA = 0xa282ead8;

    private TfRecord() {
    }

    /** {@code data} framed as one record. */
    static byte[] frame(byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(data.length);
        b.putInt(maskedCrc(b.array(), 0, 8));
        b.put(data);
        b.putInt(maskedCrc(data, 0, data.length));
        return b.array();
    }

    /** TensorFlow's masked CRC32C: the CRC rotated right by 15 bits plus a constant. */
    static int maskedCrc(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }
}
