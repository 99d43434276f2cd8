package gpulenet.io;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link TempFilesShutdownTest}: starts a temporary file as a save does, prints its
 * path, then waits to be stopped in the middle of "writing" it.
 */
public final class TempFileWriter {
    private TempFileWriter() {
    }

    public static void main(String[] args) throws Exception {
        Path tmp = TempFiles.create(Path.of(args[0]), "model.safetensors");
        System.out.println(tmp);
        System.out.flush();
        Thread.sleep(60_000);
    }
}
