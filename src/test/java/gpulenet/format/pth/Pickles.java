package gpulenet.format.pth;

import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.apache.commons.compress.utils.SeekableInMemoryByteChannel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/** Hand-written pickles and the zips and legacy streams that carry them, for tests of what the reader refuses. */
public final class Pickles {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    /** Whether storages are named as in the legacy stream (with a sixth field, view_metadata None). */
    private final boolean legacy;

    Pickles(boolean legacy) {
        this.legacy = legacy;
    }

    public static Pickles proto2() {
        return proto2(false);
    }

    static Pickles proto2(boolean legacy) {
        Pickles p = new Pickles(legacy);
        p.out.write(0x80);
        p.out.write(2);
        return p;
    }

    public Pickles op(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    boolean legacy() {
        return legacy;
    }

    Pickles raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    public Pickles global(String module, String name) {
        return op('c').ascii(module + "\n" + name + "\n");
    }

    Pickles ascii(String s) {
        out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    public Pickles str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X', b.length & 0xff, (b.length >>> 8) & 0xff, (b.length >>> 16) & 0xff, b.length >>> 24);
        out.writeBytes(b);
        return this;
    }

    Pickles integer(int v) {
        return op('J', v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    }

    /** ('storage', torch.FloatStorage, key, 'cpu', numel[, None]) BINPERSID. */
    Pickles storage(String key, int numel) {
        op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel);
        return (legacy ? op('N') : this).op('t', 'Q');
    }

    /** _rebuild_tensor_v2(storage key, offset, (size...), (stride...), False, OrderedDict()). */
    Pickles tensor(String key, int numel, int offset, int[] size, int[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").op('(').storage(key, numel).integer(offset).op('(');
        for (int s : size) {
            integer(s);
        }
        op('t', '(');
        for (int s : stride) {
            integer(s);
        }
        return op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
    }

    public byte[] stop() {
        return op('.').bytes();
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** A zip as torch.save writes it: archive/data.pkl, archive/version, and the given storages (all stored). */
    public static byte[] zip(byte[] pickle, Map<String, byte[]> storages) {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("archive/data.pkl", pickle);
        storages.forEach((k, v) -> records.put("archive/data/" + k, v));
        records.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return zipOf(records.entrySet(), ZipArchiveEntry.STORED);
    }

    static byte[] zipOf(Collection<Map.Entry<String, byte[]>> records, int method) {
        try {
            SeekableInMemoryByteChannel channel = new SeekableInMemoryByteChannel();
            try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(channel)) {
                for (Map.Entry<String, byte[]> r : records) {
                    ZipArchiveEntry e = new ZipArchiveEntry(r.getKey());
                    e.setMethod(method);
                    e.setSize(r.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(r.getValue());
                    e.setCrc(crc.getValue());
                    zip.putArchiveEntry(e);
                    zip.write(r.getValue());
                    zip.closeArchiveEntry();
                }
            }
            return Arrays.copyOf(channel.array(), (int) channel.size());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The legacy stream around {@code object}: magic, protocol 1001, sys info, the object, keys, storages. */
    public static byte[] legacy(byte[] object, Map<String, byte[]> storages) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(proto2().op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).stop());
        b.writeBytes(proto2().op('M', 0xe9, 0x03).stop());
        b.writeBytes(proto2().op('}', '(').str("protocol_version").op('M', 0xe9, 0x03).str("little_endian").op(0x88)
                .op('u').stop());
        b.writeBytes(object);
        Pickles keys = proto2().op(']', '(');
        storages.keySet().forEach(keys::str);
        b.writeBytes(keys.op('e').stop());
        storages.values().forEach(v -> {
            long n = v.length / 4;
            for (int i = 0; i < 8; i++) {
                b.write((int) (n >>> (8 * i)));
            }
            b.writeBytes(v);
        });
        return b.toByteArray();
    }
}
