package gpulenet.format.pth;

import java.nio.ByteBuffer;

/** The element types of PyTorch's storage classes, and how each becomes float32. */
enum Dtype {
    FLOAT32("FloatStorage", "float32", 4),
    FLOAT64("DoubleStorage", "float64", 8),
    FLOAT16("HalfStorage", "float16", 2),
    BFLOAT16("BFloat16Storage", "bfloat16", 2),
    INT64("LongStorage", "int64", 8),
    INT32("IntStorage", "int32", 4),
    INT16("ShortStorage", "int16", 2),
    INT8("CharStorage", "int8", 1),
    UINT8("ByteStorage", "uint8", 1),
    BOOL("BoolStorage", "bool", 1);

    final String storageClass;
    final String pythonName;
    final int bytes;

    Dtype(String storageClass, String pythonName, int bytes) {
        this.storageClass = storageClass;
        this.pythonName = pythonName;
        this.bytes = bytes;
    }

    /** The dtype of {@code torch.<storageClass>}, or null. */
    static Dtype ofStorageClass(String name) {
        for (Dtype d : values()) {
            if (("torch." + d.storageClass).equals(name)) {
                return d;
            }
        }
        return null;
    }

    boolean isFloating() {
        return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
    }

    /** Element {@code index} of a little-endian buffer of this type, as float32 (rounded to nearest for float64). */
    float floatAt(ByteBuffer le, long index) {
        int at = Math.toIntExact(index * bytes);
        return switch (this) {
            case FLOAT32 -> le.getFloat(at);
            case FLOAT64 -> (float) le.getDouble(at);
            case FLOAT16 -> halfToFloat(le.getShort(at));
            case BFLOAT16 -> Float.intBitsToFloat((le.getShort(at) & 0xffff) << 16);
            default -> throw new IllegalStateException(this + " is not floating");
        };
    }

    /** IEEE binary16 to binary32, exactly (every half is a float). */
    static float halfToFloat(short h) {
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
