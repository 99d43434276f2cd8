package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * Convolution, stride 1, zero padding, NCHW: x [B,C,H,W], w [K,C,R,R], b [K], y [B,K,OH,OW] with
 * OH = H + 2*pad - R + 1. Each sample is copied into a zero-padded buffer and unrolled into its
 * patches (im2col), so every product is one {@link Gemm} call:
 *
 * <ul>
 *   <li>forward: Y[K,P] = W[K,J] cols[J,P] (J = C*R*R taps, P = OH*OW positions);</li>
 *   <li>input gradient: dcols[J,P] = W^T dY, then each patch is added back where it came from;</li>
 *   <li>weight gradient: dW[K,J+1] += dY[K,P] patches[P,J+1], where the extra column of ones makes
 *       the last column the bias gradient.</li>
 * </ul>
 *
 * Forward and input gradient are independent per sample. The weight gradient is summed per fixed
 * chunk of {@link #CHUNK} samples, then the chunk sums are added in chunk order, so the bits depend
 * on the batch but not on how many threads there are.
 */
final class Conv2d {
    /** Samples per partial weight gradient. Fixed: changing it would change the summation order. */
    static final int CHUNK = 4;

    private Conv2d() {
    }

    /**
     * y = conv(x, w) + b, then ReLU when {@code relu}; parallel over samples. The patches are taken in
     * "wide" form: position (i, j) is numbered i * WP + j over the padded width WP, so each tap's row
     * is one contiguous slice of the padded sample (a single array copy); the WP - OW extra positions
     * per row are computed and dropped.
     */
    static void forward(WorkerPool pool, Scratch[] scratch, CpuTensor xt, CpuTensor wt, CpuTensor bt, int pad,
                        boolean relu, CpuTensor yt) {
        Geometry g = new Geometry(xt, wt.dim(0), wt.dim(2), pad);
        float[] x = xt.floats(), w = wt.floats(), b = bt.floats(), y = yt.floats();
        int xo = xt.offset(), wo = wt.offset(), bo = bt.offset(), yo = yt.offset();
        int width = Gemm.padded(g.oh * g.wp);
        pool.forEach(g.batch, (worker, begin, end) -> {
            Scratch s = scratch[worker];
            float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedSize() + g.r + Gemm.padded(1));
            float[][] cols = s.matrix(Scratch.Slot.COLUMNS, g.taps, width);
            float[][] product = s.matrix(Scratch.Slot.PRODUCT, g.k, width);
            for (int n = begin; n < end; n++) {
                g.pad(x, xo + n * g.inputSize(), padded);
                for (int cc = 0; cc < g.c; cc++) {
                    for (int dr = 0; dr < g.r; dr++) {
                        for (int ds = 0; ds < g.r; ds++) {
                            System.arraycopy(padded, (cc * g.hp + dr) * g.wp + ds, cols[(cc * g.r + dr) * g.r + ds], 0, width);
                        }
                    }
                }
                for (int k = 0; k < g.k; k++) {
                    Arrays.fill(product[k], 0, width, b[bo + k]);
                }
                Gemm.multiplyAdd(g.k, width, g.taps, w, wo, g.taps, 1, cols, 0, product, 0);
                for (int k = 0; k < g.k; k++) {
                    float[] row = product[k];
                    int dst = yo + (n * g.k + k) * g.positions;
                    for (int i = 0; i < g.oh; i++) {
                        for (int j = 0; j < g.ow; j++) {
                            float v = row[i * g.wp + j];
                            y[dst + i * g.ow + j] = relu ? Math.max(v, 0f) : v;
                        }
                    }
                }
            }
        });
    }

    /** Writes dw, db and, unless dxt is null, dx; parallel over chunks of samples, then over output channels. */
    static void backward(WorkerPool pool, Scratch[] scratch, Scratch shared, CpuTensor xt, CpuTensor wt, CpuTensor dyt,
                         int pad, CpuTensor dxt, CpuTensor dwt, CpuTensor dbt) {
        Geometry g = new Geometry(xt, wt.dim(0), wt.dim(2), pad);
        float[] x = xt.floats(), w = wt.floats(), dy = dyt.floats();
        int xo = xt.offset(), wo = wt.offset(), dyo = dyt.offset();
        int width = Gemm.padded(g.taps + 1);
        int chunks = (g.batch + CHUNK - 1) / CHUNK;
        float[][] partials = shared.matrix(Scratch.Slot.PARTIALS, chunks * g.k, width);
        pool.forEach(chunks, (worker, begin, end) -> {
            Scratch s = scratch[worker];
            float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedSize());
            float[][] patches = s.matrix(Scratch.Slot.COLUMNS, g.positions, width);
            float[][] dyRows = s.matrix(Scratch.Slot.OPERAND, g.k, g.positions);
            float[][] dcols = s.matrix(Scratch.Slot.PRODUCT, g.taps, g.positions);
            for (int chunk = begin; chunk < end; chunk++) {
                for (int k = 0; k < g.k; k++) {
                    Arrays.fill(partials[chunk * g.k + k], 0, width, 0f);
                }
                for (int n = chunk * CHUNK; n < Math.min(g.batch, (chunk + 1) * CHUNK); n++) {
                    int dySample = dyo + n * g.k * g.positions;
                    g.pad(x, xo + n * g.inputSize(), padded);
                    g.patches(padded, patches);
                    Gemm.multiplyAdd(g.k, width, g.positions, dy, dySample, g.positions, 1, patches, 0,
                            partials, chunk * g.k);
                    if (dxt != null) {
                        for (int k = 0; k < g.k; k++) {
                            System.arraycopy(dy, dySample + k * g.positions, dyRows[k], 0, g.positions);
                        }
                        for (int t = 0; t < g.taps; t++) {
                            Arrays.fill(dcols[t], 0, g.positions, 0f);
                        }
                        Gemm.multiplyAdd(g.taps, g.positions, g.k, w, wo, 1, g.taps, dyRows, 0, dcols, 0);
                        Arrays.fill(padded, 0, g.paddedSize(), 0f);
                        g.addColumns(dcols, padded);
                        g.unpad(padded, dxt.floats(), dxt.offset() + n * g.inputSize());
                    }
                }
            }
        });
        float[] dw = dwt.floats(), db = dbt.floats();
        int dwo = dwt.offset(), dbo = dbt.offset();
        pool.forEach(g.k, (worker, begin, end) -> {
            for (int k = begin; k < end; k++) {
                int dst = dwo + k * g.taps;
                System.arraycopy(partials[k], 0, dw, dst, g.taps);
                float bias = partials[k][g.taps];
                for (int chunk = 1; chunk < chunks; chunk++) {
                    float[] part = partials[chunk * g.k + k];
                    for (int j = 0; j < g.taps; j++) {
                        dw[dst + j] += part[j];
                    }
                    bias += part[g.taps];
                }
                db[dbo + k] = bias;
            }
        });
    }

    /** Sizes of one convolution and the layout of its per-sample buffers. */
    private static final class Geometry {
        final int batch, c, h, w, k, r, pad, oh, ow, hp, wp, taps, positions;

        Geometry(CpuTensor x, int k, int r, int pad) {
            this.batch = x.dim(0);
            this.c = x.dim(1);
            this.h = x.dim(2);
            this.w = x.dim(3);
            this.k = k;
            this.r = r;
            this.pad = pad;
            this.hp = h + 2 * pad;
            this.wp = w + 2 * pad;
            this.oh = hp - r + 1;
            this.ow = wp - r + 1;
            this.taps = c * r * r;
            this.positions = oh * ow;
        }

        int inputSize() {
            return c * h * w;
        }

        int paddedSize() {
            return c * hp * wp;
        }

        /** padded[c][i][j] = x[c][i - pad][j - pad], zero outside x. */
        void pad(float[] x, int xo, float[] padded) {
            if (pad > 0) {
                Arrays.fill(padded, 0, paddedSize(), 0f);
            }
            for (int cc = 0; cc < c; cc++) {
                for (int i = 0; i < h; i++) {
                    System.arraycopy(x, xo + (cc * h + i) * w, padded, (cc * hp + i + pad) * wp + pad, w);
                }
            }
        }

        /** dx[c][i][j] = padded[c][i + pad][j + pad]. */
        void unpad(float[] padded, float[] dx, int dxo) {
            for (int cc = 0; cc < c; cc++) {
                for (int i = 0; i < h; i++) {
                    System.arraycopy(padded, (cc * hp + i + pad) * wp + pad, dx, dxo + (cc * h + i) * w, w);
                }
            }
        }

        /** patches[position][tap]: the input under each tap at each output position, then a column of ones. */
        void patches(float[] padded, float[][] patches) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    float[] row = patches[i * ow + j];
                    for (int cc = 0; cc < c; cc++) {
                        for (int dr = 0; dr < r; dr++) {
                            int src = (cc * hp + i + dr) * wp + j;
                            int dst = (cc * r + dr) * r;
                            for (int ds = 0; ds < r; ds++) {
                                row[dst + ds] = padded[src + ds];
                            }
                        }
                    }
                    row[taps] = 1f;
                }
            }
        }

        /** The adjoint of taking patches: adds dcols[tap][position] into padded where that input was read. */
        void addColumns(float[][] dcols, float[] padded) {
            for (int cc = 0; cc < c; cc++) {
                for (int dr = 0; dr < r; dr++) {
                    for (int ds = 0; ds < r; ds++) {
                        float[] row = dcols[(cc * r + dr) * r + ds];
                        for (int i = 0; i < oh; i++) {
                            int src = i * ow;
                            int dst = (cc * hp + i + dr) * wp + ds;
                            for (int j = 0; j < ow; j++) {
                                padded[dst + j] += row[src + j];
                            }
                        }
                    }
                }
            }
        }
    }
}
