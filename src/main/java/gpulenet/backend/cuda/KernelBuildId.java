package gpulenet.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/**
 * Which kernels a build ships: the first 12 hex digits of a SHA-256 over the PTX resources the CUDA
 * backend loads (each module's name, length and bytes, in name order), computed once. Two runs printing
 * the same id ran the same kernels, whatever the jar's version says.
 */
public final class KernelBuildId {
    private static final int HEX_DIGITS = 12;

    private KernelBuildId() {
    }

    /** The id, or a phrase saying which PTX resource is missing from this build. */
    public static String get() {
        return Holder.ID;
    }

    /** The PTX modules the backend loads, by name (kernels/&lt;module&gt;.ptx). */
    public static List<String> modules() {
        TreeSet<String> names = new TreeSet<>();
        for (Kernel k : Kernel.values()) {
            names.add(k.module);
        }
        return List.copyOf(names);
    }

    private static final class Holder {
        static final String ID = compute();
    }

    private static String compute() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
        for (String module : modules()) {
            String resource = "/kernels/" + module + ".ptx";
            try (InputStream in = KernelBuildId.class.getResourceAsStream(resource)) {
                if (in == null) {
                    return "unknown (" + resource.substring(1) + " is missing from this build)";
                }
                byte[] ptx = in.readAllBytes();
                sha.update((module + "\0" + ptx.length + "\0").getBytes(StandardCharsets.UTF_8));
                sha.update(ptx);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + resource, e);
            }
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, HEX_DIGITS);
    }
}
