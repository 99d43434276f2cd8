package gpulenet.data;

import gpulenet.SystemPython;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Resize against torchvision's Resize((size, size)) itself, where the system Python has torchvision. */
class ResizeTorchvisionTest {
    /**
     * For each group of six arguments SRC DST N ROWS COLS SIZE: reads uint8 images [N,ROWS,COLS] from SRC and
     * writes each, resized by torchvision to SIZE x SIZE, to DST (one Python start for all of them).
     */
    private static final String RESIZE_ALL = """
            import sys, numpy as np, torchvision.transforms as T
            from PIL import Image
            args = sys.argv[1:]
            for g in range(0, len(args), 6):
                src, dst, n, rows, cols, size = args[g], args[g + 1], *map(int, args[g + 2:g + 6])
                images = np.fromfile(src, np.uint8).reshape(n, rows, cols)
                resize = T.Resize((size, size))
                np.stack([np.asarray(resize(Image.fromarray(im, mode='L'))) for im in images]).tofile(dst)
            """;

    @TempDir
    Path dir;

    @Test
    void theWholeMnistTestSetTo32x32() throws Exception {
        SystemPython.assumeModules("torchvision", "PIL");
        assertSameAsTorchvision(List.of(new Job(DataSets.embedded().test(), 32)));
    }

    /** Shrinking (the filter widened), enlarging by odd factors and a source that is not square. */
    @Test
    void randomImagesAtOtherSizes() throws Exception {
        SystemPython.assumeModules("torchvision", "PIL");
        List<Job> jobs = new ArrayList<>();
        for (int[] shape : new int[][] {{28, 28, 14}, {28, 28, 9}, {28, 28, 17}, {28, 28, 45}, {20, 28, 11}, {7, 5, 3}}) {
            byte[] pixels = new byte[50 * shape[0] * shape[1]];
            new Random(shape[2]).nextBytes(pixels);
            jobs.add(new Job(new Dataset("random", pixels, new byte[50], 50, shape[0], shape[1]), shape[2]));
        }
        assertSameAsTorchvision(jobs);
    }

    private record Job(Dataset images, int size) {
    }

    private void assertSameAsTorchvision(List<Job> jobs) throws Exception {
        List<String> args = new ArrayList<>(List.of("-c", RESIZE_ALL));
        for (int j = 0; j < jobs.size(); j++) {
            Dataset d = jobs.get(j).images();
            args.addAll(List.of(Files.write(dir.resolve(j + ".src"), d.images()).toString(), dir.resolve(j + ".dst").toString(),
                    Integer.toString(d.count()), Integer.toString(d.rows()), Integer.toString(d.cols()),
                    Integer.toString(jobs.get(j).size())));
        }
        SystemPython.runOk(args);
        for (int j = 0; j < jobs.size(); j++) {
            Dataset d = jobs.get(j).images();
            int size = jobs.get(j).size();
            byte[] expected = Files.readAllBytes(dir.resolve(j + ".dst"));
            byte[] actual = Resize.bilinear(d, size).images();
            assertEquals(expected.length, actual.length);
            int mismatch = Arrays.mismatch(expected, actual);
            if (mismatch >= 0) {
                int image = mismatch / (size * size);
                int pixel = mismatch % (size * size);
                fail(d.rows() + "x" + d.cols() + " -> " + size + ": image " + image + " pixel (" + pixel / size + ", "
                        + pixel % size + ") is " + (actual[mismatch] & 0xff) + ", torchvision gives "
                        + (expected[mismatch] & 0xff));
            }
        }
    }
}
