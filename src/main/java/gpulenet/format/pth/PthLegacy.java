package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.StorageRef;
import gpulenet.io.InputException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The stream torch.save wrote before PyTorch 1.6 (and writes with {@code _use_new_zipfile_serialization=False}):
 * five pickles in a row (a magic number, the protocol version 1001, a sys-info dict, the object, the sorted list
 * of storage keys), then each storage in that order as an int64 element count and its raw bytes.
 */
final class PthLegacy {
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final long PROTOCOL = 1001;

    private PthLegacy() {
    }

    /** PROTO 2 then LONG1 of 10 bytes: the start of the magic number's pickle. */
    static boolean looksLikeLegacy(byte[] head) {
        return head.length >= 4 && (head[0] & 0xff) == 0x80 && head[1] == 2 && (head[2] & 0xff) == 0x8a && head[3] == 10;
    }

    static PthArchive read(String source, byte[] file) {
        int end = file.length;
        PickleReader.Loaded magic = PickleReader.load(source, file, 0, end, noStorage(source));
        if (!MAGIC.equals(magic.value())) {
            throw new InputException(source + ": not a PyTorch file (its magic number is wrong)");
        }
        PickleReader.Loaded protocol = PickleReader.load(source, file, magic.end(), end, noStorage(source));
        if (!Long.valueOf(PROTOCOL).equals(protocol.value())) {
            throw new InputException(source + ": legacy protocol version " + (protocol.value() instanceof Long v ? v : "?")
                    + " is not read (only " + PROTOCOL + ")");
        }
        PickleReader.Loaded sysInfo = PickleReader.load(source, file, protocol.end(), end, noStorage(source));
        if (!(sysInfo.value() instanceof Map<?, ?> info) || !Boolean.TRUE.equals(info.get("little_endian"))) {
            throw new InputException(source + ": written on a big-endian machine or without sys info: not read");
        }
        PthArchive.References refs = new PthArchive.References(source);
        int pickleEnd = Math.min(end, sysInfo.end() + PthZip.MAX_PICKLE_BYTES);
        PickleReader.Loaded object = PickleReader.load(source, file, sysInfo.end(), pickleEnd,
                pid -> refs.add(TorchGlobals.storage(pid, true, source)));
        PickleReader.Loaded keys = PickleReader.load(source, file, object.end(), Math.min(end, object.end() + PthZip.MAX_PICKLE_BYTES),
                noStorage(source));
        if (!(keys.value() instanceof List<?> list) || !list.stream().allMatch(k -> k instanceof String)) {
            throw new InputException(source + ": corrupt: the storage key list is " + PickleValues.typeName(keys.value()));
        }
        Map<String, ByteBuffer> storages = new HashMap<>();
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).position(keys.end());
        for (Object k : list) {
            StorageRef ref = refs.byKey().get((String) k);
            if (ref == null || storages.containsKey(ref.key())) {
                throw new InputException(source + ": corrupt: storage key " + k + (ref == null ? " is not used by any tensor"
                        : " is listed twice"));
            }
            if (in.remaining() < 8) {
                throw new InputException(source + ": truncated: the file ends before storage " + k);
            }
            long count = in.getLong();
            if (count != ref.numel()) {
                throw new InputException(source + ": storage " + k + " holds " + count + " elements, its tensors say " + ref.numel());
            }
            int bytes = (int) refs.bytesNeeded(ref, in.remaining());
            storages.put(ref.key(), in.slice(in.position(), bytes));
            in.position(in.position() + bytes);
        }
        if (storages.size() != refs.byKey().size()) {
            throw new InputException(source + ": corrupt: " + (refs.byKey().size() - storages.size())
                    + " storages the tensors use are not in the file");
        }
        if (in.hasRemaining()) {
            throw new InputException(source + ": corrupt: " + in.remaining() + " bytes after the last storage");
        }
        return new PthArchive(object.value(), storages, null);
    }

    /** The header pickles and the key list name no storage. */
    private static Function<Object, StorageRef> noStorage(String source) {
        return pid -> {
            throw new InputException(source + ": corrupt: a storage outside the object's pickle");
        };
    }
}
