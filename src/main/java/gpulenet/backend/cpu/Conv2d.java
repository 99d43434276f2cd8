package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * Convolution, stride 1, zero padding, NCHW. x [B,C,H,W], w [K,C,R,R], b [K], y [B,K,OH,OW] with
 * OH = H + 2*pad - R + 1. Every output element is computed by one task in a fixed order, so the
 * bits do not depend on the thread count.
 */
final class Conv2d {
    private Conv2d() {
    }

    /** Forward with bias and optional ReLU; parallel over samples. */
    static void forward(WorkerPool pool, CpuTensor xt, CpuTensor wt, CpuTensor bt, int pad, boolean relu, CpuTensor yt) {
        float[] x = xt.floats(), w = wt.floats(), b = bt.floats(), y = yt.floats();
        int xo = xt.offset(), wo = wt.offset(), bo = bt.offset(), yo = yt.offset();
        int batch = xt.dim(0), c = xt.dim(1), h = xt.dim(2), wd = xt.dim(3), k = wt.dim(0), r = wt.dim(2);
        int oh = h + 2 * pad - r + 1;
        int ow = wd + 2 * pad - r + 1;
        pool.forEach(batch, (worker, begin, end) -> {
            for (int n = begin; n < end; n++) {
                for (int kk = 0; kk < k; kk++) {
                    int yPlane = yo + (n * k + kk) * oh * ow;
                    Arrays.fill(y, yPlane, yPlane + oh * ow, b[bo + kk]);
                    for (int cc = 0; cc < c; cc++) {
                        int xPlane = xo + (n * c + cc) * h * wd;
                        int wTaps = wo + (kk * c + cc) * r * r;
                        for (int i = 0; i < oh; i++) {
                            for (int dr = 0; dr < r; dr++) {
                                int ih = i + dr - pad;
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                int xRow = xPlane + ih * wd - pad;
                                int yRow = yPlane + i * ow;
                                for (int ds = 0; ds < r; ds++) {
                                    float wv = w[wTaps + dr * r + ds];
                                    int lo = Math.max(0, pad - ds);
                                    int hi = Math.min(ow, wd + pad - ds);
                                    for (int j = lo; j < hi; j++) {
                                        y[yRow + j] += wv * x[xRow + j + ds];
                                    }
                                }
                            }
                        }
                    }
                    if (relu) {
                        for (int p = yPlane; p < yPlane + oh * ow; p++) {
                            y[p] = Math.max(y[p], 0f);
                        }
                    }
                }
            }
        });
    }

    /** dx = full correlation of dy with w; parallel over samples. */
    static void backwardInput(WorkerPool pool, CpuTensor dyt, CpuTensor wt, int pad, CpuTensor dxt) {
        float[] dy = dyt.floats(), w = wt.floats(), dx = dxt.floats();
        int dyo = dyt.offset(), wo = wt.offset(), dxo = dxt.offset();
        int batch = dxt.dim(0), c = dxt.dim(1), h = dxt.dim(2), wd = dxt.dim(3), k = wt.dim(0), r = wt.dim(2);
        int oh = h + 2 * pad - r + 1;
        int ow = wd + 2 * pad - r + 1;
        pool.forEach(batch, (worker, begin, end) -> {
            for (int n = begin; n < end; n++) {
                for (int cc = 0; cc < c; cc++) {
                    int xPlane = dxo + (n * c + cc) * h * wd;
                    Arrays.fill(dx, xPlane, xPlane + h * wd, 0f);
                    for (int kk = 0; kk < k; kk++) {
                        int yPlane = dyo + (n * k + kk) * oh * ow;
                        int wTaps = wo + (kk * c + cc) * r * r;
                        for (int i = 0; i < oh; i++) {
                            for (int dr = 0; dr < r; dr++) {
                                int ih = i + dr - pad;
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                int xRow = xPlane + ih * wd - pad;
                                int yRow = yPlane + i * ow;
                                for (int ds = 0; ds < r; ds++) {
                                    float wv = w[wTaps + dr * r + ds];
                                    int lo = Math.max(0, pad - ds);
                                    int hi = Math.min(ow, wd + pad - ds);
                                    for (int j = lo; j < hi; j++) {
                                        dx[xRow + j + ds] += wv * dy[yRow + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /** dw = sum over samples and positions of dy * x, db = sum of dy; parallel over output channels. */
    static void backwardWeight(WorkerPool pool, CpuTensor xt, CpuTensor dyt, int pad, CpuTensor dwt, CpuTensor dbt) {
        float[] x = xt.floats(), dy = dyt.floats(), dw = dwt.floats(), db = dbt.floats();
        int xo = xt.offset(), dyo = dyt.offset(), dwo = dwt.offset(), dbo = dbt.offset();
        int batch = xt.dim(0), c = xt.dim(1), h = xt.dim(2), wd = xt.dim(3), k = dwt.dim(0), r = dwt.dim(2);
        int oh = h + 2 * pad - r + 1;
        int ow = wd + 2 * pad - r + 1;
        pool.forEach(k, (worker, begin, end) -> {
            for (int kk = begin; kk < end; kk++) {
                float bias = 0f;
                for (int n = 0; n < batch; n++) {
                    int yPlane = dyo + (n * k + kk) * oh * ow;
                    for (int p = 0; p < oh * ow; p++) {
                        bias += dy[yPlane + p];
                    }
                }
                db[dbo + kk] = bias;
                for (int cc = 0; cc < c; cc++) {
                    for (int dr = 0; dr < r; dr++) {
                        for (int ds = 0; ds < r; ds++) {
                            float sum = 0f;
                            int lo = Math.max(0, pad - ds);
                            int hi = Math.min(ow, wd + pad - ds);
                            for (int n = 0; n < batch; n++) {
                                int yPlane = dyo + (n * k + kk) * oh * ow;
                                int xPlane = xo + (n * c + cc) * h * wd;
                                for (int i = 0; i < oh; i++) {
                                    int ih = i + dr - pad;
                                    if (ih < 0 || ih >= h) {
                                        continue;
                                    }
                                    int xRow = xPlane + ih * wd - pad + ds;
                                    int yRow = yPlane + i * ow;
                                    for (int j = lo; j < hi; j++) {
                                        sum += dy[yRow + j] * x[xRow + j];
                                    }
                                }
                            }
                            dw[dwo + ((kk * c + cc) * r + dr) * r + ds] = sum;
                        }
                    }
                }
            }
        });
    }
}
