package gpulenet.backend.cpu;

import java.util.Arrays;

/**
 * Convolution, stride 1, zero padding, NCHW: x [B,C,H,W], w [K,C,R,R], b [K], y [B,K,OH,OW] with
 * OH = H + 2*pad - R + 1. Each sample is copied into a zero-padded buffer and unrolled into its
 * patches (im2col), so the heavy lifting is {@link Gemm} calls:
 *
 * <ul>
 *   <li>forward: Y[K,Q] = W[K,J] cols[J,Q] (J = C*R*R taps) over "wide" positions, see {@link #forward};</li>
 *   <li>input gradient: dpatches[P,J] = dY^T W (P = OH*OW positions), then each patch is added back
 *       where it was read;</li>
 *   <li>weight gradient: dW[K,J+1] += dY[K,P] patches[P,J+1], where the extra column of ones makes
 *       the last column the bias gradient; or, when there are few taps, per-lane sums
 *       (see {@link #weightGradientByLanes}).</li>
 * </ul>
 *
 * <p>The two backward products visit only the nonzeros of dY ({@link NonzeroRows}): after max-pool and
 * ReLU at most one position in four has a gradient.
 *
 * <p>Forward and input gradient are independent per sample. The weight gradient is summed per fixed
 * chunk of samples, then the chunk sums are added in chunk order, so the bits depend on the batch
 * but not on how many threads there are.
 */
final class Conv2d {
    /**
     * Samples per partial weight gradient (GEMM form, and by lanes). Fixed: changing them would change
     * the summation order.
     */
    static final int CHUNK = 4;
    static final int LANE_CHUNK = 16;
    /** Samples whose products the lane form adds in one pass over the accumulators. */
    private static final int LANE_GROUP = 3;
    /** Most floats of per-lane accumulators (1 MiB per worker) the lane form may use. */
    private static final long LANE_ACCUMULATOR_FLOATS = 1 << 18;
    /**
     * Shortest product row the forward GEMM is given, in floats: samples whose wide rows are shorter
     * (conv2's are 144) are taken a few at a time, side by side, because each call of the GEMM's
     * inner loop costs about as much as tens of floats of work.
     */
    private static final int FORWARD_ROW_FLOATS = 640;

    private Conv2d() {
    }

