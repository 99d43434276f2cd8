package gpulenet.cli;

import gpulenet.data.Dataset;
import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;
import gpulenet.train.EpochSummary;
import gpulenet.train.TrainingListener;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.AWTError;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;

/**
 * The PNG pictures of train --plot (training curves) and eval --confusion / --errors (the confusion matrix as a
 * heatmap, a grid of misclassified test images), drawn headless: the curves and the heatmap with XChart, the
 * image grid with Java2D (nearest-neighbour, so each tile holds the image's own pixels). Written atomically.
 */
final class Charts {
    static {
        // No display is needed or wanted (a server, a container, an SSH session with a stale DISPLAY).
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    static final int CURVES_WIDTH = 960;
    static final int CURVES_HEIGHT = 560;
    static final int CONFUSION_SIZE = 720;
    /** At most this many misclassified images in an error grid, in test-set order. */
    static final int MAX_ERRORS = 36;
    static final int GRID_COLUMNS = 6;
    /** An error grid's image tiles are this many pixels on their longer side (a 28x28 image at x3). */
    static final int TILE_PIXELS = 84;
    private static final int CELL_PADDING = 14;
    private static final int LABEL_HEIGHT = 20;
    private static final int GRID_MARGIN = 16;
    private static final int GRID_TITLE_HEIGHT = 40;
    private static final Color ERROR_RED = new Color(0xc0, 0x1c, 0x1c);
    private static final Font BASE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);

    private Charts() {
    }

