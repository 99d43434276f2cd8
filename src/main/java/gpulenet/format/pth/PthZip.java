package gpulenet.format.pth;

import gpulenet.format.pth.PickleValues.StorageRef;
import gpulenet.io.InputException;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.apache.commons.compress.utils.SeekableInMemoryByteChannel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The zip format torch.save writes since PyTorch 1.6: {@code PREFIX/data.pkl}, {@code PREFIX/data/KEY} (one raw
 * storage each), {@code PREFIX/version}, {@code PREFIX/byteorder}. Every record is stored uncompressed, so
 * nothing is ever inflated (a zip bomb has nothing to expand): a compressed or encrypted record is refused, as
 * are a name that would leave the archive, a name given twice, a record whose bytes lie beyond the file or fail
 * their CRC, and a storage shorter than its tensors need.
 */
final class PthZip {
    static final String DATA_PKL = "data.pkl";
    static final String EXTRA = "gpu-lenet.safetensors";
    /** A state_dict's pickle is some KiB; this bounds the reader's stack and memo with room to spare. */
    static final int MAX_PICKLE_BYTES = 8 << 20;
    /** The archive format versions PyTorch 1.6 to 2.x write. */
    private static final Set<String> VERSIONS = Set.of("1", "2", "3");
    private static final Pattern PICKLE = Pattern.compile("([^/]+)/" + Pattern.quote(DATA_PKL));

    private final String source;
    private final byte[] file;
    private final Map<String, ZipArchiveEntry> entries = new HashMap<>();

    private PthZip(String source, byte[] file) {
        this.source = source;
        this.file = file;
    }

    static boolean looksLikeZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    static PthArchive read(String source, byte[] file) {
        return new PthZip(source, file).read();
    }

    private PthArchive read() {
        listEntries();
        String prefix = prefix();
        String version = text(prefix + "/version", true);
        if (!VERSIONS.contains(version)) {
            throw new InputException(source + ": archive format version " + version + " is not read (PyTorch 1.6 to 2.x write "
                    + String.join(", ", VERSIONS.stream().sorted().toList()) + ")");
        }
        String byteorder = text(prefix + "/byteorder", false);
        if (byteorder != null && !byteorder.equals("little")) {
            throw new InputException(source + ": storages are " + byteorder + "-endian: only little-endian files are read");
        }
        byte[] pickle = bytes(prefix + "/" + DATA_PKL, MAX_PICKLE_BYTES);
        PthArchive.References refs = new PthArchive.References(source);
        Map<String, ByteBuffer> storages = new HashMap<>();
        Object top = PickleReader.load(source + ": " + prefix + "/" + DATA_PKL, pickle, 0, pickle.length, pid -> {
            StorageRef ref = refs.add(TorchGlobals.storage(pid, false, source));
            storages.computeIfAbsent(ref.key(), key -> {
                String name = prefix + "/data/" + key;
                ZipArchiveEntry e = entry(name, true);
                refs.bytesNeeded(ref, e.getSize());
                return record(name, Integer.MAX_VALUE);
            });
            refs.bytesNeeded(ref, storages.get(ref.key()).capacity());
            return ref;
        }).value();
        ZipArchiveEntry extra = entry(prefix + "/" + EXTRA, false);
        return new PthArchive(top, storages, extra == null ? null : bytes(prefix + "/" + EXTRA, Integer.MAX_VALUE));
    }

    /** Reads the central directory, refusing names that leave the archive and names given twice. */
    private void listEntries() {
        List<ZipArchiveEntry> all;
        try (ZipFile zip = ZipFile.builder().setSeekableByteChannel(new SeekableInMemoryByteChannel(file)).get()) {
            all = new ArrayList<>(Collections.list(zip.getEntries()));
        } catch (IOException | RuntimeException e) {
            throw new InputException(source + ": not a readable zip archive: " + reason(e));
        }
        Set<String> seen = new HashSet<>();
        for (ZipArchiveEntry e : all) {
            String name = e.getName();
            if (name.startsWith("/") || name.contains("\\") || name.contains("\0") || name.matches("(.*/)?\\.\\.(/.*)?")
                    || name.matches("[A-Za-z]:.*")) {
                throw new InputException(source + ": refusing the archive: the record name '" + printable(name)
                        + "' would leave the archive");
            }
            if (!seen.add(name)) {
                throw new InputException(source + ": refusing the archive: the record " + printable(name) + " appears twice");
            }
            entries.put(name, e);
        }
    }

    /** The one top-level folder holding data.pkl (archive/ in PyTorch 2.x, the file's stem in 1.6). */
    private String prefix() {
        List<String> prefixes = new ArrayList<>();
        for (String name : entries.keySet()) {
            Matcher m = PICKLE.matcher(name);
            if (m.matches()) {
                prefixes.add(m.group(1));
            }
        }
        if (prefixes.size() != 1) {
            throw new InputException(source + ": a zip, but not one torch.save wrote: " + (prefixes.isEmpty()
                    ? "no FOLDER/" + DATA_PKL + " in it" : prefixes.size() + " FOLDER/" + DATA_PKL + " records in it"));
        }
        return prefixes.get(0);
    }

    private ZipArchiveEntry entry(String name, boolean required) {
        ZipArchiveEntry e = entries.get(name);
        if (e == null && required) {
            throw new InputException(source + ": the archive has no record " + printable(name));
        }
        return e;
    }

    /** A short text record (version, byteorder), trimmed; null when it is absent and not required. */
    private String text(String name, boolean required) {
        if (entry(name, required) == null) {
            return null;
        }
        return printable(new String(bytes(name, 64), java.nio.charset.StandardCharsets.US_ASCII).trim());
    }

    private byte[] bytes(String name, int max) {
        ByteBuffer r = record(name, max);
        byte[] out = new byte[r.remaining()];
        r.get(out);
        return out;
    }

    /**
     * A record's bytes, a view into the file: it must be stored (not compressed, not encrypted), lie within
     * the file, be at most {@code max} bytes and match its CRC.
     */
    private ByteBuffer record(String name, int max) {
        ZipArchiveEntry e = entry(name, true);
        if (e.getGeneralPurposeBit().usesEncryption()) {
            throw new InputException(source + ": record " + printable(name) + " is encrypted");
        }
        if (e.getMethod() != ZipArchiveEntry.STORED) {
            throw new InputException(source + ": record " + printable(name) + " is compressed (method " + e.getMethod()
                    + "); torch.save stores records uncompressed, and compressed ones are not read");
        }
        long size = e.getSize();
        long offset = e.getDataOffset();
        if (size < 0 || offset < 0 || size > file.length - offset || e.getCompressedSize() != size) {
            throw new InputException(source + ": record " + printable(name) + " claims " + size + " bytes at offset " + offset
                    + ", beyond the file's " + file.length + " bytes");
        }
        if (size > max) {
            throw new InputException(source + ": record " + printable(name) + " is " + size + " bytes, more than the "
                    + max + " read");
        }
        CRC32 crc = new CRC32();
        crc.update(file, (int) offset, (int) size);
        if (crc.getValue() != e.getCrc()) {
            throw new InputException(source + ": record " + printable(name) + " is corrupt (CRC mismatch)");
        }
        return ByteBuffer.wrap(file, (int) offset, (int) size).slice();
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : printable(m);
    }

    private static String printable(String s) {
        String cut = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
