package gpulenet.format.pth;

import gpulenet.format.Checkpoint;
import gpulenet.io.InputException;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Hostile and malformed files, each refused with one line naming what was found, and nothing run: the
 * weights-only bypass styles (a forbidden global called, an object built from a class by INST, OBJ, NEWOBJ or
 * STACK_GLOBAL, a REDUCE on something that is not an allowed callable, BUILD used to set a tensor's or a
 * dict's state, a persistent id that is not a storage, a tensor view outside its storage), the limits on the
 * interpreter, and the zip's own attacks (path traversal, a record given twice, compressed and encrypted
 * records, a zip bomb, sizes beyond the file).
 */
class PthRefusalTest {
    static final float[] VALUES = {1.5f, -2f, 3.25f, 0.5f, -1f, 4f};

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    /** OrderedDict(w = 2x3 view of storage "0"), with the tensor's pickle given. */
    static byte[] stateDict(Pickles tensor) {
        Pickles p = Pickles.proto2(tensor.legacy()).global("collections", "OrderedDict").op(')', 'R', '(').str("w");
        return p.raw(tensor.bytes()).op('u').stop();
    }

    static Pickles tensorOp(boolean legacy, int numel, int offset, int[] size, int[] stride) {
        return new Pickles(legacy).tensor("0", numel, offset, size, stride);
    }

    static Map<String, byte[]> storage0() {
        return Map.of("0", floats(VALUES));
    }

    static String refusal(byte[] file) {
        return assertThrows(InputException.class, () -> PthFile.parse("f.pth", file)).getMessage();
    }

    @Test
    void theHandWrittenStateDictLoadsFromTheZipAndTheLegacyStreamSoTheRefusalsBelowAreForTheirOwnReason() {
        for (byte[] file : new byte[][]{Pickles.zip(stateDict(tensorOp(false, 6, 0, new int[]{2, 3}, new int[]{3, 1})), storage0()),
                Pickles.legacy(stateDict(tensorOp(true, 6, 0, new int[]{2, 3}, new int[]{3, 1})), storage0())}) {
            Checkpoint c = PthFile.parse("f.pth", file);
            assertArrayEquals(VALUES, c.tensors().get("w").data());
            assertArrayEquals(new int[]{2, 3}, c.tensors().get("w").shape());
        }
    }

    @Test
    void aTransposedAndAnOffsetViewReadAsTheirContiguousCopies() {
        byte[] transposed = stateDict(tensorOp(false, 6, 0, new int[]{3, 2}, new int[]{1, 3}));
        assertArrayEquals(new float[]{1.5f, 0.5f, -2f, -1f, 3.25f, 4f},
                PthFile.parse("f.pth", Pickles.zip(transposed, storage0())).tensors().get("w").data());
        byte[] slice = stateDict(tensorOp(true, 6, 1, new int[]{2, 2}, new int[]{3, 1}));
        assertArrayEquals(new float[]{-2f, 3.25f, -1f, 4f},
                PthFile.parse("f.pth", Pickles.legacy(slice, storage0())).tensors().get("w").data());
    }

    /** A case: what it is, its pickle for the zip (false) and the legacy stream (true), and what the refusal says. */
    static Arguments hostile(String what, Function<Boolean, byte[]> pickle, String expected) {
        return arguments(what, pickle, expected);
    }

    @Test
    void python2sOrderedDictOfItemListsReadsAsOne() {
        byte[] pickle = Pickles.proto2(true).global("collections", "OrderedDict").op('(', ']', '(', ']', '(')
                .str("w").raw(tensorOp(true, 6, 0, new int[]{6}, new int[]{1}).bytes()).op('e', 'e', 't', 'R').stop();
        assertArrayEquals(VALUES, PthFile.parse("f.pth", Pickles.legacy(pickle, storage0())).tensors().get("w").data());
    }