    /**
     * Training loss at every log line and test loss and accuracy at every epoch end, against epochs
     * (fractional: epoch 2 half done is 1.5); accuracy on a second axis, in percent.
     *
     * @param lossEpochs where each log line fell, in epochs
     * @param epochs     the epochs that ended (1-based), where the test values fall
     */
    static BufferedImage trainingCurves(String title, double[] lossEpochs, double[] loss, double[] epochs,
                                        double[] testLoss, double[] testAccuracy) {
        Drawable trainPoints = Drawable.of(lossEpochs, loss);
        Drawable testPoints = Drawable.of(epochs, testLoss);
        lossEpochs = trainPoints.x();
        loss = trainPoints.y();
        int left = trainPoints.left() + testPoints.left();
        if (left > 0) {
            title += " (" + left + " loss value" + (left == 1 ? "" : "s") + " beyond " + Drawable.LIMIT_TEXT
                    + " or not finite, not drawn)";
        }
        XYChart chart = new XYChartBuilder().width(CURVES_WIDTH).height(CURVES_HEIGHT).title(title)
                .xAxisTitle("epoch").yAxisTitle("loss").build();
        chart.getStyler().setBaseFont(BASE_FONT).setChartTitleFont(BASE_FONT.deriveFont(Font.BOLD, 16f))
                .setLegendPosition(Styler.LegendPosition.OutsideS).setLegendLayout(Styler.LegendLayout.Horizontal)
                .setChartBackgroundColor(Color.WHITE).setMarkerSize(7)
                .setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setAxisTitleFont(BASE_FONT).setAxisTickLabelsFont(BASE_FONT.deriveFont(12f))
                .setPlotGridLinesColor(new Color(0xdd, 0xdd, 0xdd))
                .setXAxisMin(lossEpochs.length > 0 ? Math.ceil(lossEpochs[0]) - 1 : firstOr(epochs, 1) - 1)
                .setXAxisDecimalPattern("0.##");
        chart.getStyler().putYAxisGroupDecimalPatternMap(0, "0.0#");
        chart.getStyler().putYAxisGroupDecimalPatternMap(1, "0.##");
        chart.getStyler().setYAxisMin(0, 0.0);
        chart.setYAxisGroupTitle(0, "loss");
        chart.setYAxisGroupTitle(1, "test accuracy (%)");
        Color blue = new Color(0x1f, 0x77, 0xb4), orange = new Color(0xff, 0x7f, 0x0e), green = new Color(0x2c, 0xa0, 0x2c);
        if (loss.length > 0) {
            XYSeries s = chart.addSeries("train loss (mean since the previous log line)", lossEpochs, loss);
            s.setMarker(loss.length == 1 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE).setMarkerColor(blue);
            s.setLineColor(blue).setLineWidth(1.5f);
        }
        if (epochs.length > 0) {
            if (testPoints.x().length > 0) {
                XYSeries t = chart.addSeries("test loss", testPoints.x(), testPoints.y());
                t.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                t.setMarker(SeriesMarkers.DIAMOND).setMarkerColor(orange);
            }
            double[] percent = new double[testAccuracy.length];
            for (int i = 0; i < percent.length; i++) {
                percent[i] = 100 * testAccuracy[i];
            }
            XYSeries a = chart.addSeries("test accuracy (right axis)", epochs, percent);
            a.setYAxisGroup(1);
            a.setMarker(SeriesMarkers.CIRCLE).setMarkerColor(green);
            a.setLineColor(green).setLineWidth(2f);
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    /**
     * bench --plot: images/s of every job (model, device, batch) as bars, gpu-lenet's beside PyTorch's
     * where PyTorch ran the same job, with the ratio in the job's label.
     */
    static BufferedImage benchBars(String title, List<BenchReport.Row> rows) {
        CategoryChart chart = new CategoryChartBuilder().width(CURVES_WIDTH).height(CURVES_HEIGHT).title(title)
                .xAxisTitle("model, device, batch").yAxisTitle("training images/s").build();
        CategoryStyler style = chart.getStyler();
        style.setBaseFont(BASE_FONT);
        style.setChartTitleFont(BASE_FONT.deriveFont(Font.BOLD, 16f));
        style.setLegendPosition(Styler.LegendPosition.OutsideS);
        style.setLegendLayout(Styler.LegendLayout.Horizontal);
        style.setChartBackgroundColor(Color.WHITE);
        style.setPlotBackgroundColor(Color.WHITE);
        style.setAxisTitleFont(BASE_FONT);
        style.setAxisTickLabelsFont(BASE_FONT.deriveFont(12f));
        style.setPlotGridLinesColor(new Color(0xdd, 0xdd, 0xdd));
        style.setXAxisLabelRotation(rows.size() > 4 ? 30 : 0);
        style.setYAxisDecimalPattern("#,###");
        style.setYAxisMin(0.0);
        style.setOverlapped(false);
        List<String> jobs = new ArrayList<>();
        List<Double> ours = new ArrayList<>();
        List<Double> torch = new ArrayList<>();
        for (BenchReport.Row r : rows) {
            Double ratio = r.ratioToPyTorch();
            jobs.add(r.model() + " " + r.device() + " " + r.batch() + (ratio == null ? "" : String.format(" (%.2fx)", ratio)));
            ours.add(Drawable.orZero(r.imagesPerSecond()));
            torch.add(r.pytorchImagesPerSecond() == null ? 0.0 : Drawable.orZero(r.pytorchImagesPerSecond()));
        }
        chart.addSeries("gpu-lenet", jobs, ours).setFillColor(new Color(0x1f, 0x77, 0xb4));
        if (rows.stream().anyMatch(r -> r.pytorchImagesPerSecond() != null)) {
            chart.addSeries("PyTorch, same job, same run", jobs, torch).setFillColor(new Color(0xff, 0x7f, 0x0e));
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    private static double firstOr(double[] v, double fallback) {
        return v.length > 0 ? v[0] : fallback;
    }

    /**
     * The confusion matrix as a heatmap, true label down, predicted label across, the count in every
     * cell. The colour follows log(1 + count), so that a handful of errors shows against a diagonal of
     * a thousand.
     */
    static BufferedImage confusion(String title, long[][] m) {
        int k = m.length;
        long max = max(m);
        HeatMapChart chart = new HeatMapChartBuilder().width(CONFUSION_SIZE).height(CONFUSION_SIZE).title(title)
                .xAxisTitle("predicted label").yAxisTitle("true label").build();
        chart.getStyler().setBaseFont(BASE_FONT).setChartTitleFont(BASE_FONT.deriveFont(Font.BOLD, 16f))
                .setChartBackgroundColor(Color.WHITE).setLegendVisible(false).setPlotContentSize(1.0);
        chart.getStyler().setAxisTitleFont(BASE_FONT).setAxisTickLabelsFont(BASE_FONT)
                .setXAxisTickMarkSpacingHint(10).setYAxisTickMarkSpacingHint(10);
        chart.getStyler().setShowValue(true).setValueFont(BASE_FONT.deriveFont(Font.BOLD, 13f))
                .setValueFontColor(Color.BLACK).setDrawBorder(true).setHeatMapValueDecimalPattern("0")
                .setRangeColors(logScale(max));
        List<String> predicted = new ArrayList<>();
        List<String> trueLabels = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            predicted.add(Integer.toString(c));
            trueLabels.add(Integer.toString(k - 1 - c)); // XChart draws y index 0 at the bottom: label 0 on top
        }
        List<Number[]> cells = new ArrayList<>();
        for (int t = 0; t < k; t++) {
            for (int p = 0; p < k; p++) {
                cells.add(new Number[] {p, k - 1 - t, m[t][p]});
            }
        }
        chart.addSeries("confusion", predicted, trueLabels, cells);
        return BitmapEncoder.getBufferedImage(chart);
    }

    /**
     * XChart colours a cell by linear interpolation along its range colours, evenly spaced from the smallest
     * to the largest count, and prints the cell's own value: so the log scale is in the colours, one stop per
     * count (or per 1/4096 of the range), each the colour of log(1 + count) on a white-to-blue ramp.
     */
    private static Color[] logScale(long max) {
        Color[] ramp = {Color.WHITE, new Color(0xde, 0xeb, 0xf7), new Color(0x9e, 0xca, 0xe1), new Color(0x42, 0x92, 0xc6)};
        int stops = (int) Math.min(max, 4096) + 1;
        Color[] colors = new Color[stops];
        for (int i = 0; i < stops; i++) {
            double count = (double) i * max / (stops - 1);
            double t = Math.log1p(count) / Math.log1p(max) * (ramp.length - 1);
            int lo = Math.min((int) t, ramp.length - 2);
            double f = t - lo;
            Color a = ramp[lo], b = ramp[lo + 1];
            colors[i] = new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                    (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                    (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
        }
        return colors;
    }

    private static long max(long[][] m) {
        long max = 1;
        for (long[] row : m) {
            for (long v : row) {
                max = Math.max(max, v);
            }
        }
        return max;
    }

    /** Where image {@code i} of an error grid of {@code count} images of rows x cols pixels is drawn, at {@link #scale}. */
    static Rectangle errorTile(int i, int count, int rows, int cols) {
        int s = scale(rows, cols);
        Rectangle cell = cell(i, rows, cols);
        return new Rectangle(cell.x + (cell.width - s * cols) / 2, cell.y + LABEL_HEIGHT, s * cols, s * rows);
    }

    /** Image pixels per source pixel in an error grid: the tile's longer side is about {@link #TILE_PIXELS}. */
    static int scale(int rows, int cols) {
        return Math.max(1, TILE_PIXELS / Math.max(rows, cols));
    }

    private static Rectangle cell(int i, int rows, int cols) {
        int s = scale(rows, cols);
        int w = Math.max(s * cols, TILE_PIXELS) + 2 * CELL_PADDING + 16;
        int h = LABEL_HEIGHT + s * rows + CELL_PADDING;
        return new Rectangle(GRID_MARGIN + (i % GRID_COLUMNS) * w, GRID_MARGIN + GRID_TITLE_HEIGHT + (i / GRID_COLUMNS) * h, w, h);
    }

    /**
     * Up to {@link #MAX_ERRORS} misclassified images, in test-set order, each under its true and predicted
     * label, white on black as the data stores it.
     *
     * @param predictions every sample's predicted class
     */
    static BufferedImage errorGrid(String title, Dataset images, int[] predictions) {
        List<Integer> wrong = new ArrayList<>();
        int errors = 0;
        for (int i = 0; i < images.count(); i++) {
            if (predictions[i] != images.label(i)) {
                errors++;
                if (wrong.size() < MAX_ERRORS) {
                    wrong.add(i);
                }
            }
        }
        int rows = images.rows(), cols = images.cols();
        int n = wrong.size();
        Rectangle first = cell(0, rows, cols);
        int gridColumns = Math.max(1, Math.min(n, GRID_COLUMNS));
        int gridRows = Math.max(1, (n + GRID_COLUMNS - 1) / GRID_COLUMNS);
        int width = Math.max(2 * GRID_MARGIN + gridColumns * first.width, 520);
        int height = first.y + gridRows * first.height + GRID_MARGIN;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setColor(Color.BLACK);
            g.setFont(BASE_FONT.deriveFont(Font.BOLD, 16f));
            String heading = errors == 0 ? title + ": no misclassified images"
                    : title + ": " + (n < errors ? "the first " + n + " of " : "") + errors + " misclassified";
            g.drawString(heading, GRID_MARGIN, GRID_MARGIN + 18);
            g.setFont(BASE_FONT.deriveFont(12f));
            g.drawString("label: true -> predicted", GRID_MARGIN, GRID_MARGIN + 34);
            g.setFont(BASE_FONT.deriveFont(Font.BOLD, 13f));
            FontMetrics fm = g.getFontMetrics();
            for (int t = 0; t < n; t++) {
                int index = wrong.get(t);
                Rectangle cell = cell(t, rows, cols);
                Rectangle tile = errorTile(t, n, rows, cols);
                String label = "#" + index + ": " + images.label(index) + " -> " + predictions[index];
                g.setColor(ERROR_RED);
                g.drawString(label, cell.x + (cell.width - fm.stringWidth(label)) / 2, cell.y + LABEL_HEIGHT - 5);
                drawPixels(image, images, index, tile, scale(rows, cols));
                g.setColor(Color.GRAY);
                g.setStroke(new BasicStroke(1));
                g.drawRect(tile.x - 1, tile.y - 1, tile.width + 1, tile.height + 1);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** The image's bytes as grey levels, each source pixel an s x s block (no interpolation, no colour-space change). */
    private static void drawPixels(BufferedImage target, Dataset images, int index, Rectangle tile, int s) {
        byte[] pixels = images.images();
        int offset = index * images.imageSize();
        for (int r = 0; r < images.rows(); r++) {
            for (int c = 0; c < images.cols(); c++) {
                int v = pixels[offset + r * images.cols() + c] & 0xff;
                int rgb = v << 16 | v << 8 | v;
                for (int dy = 0; dy < s; dy++) {
                    for (int dx = 0; dx < s; dx++) {
                        target.setRGB(tile.x + c * s + dx, tile.y + r * s + dy, rgb);
                    }
                }
            }
        }
    }

    /** Writes {@code image} as a PNG, atomically; a failure is the path's, in one line. */
    static void writePng(Path path, BufferedImage image) {
        try {
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            if (!ImageIO.write(image, "png", png)) {
                throw new IllegalStateException("no PNG writer in this Java runtime");
            }
            AtomicFile.write(path, png.toByteArray());
        } catch (IOException e) {
            throw new InputException(path + ": cannot write picture: " + IoReasons.reason(e), e);
        }
    }

    /**
     * train --plot: collects the loss of every log line and the test results of every epoch, and rewrites
     * the picture after each epoch, so a run stopped early still leaves the curves up to its last epoch. A
     * picture that cannot be drawn or written (its directory gone, a runtime without fonts) is said once on
     * {@code err} and given up, and the training goes on: the run and its checkpoint matter more than a picture.
     */
    static final class TrainingPlot implements TrainingListener {
        private final Path file;
        private final PrintWriter err;
        private String title;
        private boolean failed;
        private final List<double[]> lossPoints = new ArrayList<>();
        private final List<double[]> epochPoints = new ArrayList<>();

        TrainingPlot(Path file, String title, PrintWriter err) {
            this.file = file;
            this.title = title;
            this.err = err;
        }

        /**
         * A run resumed after {@code epoch}: its earlier curves come from {@code metrics} (the --metrics file a
         * resumed run appends to, null when none is given), as far as it holds them. When the picture will not
         * start at epoch 1, its title says from which epoch it does, and so does the line returned.
         */
        Optional<String> resumedAfter(int epoch, Path metrics) {
            if (metrics != null) {
                MetricsHistory h = MetricsHistory.read(metrics, epoch);
                lossPoints.addAll(h.loss());
                epochPoints.addAll(h.epochs());
            }
            int first = epochPoints.isEmpty() ? epoch + 1 : (int) epochPoints.get(0)[0];
            if (first == 1) {
                return Optional.empty();
            }
            title += " (from epoch " + first + ": earlier epochs not drawn)";
            return Optional.of("--plot " + file + " draws epoch " + first + " on: "
                    + (metrics == null ? "give the run's --metrics file to draw the epochs before"
                    : metrics + " holds no curves of the epochs before"));
        }

        @Override
        public void logLine(LogLine line) {
            lossPoints.add(new double[] {line.epochProgress(), line.loss()});
        }

        @Override
        public void epochEnd(EpochSummary s, long step) {
            epochPoints.add(new double[] {s.epoch(), s.test().meanLoss(), s.test().accuracy()});
            if (failed) {
                return;
            }
            try {
                writePng(file, trainingCurves(title, column(lossPoints, 0), column(lossPoints, 1), column(epochPoints, 0),
                        column(epochPoints, 1), column(epochPoints, 2)));
            } catch (InputException | LinkageError | AWTError e) {
                failed = true;
                err.println("gpu-lenet: --plot " + file + ": no picture drawn from epoch " + s.epoch() + " on, training goes on: "
                        + (e instanceof InputException ? e.getMessage() : e.toString()));
                err.flush();
            }
        }

        private static double[] column(List<double[]> rows, int c) {
            double[] v = new double[rows.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = rows.get(i)[c];
            }
            return v;
        }
    }
}
