package gpulenet.format.pth;

import gpulenet.format.Checkpoint;
import gpulenet.format.Safetensors;
import gpulenet.format.pth.PickleValues.TensorRef;
import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.InputFiles;
import gpulenet.io.IoReasons;
import org.apache.commons.compress.archivers.zip.Zip64Mode;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.apache.commons.compress.utils.SeekableInMemoryByteChannel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * PyTorch's own checkpoint file, both ways. Read: the zip torch.save writes since 1.6 and the stream it wrote
 * before, holding a state_dict or a dict holding one; floating tensors of any stride become float32. Written:
 * a zip that {@code torch.load(PATH)} reads as a bare state_dict (so {@code model.load_state_dict(torch.load(PATH))}
 * works as in the tutorials), with this project's optimizer state and metadata in one more record,
 * {@code archive/gpu-lenet.safetensors}, which PyTorch does not read, so a run resumes from a .pth exactly as
 * from a safetensors checkpoint.
 */
public final class PthFile {
    private static final String PREFIX = "archive";
    private static final int ALIGNMENT = 64;

    private PthFile() {
    }

    /** Whether {@code path} names a .pth or .pt file (what {@code --save} writes as PyTorch's format). */
    public static boolean hasPthName(Path path) {
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".pth") || name.endsWith(".pt");
    }

    /**
     * Whether {@code path} is to be read as a PyTorch file: its name ends in .pth or .pt, or it starts as the
     * zip or the legacy stream does. The path is checked to be a regular file first (a FIFO is never opened).
     */
    public static boolean isPth(Path path) {
        InputFiles.requireRegularFile(path);
        if (hasPthName(path)) {
            return true;
        }
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(path)) {
            int n = in.readNBytes(head, 0, head.length);
            return n == head.length && (PthZip.looksLikeZip(head) || PthLegacy.looksLikeLegacy(head));
        } catch (IOException e) {
            throw new InputException(path + ": cannot read: " + IoReasons.reason(e));
        }
    }

    /** Reads a PyTorch file as a checkpoint; every problem with it is one line naming it. */
    public static Checkpoint read(Path path) {
        String source = path.toString();
        long size = InputFiles.requireRegularFile(path);
        if (size > Safetensors.MAX_FILE_BYTES) {
            throw new InputException(source + ": " + size + " bytes, too large for a checkpoint (at most "
                    + Safetensors.MAX_FILE_BYTES + " bytes are read)");
        }
        byte[] file;
        try {
            file = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new InputException(source + ": cannot read: " + IoReasons.reason(e));
        }
        return parse(source, file);
    }

    /** As {@link #read}, from the file's bytes. */
    public static Checkpoint parse(String source, byte[] file) {
        byte[] head = Arrays.copyOf(file, Math.min(4, file.length));
        PthArchive archive;
        if (PthZip.looksLikeZip(head)) {
            archive = PthZip.read(source, file);
        } else if (PthLegacy.looksLikeLegacy(head)) {
            archive = PthLegacy.read(source, file);
        } else {
            throw new InputException(source + ": not a PyTorch file: neither the zip torch.save writes nor its legacy stream"
                    + " (the tar files of PyTorch before 0.4 are not read)");
        }
        StateDictChoice choice = StateDictChoice.of(archive.top(), source);
        List<String> notes = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        if (choice.key() != null) {
            notes.add(source + ": using the state_dict under '" + choice.key() + "'"
                    + (choice.epoch() != null ? " (epoch " + choice.epoch() + ")" : ""));
            if (choice.epoch() != null) {
                metadata.put(Checkpoint.EPOCH, Long.toString(choice.epoch()));
            }
        }
        Map<String, Checkpoint.Stored> tensors = new LinkedHashMap<>();
        Map<Dtype, List<String>> converted = new TreeMap<>();
        long elements = 0;
        for (Map.Entry<String, TensorRef> e : choice.tensors().entrySet()) {
            TensorRef t = e.getValue();
            Dtype dtype = t.storage().dtype();
            if (!dtype.isFloating()) {
                throw new InputException(source + ": tensor " + e.getKey() + " is " + dtype.pythonName
                        + ": only floating-point state_dicts are read");
            }
            elements += t.numel();
            if (elements > file.length) {
                throw new InputException(source + ": its tensors hold more elements than the file has bytes"
                        + " (an expanded view of a small storage is not read)");
            }
            if (dtype != Dtype.FLOAT32) {
                converted.computeIfAbsent(dtype, d -> new ArrayList<>()).add(e.getKey());
            }
            tensors.put(e.getKey(), new Checkpoint.Stored(shape(t, e.getKey(), source), TensorData.floats(t, archive.bytes(t.storage()))));
        }
        converted.forEach((dtype, names) -> notes.add(source + ": converted " + names.size() + " " + dtype.pythonName
                + " tensor" + (names.size() == 1 ? "" : "s") + " to float32 (" + String.join(", ", names) + ")"));
        if (archive.extra() != null) {
            addExtra(source, archive.extra(), tensors, metadata);
        }
        return Checkpoint.of(source, tensors, metadata, notes);
    }

    private static int[] shape(TensorRef t, String name, String source) {
        int[] shape = new int[t.size().length];
        for (int i = 0; i < shape.length; i++) {
            if (t.size()[i] > Integer.MAX_VALUE) {
                throw new InputException(source + ": tensor " + name + " has a dimension of " + t.size()[i]);
            }
            shape[i] = (int) t.size()[i];
        }
        return shape;
    }

    /** The optimizer state and metadata a file written here carries beside its state_dict. */
    private static void addExtra(String source, byte[] extra, Map<String, Checkpoint.Stored> tensors, Map<String, String> metadata) {
        Safetensors st = Safetensors.parse(source + ": " + PREFIX + "/" + PthZip.EXTRA, extra);
        for (String name : st.names()) {
            if (!name.startsWith(Checkpoint.OPTIMIZER_PREFIX)) {
                throw new InputException(source + ": " + PthZip.EXTRA + " holds " + name + ", which is not optimizer state");
            }
            int[] shape = st.shape(name);
            tensors.put(name, new Checkpoint.Stored(shape, st.floats(name, shape)));
        }
        metadata.putAll(st.metadata());
    }

    /**
     * Writes {@code checkpoint} atomically as a .pth: the weights as a state_dict pickle with one storage per
     * tensor, the optimizer state and metadata in the gpu-lenet record.
     */
    public static void write(Checkpoint checkpoint, Path path) throws IOException {
        AtomicFile.write(path, toBytes(checkpoint));
    }

    static byte[] toBytes(Checkpoint checkpoint) throws IOException {
        PickleWriter pickle = new PickleWriter().beginOrderedDict();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        Safetensors.Writer extra = new Safetensors.Writer();
        for (Map.Entry<String, Checkpoint.Stored> e : checkpoint.tensors().entrySet()) {
            Checkpoint.Stored t = e.getValue();
            if (e.getKey().startsWith(Checkpoint.OPTIMIZER_PREFIX)) {
                extra.add(e.getKey(), t.shape(), t.data());
                continue;
            }
            String key = Integer.toString(storages.size());
            pickle.tensor(e.getKey(), t.shape(), key);
            ByteBuffer b = ByteBuffer.allocate(t.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(t.data());
            storages.put(key, b.array());
        }
        checkpoint.metadata().forEach(extra::metadata);
        SeekableInMemoryByteChannel channel = new SeekableInMemoryByteChannel();
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(channel)) {
            zip.setUseZip64(Zip64Mode.Never);
            put(zip, PthZip.DATA_PKL, pickle.endOrderedDict(), 1);
            put(zip, "byteorder", "little".getBytes(StandardCharsets.US_ASCII), 1);
            for (Map.Entry<String, byte[]> s : storages.entrySet()) {
                put(zip, "data/" + s.getKey(), s.getValue(), ALIGNMENT);
            }
            put(zip, "version", "3\n".getBytes(StandardCharsets.US_ASCII), 1);
            put(zip, PthZip.EXTRA, extra.toBytes(), ALIGNMENT);
        }
        return Arrays.copyOf(channel.array(), (int) channel.size());
    }

    /** One stored (uncompressed) record, its data aligned as torch.save aligns storages. */
    private static void put(ZipArchiveOutputStream zip, String name, byte[] data, int alignment) throws IOException {
        ZipArchiveEntry e = new ZipArchiveEntry(PREFIX + "/" + name);
        e.setMethod(ZipArchiveEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        if (alignment > 1) {
            e.setAlignment(alignment);
        }
        zip.putArchiveEntry(e);
        zip.write(data);
        zip.closeArchiveEntry();
    }
}