    /**
     * y = conv(x, w) + b, then ReLU when {@code relu}; parallel over samples. The patches are taken in
     * "wide" form: position (i, j) is numbered i * WP + j over the padded width WP, so each tap's row
     * is one contiguous slice of the padded sample (a single array copy); the WP - OW extra positions
     * per row are computed and dropped. A few samples' wide rows are put side by side (see
     * {@link #FORWARD_ROW_FLOATS}), which changes no sum.
     */
    static void forward(WorkerPool pool, Scratch[] scratch, CpuTensor xt, CpuTensor wt, CpuTensor bt, int pad,
                        boolean relu, CpuTensor yt) {
        Geometry g = new Geometry(xt, wt.dim(0), wt.dim(2), pad);
        float[] x = xt.floats(), w = wt.floats(), b = bt.floats(), y = yt.floats();
        int xo = xt.offset(), wo = wt.offset(), bo = bt.offset(), yo = yt.offset();
        int group = g.forwardGroup();
        pool.forEach(g.batch, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int n = begin; n < end; n += group) {
                    forwardSamples(g, scratch[worker], x, xo, n, Math.min(group, end - n), w, wo, b, bo, relu, y, yo);
                }
            }
        });
    }

    /** Samples [first, first + count) in one GEMM, sample m's wide positions at [m * width, (m + 1) * width). */
    private static void forwardSamples(Geometry g, Scratch s, float[] x, int xo, int first, int count, float[] w,
                                       int wo, float[] b, int bo, boolean relu, float[] y, int yo) {
        int width = g.wideWidth();
        int total = count * width;
        float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedWideSize());
        float[][] cols = s.matrix(Scratch.Slot.COLUMNS, g.taps, total);
        float[][] product = s.matrix(Scratch.Slot.PRODUCT, g.k, total);
        for (int m = 0; m < count; m++) {
            g.pad(x, xo + (first + m) * g.inputSize(), padded);
            g.wideColumns(padded, cols, 0, m * width, width);
        }
        for (int k = 0; k < g.k; k++) {
            Arrays.fill(product[k], 0, total, b[bo + k]);
        }
        Gemm.multiplyAdd(g.k, total, g.taps, w, wo, g.taps, 1, cols, 0, product, 0);
        for (int k = 0; k < g.k; k++) {
            float[] row = product[k];
            if (relu) {
                relu(row, total);
            }
            for (int m = 0; m < count; m++) {
                int ySample = yo + (first + m) * g.k * g.positions;
                for (int i = 0; i < g.oh; i++) {
                    System.arraycopy(row, m * width + i * g.wp, y, ySample + (k * g.oh + i) * g.ow, g.ow);
                }
            }
        }
    }

    /**
     * The matrices whose rows or columns grow with the batch that {@link #forward} and {@link #backward}
     * ask for, per worker (products) and shared (per-chunk weight gradients). The other buffers do not
     * grow with the batch.
     */
    static void workspace(int[] x, int[] w, int pad, Scratch.Sizes perWorker, Scratch.Sizes shared) {
        Geometry g = new Geometry(x[0], x[1], x[2], x[3], w[0], w[2], pad);
        perWorker.matrix(Scratch.Slot.PRODUCT, g.k, (long) g.forwardGroup() * g.wideWidth());
        // small, but in the slot linear layers grow, so it counts towards their rows
        shared.matrix(Scratch.Slot.WEIGHTS, g.k, Gemm.padded(g.taps));
        int chunk = g.weightGradientChunk();
        shared.matrix(Scratch.Slot.PARTIALS, (long) (g.batch + chunk - 1) / chunk * g.k, g.partialWidth());
    }

    /** ReLU in place over a whole row, which the JIT vectorises; copying out only the kept columns would not be. */
    private static void relu(float[] row, int width) {
        for (int q = 0; q < width; q++) {
            row[q] = Math.max(row[q], 0f);
        }
    }

    /**
     * Writes dw, db and, unless dxt is null, dx; parallel over chunks of samples, then over output
     * channels for the fixed-order sum of the chunks' weight gradients.
     */
    static void backward(WorkerPool pool, Scratch[] scratch, Scratch shared, CpuTensor xt, CpuTensor wt, CpuTensor dyt,
                         int pad, CpuTensor dxt, CpuTensor dwt, CpuTensor dbt) {
        Geometry g = new Geometry(xt, wt.dim(0), wt.dim(2), pad);
        float[] x = xt.floats(), w = wt.floats(), dy = dyt.floats();
        int xo = xt.offset(), wo = wt.offset(), dyo = dyt.offset();
        int width = g.partialWidth();
        boolean byLanes = g.weightGradientByLanes();
        int chunkSize = g.weightGradientChunk();
        int chunks = (g.batch + chunkSize - 1) / chunkSize;
        float[][] partials = shared.matrix(Scratch.Slot.PARTIALS, chunks * g.k, width);
        float[][] kernels = dxt == null ? null : kernelRows(shared, g, w, wo);
        pool.forEach(chunks, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                Scratch s = scratch[worker];
                for (int chunk = begin; chunk < end; chunk++) {
                    int first = chunk * chunkSize;
                    int last = Math.min(g.batch, first + chunkSize);
                    int row = chunk * g.k;
                    if (byLanes) {
                        weightGradientByLanes(g, s, x, xo, dy, dyo, first, last, partials, row);
                    } else {
                        for (int k = 0; k < g.k; k++) {
                            Arrays.fill(partials[row + k], 0, width, 0f);
                        }
                    }
                    if (byLanes && dxt == null) {
                        continue;
                    }
                    for (int n = first; n < last; n++) {
                        s.nonzeros.scan(dy, dyo + n * g.k * g.positions, g.k, g.positions);
                        if (!byLanes) {
                            weightGradientByPatches(g, s, x, xo + n * g.inputSize(), partials, row, width);
                        }
                        if (dxt != null) {
                            inputGradient(g, s, kernels, dxt.floats(), dxt.offset() + n * g.inputSize());
                        }
                    }
                }
            }
        });
        float[] dw = dwt.floats(), db = dbt.floats();
        int dwo = dwt.offset(), dbo = dbt.offset();
        pool.forEach(g.k, new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
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
            }
        });
    }

    /**
     * Adds one sample's weight gradient, dW[K,J+1] += dY[K,P] patches[P,J+1], into partials[row .. row+K)
     * over the nonzeros of dY listed in the scratch. Good when there are many taps (long rows of patches).
     */
    private static void weightGradientByPatches(Geometry g, Scratch s, float[] x, int sample, float[][] partials,
                                                int row, int width) {
        float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedSize());
        float[][] patches = s.matrix(Scratch.Slot.COLUMNS, g.positions, width);
        g.pad(x, sample, padded);
        g.patches(padded, patches);
        Gemm.multiplyAdd(s.nonzeros, width, patches, partials, row);
    }

    /**
     * The weight gradient of samples [first, last) with the output positions as SIMD lanes, into
     * partials[row .. row+K). For few taps a patches row is too short for SIMD, so instead each
     * (channel, tap) pair gets an accumulator over the wide positions, acc[q] += dY[q] * tap[q], summed
     * across the chunk and reduced to one number at its end. dY is laid out wide with zeros in the
     * extra columns, so those positions add nothing; the bias gets an accumulator of dY alone.
     * Samples are taken {@value #LANE_GROUP} at a time, so the accumulators (hundreds of KiB, beyond
     * the first-level cache) are read and written once per group rather than once per sample.
     */
    private static void weightGradientByLanes(Geometry g, Scratch s, float[] x, int xo, float[] dy, int dyo,
                                              int first, int last, float[][] partials, int row) {
        int width = g.wideWidth();
        float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedWideSize());
        float[][] cols = s.matrix(Scratch.Slot.COLUMNS, LANE_GROUP * g.taps, width);
        float[][] dyWide = s.matrix(Scratch.Slot.OPERAND, LANE_GROUP * g.k, width);
        float[][] acc = s.matrix(Scratch.Slot.ACCUMULATORS, g.k * (g.taps + 1), width);
        for (int a = 0; a < g.k * (g.taps + 1); a++) {
            Arrays.fill(acc[a], 0, width, 0f);
        }
        for (int n0 = first; n0 < last; n0 += LANE_GROUP) {
            int group = Math.min(LANE_GROUP, last - n0);
            for (int m = 0; m < group; m++) {
                laneOperands(g, x, xo + (n0 + m) * g.inputSize(), dy, dyo + (n0 + m) * g.k * g.positions, padded,
                        cols, m * g.taps, dyWide, m * g.k, width);
            }
            for (int k = 0; k < g.k; k++) {
                int base = k * (g.taps + 1);
                if (group == LANE_GROUP) {
                    float[] d0 = dyWide[k], d1 = dyWide[g.k + k], d2 = dyWide[2 * g.k + k];
                    for (int t = 0; t < g.taps; t++) {
                        addProducts(acc[base + t], width, d0, cols[t], d1, cols[g.taps + t], d2, cols[2 * g.taps + t]);
                    }
                    addSums(acc[base + g.taps], width, d0, d1, d2);
                } else {
                    for (int m = 0; m < group; m++) {
                        float[] d = dyWide[m * g.k + k];
                        for (int t = 0; t < g.taps; t++) {
                            addProduct(acc[base + t], width, d, cols[m * g.taps + t]);
                        }
                        addSum(acc[base + g.taps], width, d);
                    }
                }
            }
        }
        for (int k = 0; k < g.k; k++) {
            for (int t = 0; t <= g.taps; t++) {
                partials[row + k][t] = sumOfVectors(acc[k * (g.taps + 1) + t], width);
            }
        }
    }

    /**
     * One sample's operands for the lane form: its wide columns into cols[colsRow ..] and its dY laid out
     * wide, zeros in the extra columns, into dyWide[dyRow ..].
     */
    private static void laneOperands(Geometry g, float[] x, int xSample, float[] dy, int dySample, float[] padded,
                                     float[][] cols, int colsRow, float[][] dyWide, int dyRow, int width) {
        g.pad(x, xSample, padded);
        g.wideColumns(padded, cols, colsRow, 0, width);
        for (int k = 0; k < g.k; k++) {
            float[] d = dyWide[dyRow + k];
            Arrays.fill(d, 0, width, 0f);
            for (int i = 0; i < g.oh; i++) {
                System.arraycopy(dy, dySample + (k * g.oh + i) * g.ow, d, i * g.wp, g.ow);
            }
        }
    }

    private static void addProduct(float[] a, int width, float[] d, float[] c) {
        for (int q = 0; q < width; q++) {
            a[q] += d[q] * c[q];
        }
    }

    /**
     * Three samples at once, a[q] = a[q] + d0[q] * c0[q] + d1[q] * c1[q] + d2[q] * c2[q]: the additions
     * of the samples one by one, in the same order, so the same values, with a third of the
     * accumulator traffic.
     */
    private static void addProducts(float[] a, int width, float[] d0, float[] c0, float[] d1, float[] c1, float[] d2,
                                    float[] c2) {
        for (int q = 0; q < width; q++) {
            a[q] = a[q] + d0[q] * c0[q] + d1[q] * c1[q] + d2[q] * c2[q];
        }
    }

    private static void addSum(float[] a, int width, float[] d) {
        for (int q = 0; q < width; q++) {
            a[q] += d[q];
        }
    }

    private static void addSums(float[] a, int width, float[] d0, float[] d1, float[] d2) {
        for (int q = 0; q < width; q++) {
            a[q] = a[q] + d0[q] + d1[q] + d2[q];
        }
    }

    /**
     * a[0] + ... + a[n-1] for n a multiple of 8, in eight interleaved running sums (a fixed order):
     * one running sum would wait on the latency of every addition.
     */
    private static float sumOfVectors(float[] a, int n) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
        for (int q = 0; q < n; q += 8) {
            s0 += a[q];
            s1 += a[q + 1];
            s2 += a[q + 2];
            s3 += a[q + 3];
            s4 += a[q + 4];
            s5 += a[q + 5];
            s6 += a[q + 6];
            s7 += a[q + 7];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /**
     * W [K,J] copied into rows, the right-hand side of every sample's {@link #inputGradient}: once per
     * backward pass, not once per sample. Columns past J are left as they are; their products are
     * never read.
     */
    private static float[][] kernelRows(Scratch shared, Geometry g, float[] w, int wo) {
        float[][] kernels = shared.matrix(Scratch.Slot.WEIGHTS, g.k, Gemm.padded(g.taps));
        for (int k = 0; k < g.k; k++) {
            System.arraycopy(w, wo + k * g.taps, kernels[k], 0, g.taps);
        }
        return kernels;
    }

    /**
     * dx of one sample: the gradient of every patch, dY^T W, is added back where the patch was read
     * (see {@link Geometry#addPatches}), each patch's gradient built from the nonzeros of dY at its
     * position, four rows of W per pass.
     */
    private static void inputGradient(Geometry g, Scratch s, float[][] kernels, float[] dx, int dxo) {
        int width = Gemm.padded(g.taps);
        float[] padded = s.vector(Scratch.Slot.PADDED, g.paddedSize());
        float[] sums = s.vector(Scratch.Slot.SUMS, width);
        float[] patch = s.vector(Scratch.Slot.PATCH, width);
        s.nonzerosByPosition.transpose(s.nonzeros, g.positions);
        Arrays.fill(padded, 0, g.paddedSize(), 0f);
        g.addPatches(s.nonzerosByPosition, kernels, padded, sums, patch, width);
        g.unpad(padded, dx, dxo);
    }

    /** Sizes of one convolution and the layout of its per-sample buffers. */
    private static final class Geometry {
        final int batch, c, h, w, k, r, pad, oh, ow, hp, wp, taps, positions;
        /**
         * Where row dr of channel c starts in a padded sample, for each (c, dr) group of R taps: the
         * per-position scalar loops of {@link #patches} and {@link #addPatches} run over the groups as
         * one flat loop, about a third faster than two nested loops of 6 and 5 turns.
         */
        final int[] groupRows;

        Geometry(CpuTensor x, int k, int r, int pad) {
            this(x.dim(0), x.dim(1), x.dim(2), x.dim(3), k, r, pad);
        }

        Geometry(int batch, int c, int h, int w, int k, int r, int pad) {
            this.batch = batch;
            this.c = c;
            this.h = h;
            this.w = w;
            this.k = k;
            this.r = r;
            this.pad = pad;
            this.hp = h + 2 * pad;
            this.wp = w + 2 * pad;
            this.oh = hp - r + 1;
            this.ow = wp - r + 1;
            this.taps = c * r * r;
            this.positions = oh * ow;
            this.groupRows = new int[c * r];
            for (int cc = 0; cc < c; cc++) {
                for (int dr = 0; dr < r; dr++) {
                    groupRows[cc * r + dr] = (cc * hp + dr) * wp;
                }
            }
        }

        /** Samples whose wide rows the forward GEMM takes side by side (see {@link #FORWARD_ROW_FLOATS}). */
        int forwardGroup() {
            return Math.max(1, FORWARD_ROW_FLOATS / wideWidth());
        }

        /** Whether the weight gradient is summed by lanes (few taps) rather than by patches. */
        boolean weightGradientByLanes() {
            return partialWidth() <= 32 && (long) k * (taps + 1) * wideWidth() <= LANE_ACCUMULATOR_FLOATS;
        }

        /** Samples per partial weight gradient. */
        int weightGradientChunk() {
            return weightGradientByLanes() ? LANE_CHUNK : CHUNK;
        }

        /** Floats per row of the partial weight gradients: the taps plus the bias column. */
        int partialWidth() {
            return Gemm.padded(taps + 1);
        }

        int inputSize() {
            return c * h * w;
        }

        int paddedSize() {
            return c * hp * wp;
        }

        /**
         * Size of a padded sample plus the slack its wide rows read past its end: the last tap's row
         * starts R - 1 floats into the last padded row and is rounded up by at most 15.
         */
        int paddedWideSize() {
            return paddedSize() + r + 15;
        }

        /** Number of wide positions i * WP + j (j may run past OW), rounded up to whole vectors. */
        int wideWidth() {
            return Gemm.padded(oh * wp);
        }

        /**
         * cols[firstRow + tap][at + q] = padded[channel][q / WP + dr][q % WP + ds] for q in [0, width): each
         * tap's row is one contiguous slice of the padded sample. Positions past OW in a row, and past OH
         * rows, read neighbouring values or the buffer's slack; their results are dropped.
         */
        void wideColumns(float[] padded, float[][] cols, int firstRow, int at, int width) {
            for (int cc = 0; cc < c; cc++) {
                for (int dr = 0; dr < r; dr++) {
                    for (int ds = 0; ds < r; ds++) {
                        System.arraycopy(padded, (cc * hp + dr) * wp + ds, cols[firstRow + (cc * r + dr) * r + ds], at,
                                width);
                    }
                }
            }
        }

        /**
         * padded[c][i][j] = x[c][i - pad][j - pad], zero outside x, and zeros in the slack after the
         * padded sample that wide rows read (into dropped positions, but 0 * Inf there would still
         * turn a lane sum into NaN).
         */
        void pad(float[] x, int xo, float[] padded) {
            if (pad > 0) {
                Arrays.fill(padded, 0, paddedSize(), 0f);
            }
            Arrays.fill(padded, paddedSize(), Math.min(padded.length, paddedWideSize()), 0f);
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
                    if (j == 0) {
                        for (int cc = 0; cc < c; cc++) {
                            for (int dr = 0; dr < r; dr++) {
                                System.arraycopy(padded, (cc * hp + i + dr) * wp, row, (cc * r + dr) * r, r);
                            }
                        }
                    } else {
                        // One step right, tap (c, dr, ds) sees what tap (c, dr, ds + 1) saw before: shift
                        // the previous row by one, then read the new last column of every (c, dr).
                        System.arraycopy(patches[i * ow + j - 1], 1, row, 0, taps - 1);
                        int at = i * wp + j + r - 1;
                        for (int g = 0; g < groupRows.length; g++) {
                            row[g * r + r - 1] = padded[groupRows[g] + at];
                        }
                    }
                    row[taps] = 1f;
                }
            }
        }

        /**
         * The adjoint of {@link #patches}: adds the gradient of every patch, dY^T W, into padded where
         * that input was read, one output row i at a time. The gradient of the patch at position p is
         * the sum of W's rows under dY's nonzeros at p ({@code dy}, listed by position; {@code patch}
         * holds it). Instead of scattering every element, it scans the row with a running vector
         * sums[tap]: at padded column u, sums[(c, dr, ds)] holds the gradient reaching column u + ds
         * from tap (c, dr, ds) and the taps to its right in earlier positions, so sums[(c, dr, 0)] is
         * complete for (c, i + dr, u). Moving one column right shifts sums down by one tap (the mirror
         * of {@link #patches}), clears the last tap of each (c, dr) and adds the next position's patch
         * gradient, when dY has a nonzero there (sums never holds -0, so adding zeros would change
         * nothing).
         */
        void addPatches(NonzeroRows dy, float[][] kernels, float[] padded, float[] sums, float[] patch, int width) {
            for (int i = 0; i < oh; i++) {
                Arrays.fill(sums, 0, width, 0f);
                for (int u = 0; u < wp; u++) {
                    System.arraycopy(sums, 1, sums, 0, taps - 1);
                    for (int group = 0; group < c * r; group++) {
                        sums[group * r + r - 1] = 0f;
                    }
                    int position = i * ow + u;
                    if (u < ow && dy.start(position) < dy.end(position)) {
                        Arrays.fill(patch, 0, width, 0f);
                        Gemm.multiplyAddRow(dy, position, width, kernels, patch);
                        for (int t = 0; t < taps; t++) {
                            sums[t] += patch[t];
                        }
                    }
                    int at = i * wp + u;
                    for (int g = 0; g < groupRows.length; g++) {
                        padded[groupRows[g] + at] += sums[g * r];
                    }
                }
            }
        }
    }
}
