package gpulenet.format.pth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a state_dict as torch.save pickles it (protocol 2): {@code OrderedDict} of
 * {@code _rebuild_tensor_v2(('storage', torch.FloatStorage, KEY, 'cpu', numel), 0, size, stride, False,
 * OrderedDict())}, contiguous float32 tensors, storage KEY = the tensor's index. Only what PyTorch's
 * weights-only loader admits is written, so {@code torch.load(PATH)} reads it with its default settings.
 */
final class PickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleWriter() {
        out.write(0x80);
        out.write(2);
    }

    /** Opens the OrderedDict and the MARK of its items. */
    PickleWriter beginOrderedDict() {
        global("collections", "OrderedDict");
        out.write(')');
        out.write('R');
        out.write('(');
        return this;
    }

    /** One item: {@code name} -> a float32 tensor of {@code shape} held by storage {@code key}. */
    PickleWriter tensor(String name, int[] shape, String key) {
        string(name);
        global("torch._utils", "_rebuild_tensor_v2");
        out.write('(');
        out.write('(');
        string("storage");
        global("torch", "FloatStorage");
        string(key);
        string("cpu");
        integer(numel(shape));
        out.write('t');
        out.write('Q');
        integer(0);
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        out.write('(');
        for (int d : shape) {
            integer(d);
        }
        out.write('t');
        out.write('(');
        for (long d : stride) {
            integer(d);
        }
        out.write('t');
        out.write(0x89);
        global("collections", "OrderedDict");
        out.write(')');
        out.write('R');
        out.write('t');
        out.write('R');
        return this;
    }

    /** Closes the items (SETITEMS) and the pickle (STOP). */
    byte[] endOrderedDict() {
        out.write('u');
        out.write('.');
        return out.toByteArray();
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private void global(String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private void string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        int32(b.length);
        out.writeBytes(b);
    }

    private void integer(long v) {
        if (v >= 0 && v < 256) {
            out.write('K');
            out.write((int) v);
        } else if (v >= 0 && v < 65536) {
            out.write('M');
            out.write((int) v & 0xff);
            out.write((int) (v >>> 8));
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            out.write('J');
            int32((int) v);
        } else {
            out.write(0x8a);
            out.write(8);
            for (int i = 0; i < 8; i++) {
                out.write((int) (v >>> (8 * i)));
            }
        }
    }

    private void int32(int v) {
        for (int i = 0; i < 4; i++) {
            out.write(v >>> (8 * i));
        }
    }
}
