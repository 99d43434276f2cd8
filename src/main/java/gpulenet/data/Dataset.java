package gpulenet.data;

/**
 * One split of an image-classification data set, kept as the file stores it: uint8 pixels, row-major
 * [count, rows, cols], and uint8 labels. Normalisation happens per batch (on the device for CUDA).
 *
 * @param name   what it is, for logs and checkpoint metadata ("mnist-train", or the directory name)
 * @param images count*rows*cols bytes (unsigned)
 * @param labels count bytes (unsigned)
 */
public record Dataset(String name, byte[] images, byte[] labels, int count, int rows, int cols) {
    public Dataset {
        if (images.length != (long) count * rows * cols || labels.length != count) {
            throw new IllegalArgumentException("dataset " + name + ": array sizes do not match " + count + "x" + rows + "x" + cols);
        }
    }

    public int imageSize() {
        return rows * cols;
    }

    public int label(int i) {
        return labels[i] & 0xff;
    }
}