    static Stream<Arguments> hostilePickles() {
        return Stream.of(
                hostile("os.system called", l -> Pickles.proto2(l).global("os", "system").str("touch /tmp/pwned").op(0x85, 'R').stop(),
                        "refusing the global os.system"),
                hostile("posix.system", l -> Pickles.proto2(l).global("posix", "system").stop(), "refusing the global posix.system"),
                hostile("builtins.eval", l -> Pickles.proto2(l).global("builtins", "eval").str("1").op(0x85, 'R').stop(),
                        "refusing the global builtins.eval"),
                hostile("__builtin__.getattr", l -> Pickles.proto2(l).global("__builtin__", "getattr").stop(),
                        "refusing the global __builtin__.getattr"),
                hostile("a whole model", l -> Pickles.proto2(l).global("__main__", "Net").op(')', 0x81).stop(),
                        "save model.state_dict() instead"),
                hostile("INST", l -> Pickles.proto2(l).op('(').str("id").op('i').ascii("os\nsystem\n").stop(), "refusing INST os.system"),
                hostile("STACK_GLOBAL", l -> Pickles.proto2(l).str("builtins").str("exec").op(0x93).stop(),
                        "refusing STACK_GLOBAL builtins.exec"),
                hostile("OBJ of an allowed class", l -> Pickles.proto2(l).op('(').global("torch", "FloatStorage").op('o').stop(),
                        "refusing OBJ"),
                hostile("NEWOBJ of OrderedDict", l -> Pickles.proto2(l).global("collections", "OrderedDict").op(')', 0x81).stop(),
                        "refusing NEWOBJ"),
                hostile("EXT1", l -> Pickles.proto2(l).op(0x82, 1).stop(), "refusing EXT"),
                hostile("REDUCE on a storage class", l -> Pickles.proto2(l).global("torch", "FloatStorage").op(')', 'R').stop(),
                        "refusing a call (REDUCE) of torch.FloatStorage"),
                hostile("an OrderedDict of something else", l -> Pickles.proto2(l).global("collections", "OrderedDict")
                        .op('(', ']', '(').integer(1).op('e', 't', 'R').stop(), "an OrderedDict item is not a"),
                hostile("REDUCE on a str", l -> Pickles.proto2(l).str("os.system").op(')', 'R').stop(), "refusing a call (REDUCE) of a str"),
                hostile("BUILD on a tensor", l -> Pickles.proto2(l).raw(tensorOp(l, 6, 0, new int[]{6}, new int[]{1}).bytes())
                        .op('}', 'b').stop(), "refusing BUILD (setting the state) of a tensor"),
                hostile("BUILD on a dict", l -> Pickles.proto2(l).op('}', '}', 'b').stop(), "refusing BUILD (setting the state) of a dict"),
                hostile("a persistent id that is not a storage", l -> Pickles.proto2(l).op('(').str("module").str("os").op('t', 'Q').stop(),
                        "not tagged 'storage'"),
                hostile("a persistent id naming another class", l -> Pickles.proto2(l).op('(').str("storage")
                        .global("collections", "OrderedDict").str("0").str("cpu").integer(6).op(l ? new int[]{'N', 't', 'Q'} : new int[]{'t', 'Q'})
                        .stop(),
                        "not a torch storage class"),
                hostile("a tensor past its storage", l -> stateDict(tensorOp(l, 6, 4, new int[]{2, 3}, new int[]{3, 1})),
                        "needs 10 elements of storage 0, which holds 6"),
                hostile("a storage longer than its record", l -> stateDict(tensorOp(l, 600, 0, new int[]{2, 3}, new int[]{3, 1})),
                        "600"),
                hostile("a tensor whose size overflows", l -> stateDict(tensorOp(l, 6, 0, new int[]{0x7fffffff, 0x7fffffff, 0x7fffffff},
                        new int[]{1, 1, 1})), "overflows 64-bit indexing"),
                hostile("a negative offset", l -> stateDict(tensorOp(l, 6, -1, new int[]{2}, new int[]{1})), "negative storage offset"),
                hostile("backward hooks", l -> Pickles.proto2(l).global("torch._utils", "_rebuild_tensor_v2").op('(')
                        .storage("0", 6).integer(0).op('(').integer(6).op('t', '(').integer(1).op('t', 0x89)
                        .global("collections", "OrderedDict").op(')', 'R').integer(1).str("hook").op('s', 't', 'R').stop(),
                        "empty backward hooks"),
                hostile("deep nesting", l -> Pickles.proto2(l).op(marks(10_000)).stop(),
                        "nesting deeper than 64"),
                hostile("a container per byte", l -> Pickles.proto2(l).op(']')
                        .op(repeat(new int[]{'}', 'a'}, 1 << 20)).stop(), "more than 1048576 values"),
                hostile("a str longer than the pickle", l -> Pickles.proto2(l).op('X', 0xff, 0xff, 0xff, 0xff).stop(), "truncated"),
                hostile("a huge LONG1", l -> Pickles.proto2(l).op(0x8a, 200).stop(), "an integer of 200 bytes"),
                hostile("GET of an unset memo entry", l -> Pickles.proto2(l).op('h', 7).stop(), "memo entry 7"),
                hostile("a tuple as a dict key", l -> Pickles.proto2(l).op('}', ')').integer(1).op('s').stop(), "a dict key is a tuple"),
                hostile("protocol 5", l -> Pickles.proto2(l).op(0x80, 5).stop(), "pickle protocol 5"),
                hostile("a list where a state_dict belongs", l -> Pickles.proto2(l).op(']').stop(), "holds a list, not a state_dict"));
    }

    private static int[] repeat(int[] ops, int times) {
        int[] out = new int[ops.length * times];
        for (int i = 0; i < out.length; i++) {
            out[i] = ops[i % ops.length];
        }
        return out;
    }

