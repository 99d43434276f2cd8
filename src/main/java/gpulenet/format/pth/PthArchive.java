package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.StorageRef;
import gpulenet.io.InputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * What a .pth file holds once its container is taken apart: the unpickled object, and the bytes of each
 * storage it refers to (each checked to hold at least as many elements as its persistent id says).
 *
 * @param top      the pickled object
 * @param storages each storage's little-endian bytes by key
 * @param extra    the gpu-lenet record of a file written here (optimizer state and metadata), or null
 */
record PthArchive(Object top, Map<String, ByteBuffer> storages, byte[] extra) {
    /** The bytes of {@code ref}'s storage. */
    ByteBuffer bytes(StorageRef ref) {
        return storages.get(ref.key()).duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The storages a pickle refers to: one dtype and size per key, however many tensors share it. */
    static final class References {
        private final String source;
        private final Map<String, StorageRef> byKey = new HashMap<>();

        References(String source) {
            this.source = source;
        }

        /** Records {@code ref}; the same key named again with another type or size is refused. */
        StorageRef add(StorageRef ref) {
            StorageRef before = byKey.putIfAbsent(ref.key(), ref);
            if (before != null && !before.equals(ref)) {
                throw new InputException(source + ": storage " + ref.key() + " is named as " + before.dtype().pythonName + " ["
                        + before.numel() + "] and as " + ref.dtype().pythonName + " [" + ref.numel() + "]");
            }
            return ref;
        }

        Map<String, StorageRef> byKey() {
            return byKey;
        }

        /** The bytes {@code ref} needs; more than the file has is one line. */
        long bytesNeeded(StorageRef ref, long available) {
            if (ref.numel() > available / ref.dtype().bytes) {
                throw new InputException(source + ": storage " + ref.key() + " should hold " + ref.numel() + " "
                        + ref.dtype().pythonName + " elements, but only " + available + " bytes are there");
            }
            return ref.numel() * ref.dtype().bytes;
        }
    }
}
