package gpulenet.io;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A path as text for the user. Under a locale whose charset is not UTF-8 (LC_ALL=C), Java decodes the names a
 * directory listing gives with that charset, so "ünï.png" becomes "\uFFFD\uFFFDn\uFFFD\uFFFD.png", although the
 * path still holds the name's bytes and opens the file. Such a name is decoded again here from those bytes, as
 * UTF-8, which is what Linux file names are in practice.
 */
public final class FileNames {
    private static final char UNDECODED = '\uFFFD';

    private FileNames() {
    }

    public static String display(Path path) {
        String text = path.toString();
        if (text.indexOf(UNDECODED) < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(path.getRoot() == null ? "" : path.getRoot().toString());
        for (int i = 0; i < path.getNameCount(); i++) {
            Path name = path.getName(i);
            out.append(i == 0 ? "" : "/").append(name.toString().indexOf(UNDECODED) < 0 ? name.toString() : fromBytes(name));
        }
        return out.toString();
    }

    /** The name's own bytes as UTF-8: a file URI percent-encodes a path's bytes, not its decoded text. */
    private static String fromBytes(Path name) {
        String uri = name.toAbsolutePath().toUri().getRawPath();
        String last = uri.substring(uri.lastIndexOf('/', uri.length() - 2) + 1).replaceAll("/$", "");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < last.length(); i++) {
            char c = last.charAt(i);
            if (c == '%' && i + 2 < last.length()) {
                bytes.write(Integer.parseInt(last.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                bytes.write(c);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