    private static int[] marks(int n) {
        int[] m = new int[n];
        java.util.Arrays.fill(m, '(');
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostilePickles")
    void aHostileOrBrokenPickleIsRefusedWithOneLineNamingWhatWasFound(String what, Function<Boolean, byte[]> pickle,
                                                                     String expected) {
        byte[] legacy = pickle.apply(true);
        boolean namesStorage = new String(legacy, StandardCharsets.ISO_8859_1).contains("storage");
        for (byte[] file : new byte[][]{Pickles.zip(pickle.apply(false), storage0()),
                Pickles.legacy(legacy, namesStorage ? storage0() : Map.of())}) {
            String message = refusal(file);
            assertTrue(message.contains(expected), what + ": " + message);
            assertTrue(message.startsWith("f.pth"), message);
            assertTrue(!message.contains("\n"), message);
        }
    }

    static byte[] validZip() {
        return Pickles.zip(stateDict(tensorOp(false, 6, 0, new int[]{2, 3}, new int[]{3, 1})), storage0());
    }

    static Map<String, byte[]> validRecords() {
        Map<String, byte[]> r = new LinkedHashMap<>();
        r.put("archive/data.pkl", stateDict(tensorOp(false, 6, 0, new int[]{2, 3}, new int[]{3, 1})));
        r.put("archive/data/0", floats(VALUES));
        r.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return r;
    }

    @Test
    void aRecordNameThatLeavesTheArchiveIsRefused() {
        for (String name : new String[]{"../evil", "archive/../../evil", "/etc/evil", "archive\\..\\evil", "C:/evil"}) {
            Map<String, byte[]> r = validRecords();
            r.put(name, new byte[]{1});
            assertTrue(refusal(Pickles.zipOf(r.entrySet(), ZipArchiveEntry.STORED)).contains("would leave the archive"), name);
        }
    }

    @Test
    void aRecordGivenTwiceIsRefused() {
        List<Map.Entry<String, byte[]>> r = new ArrayList<>(validRecords().entrySet());
        r.add(Map.entry("archive/data/0", floats(9, 9, 9, 9, 9, 9)));
        String m = refusal(Pickles.zipOf(r, ZipArchiveEntry.STORED));
        assertEquals("f.pth: refusing the archive: the record archive/data/0 appears twice", m);
    }

    @Test
    void compressedAndEncryptedRecordsAreRefusedWithoutInflatingThem() {
        String m = refusal(Pickles.zipOf(validRecords().entrySet(), ZipArchiveEntry.DEFLATED));
        assertTrue(m.contains("is compressed (method 8)"), m);
        byte[] zip = Pickles.zipOf(validRecords().entrySet(), ZipArchiveEntry.STORED);
        setEncryptedBit(zip);
        assertTrue(refusal(zip).contains("is encrypted"), refusal(zip));
    }

    /** Sets general-purpose bit 0 (encrypted) in every local and central header. */
    private static void setEncryptedBit(byte[] zip) {
        for (int i = 0; i + 8 < zip.length; i++) {
            boolean local = zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 3 && zip[i + 3] == 4;
            boolean central = zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 1 && zip[i + 3] == 2;
            if (local) {
                zip[i + 6] |= 1;
            } else if (central) {
                zip[i + 8] |= 1;
            }
        }
    }

    @Test
    void aZipBombIsRefusedAtOnceWithoutExpandingIt() {
        Map<String, byte[]> r = validRecords();
        r.put("archive/data/0", new byte[64 << 20]);
        r.put("archive/data.pkl", stateDict(tensorOp(false, 16 << 20, 0, new int[]{16 << 20}, new int[]{1})));
        byte[] bomb = Pickles.zipOf(r.entrySet(), ZipArchiveEntry.DEFLATED);
        assertTrue(bomb.length < 1 << 20, "the bomb is small: " + bomb.length);
        long t0 = System.nanoTime();
        String m = refusal(bomb);
        assertTrue(m.contains("compressed"), m);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "refused at once");
    }

    @Test
    void aRecordWhoseSizeReachesBeyondTheFileIsRefused() {
        byte[] zip = validZip();
        // the central directory's uncompressed and compressed sizes of archive/data/0 (24 bytes) claim 2 GiB
        String text = new String(zip, StandardCharsets.ISO_8859_1);
        int central = text.indexOf("PK\u0001\u0002", 0);
        int record = text.indexOf("archive/data/0", central) - 46;
        assertTrue(record > central - 1, "found the record's central header");
        ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putInt(record + 20, 0x7fffffff).putInt(record + 24, 0x7fffffff);
        String m = refusal(zip);
        assertTrue(m.contains("beyond the file") || m.contains("not a readable zip"), m);
    }

    @Test
    void aCorruptStorageFailsItsCrc() {
        byte[] zip = validZip();
        int at = new String(zip, StandardCharsets.ISO_8859_1).indexOf(new String(floats(VALUES), StandardCharsets.ISO_8859_1));
        zip[at] ^= 1;
        assertEquals("f.pth: record archive/data/0 is corrupt (CRC mismatch)", refusal(zip));
    }
}
