package gpulenet.backend.cuda;

/**
 * {@link Cudnn} on the {@link EmulatedDriver}, written from the legacy API's documentation rather than from the
 * kernels: NCHW packed tensors, cross-correlation with zero padding, out = alpha * result + beta * out (out
 * not read when beta is 0), the pooling backward routing dy to the first maximum of each window of x. Sums
 * are in double, rounded once.
 *
 * <p>It refuses what cuDNN refuses with CUDNN_STATUS_BAD_PARAM (an output descriptor that is not what the
 * inputs give, dy and y or dx and x described differently, a bias that does not broadcast, a workspace
 * smaller than the algorithm's), and, as a device would fault, a descriptor that runs past its buffer's
 * allocation. Deterministic algorithms need a workspace (an im2col buffer's size), which every call
 * overwrites, so a workspace shared with live data shows up as a wrong result. Calls are queued like
 * launches: recorded into a graph while capturing.
 */
final class EmulatedCudnn implements Cudnn {
    static final long VERSION = 90500;
    /** The deterministic algorithm of each direction here; 0 is the non-deterministic one, needing no workspace. */
    static final int DETERMINISTIC = 1;

    private final EmulatedDriver device;
    private int calls;

    EmulatedCudnn(EmulatedDriver device) {
        this.device = device;
    }

    /** Calls queued outside graphs. */
    int calls() {
        return calls;
    }

    @Override
    public long version() {
        return VERSION;
    }

    @Override
    public Algorithm algorithm(Direction direction, Tensor4d x, Filter4d w, Convolution conv, boolean deterministic) {
        String call = "cudnnGetConvolution*Algorithm_v7";
        checkConvolution(call, x, w, conv);
        int id = deterministic ? DETERMINISTIC : 0;
        return new Algorithm(direction, id, direction + "_" + id, workspace(id, x, w, conv));
    }

    private static long workspace(int algo, Tensor4d x, Filter4d w, Convolution conv) {
        Tensor4d y = conv.output(x, w);
        return algo == 0 ? 0 : 4L * y.n() * y.h() * y.w() * w.c() * w.r() * w.s();
    }

    private static void checkConvolution(String call, Tensor4d x, Filter4d w, Convolution conv) {
        Tensor4d y = conv.output(x, w);
        if (w.c() != x.c() || y.h() <= 0 || y.w() <= 0 || conv.pad() < 0) {
            throw badParam(call, "convolution of " + x + " by " + w + " with " + conv);
        }
    }

    private static void checkWorkspace(String call, Algorithm algo, Direction direction, Tensor4d x, Filter4d w, Convolution conv,
                                       long bytes) {
        long needed = workspace(algo.id(), x, w, conv);
        if (algo.direction() != direction || bytes < needed) {
            throw badParam(call, direction + " with " + algo + " and a workspace of " + bytes + " bytes (needs " + needed + ")");
        }
    }

    private static void same(String call, String what, Object described, Object expected) {
        if (!described.equals(expected)) {
            throw badParam(call, what + " is described as " + described + " but must be " + expected);
        }
    }

    private static CudaOperationException badParam(String call, String why) {
        return new CudaOperationException(call + " failed: CUDNN_STATUS_BAD_PARAM (" + why + ")");
    }

    private void queue(Runnable work) {
        if (!device.capturing()) {
            calls++;
        }
        device.enqueue(work);
    }

    @Override
    public void convolutionForward(float alpha, Tensor4d xDesc, DevicePtr x, Filter4d wDesc, DevicePtr w,
                                   Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                   float beta, Tensor4d yDesc, DevicePtr y) {
        String call = "cudnnConvolutionForward";
        checkConvolution(call, xDesc, wDesc, conv);
        same(call, "y", yDesc, conv.output(xDesc, wDesc));
        checkWorkspace(call, algo, Direction.FORWARD, xDesc, wDesc, conv, workspaceBytes);
        device.requireFits(x, xDesc.elements());
        device.requireFits(w, wDesc.elements());
        device.requireFits(y, yDesc.elements());
        device.requireFitsBytes(workspace, workspaceBytes);
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] wv = device.read(w, wDesc.elements());
            float[] yv = beta == 0 ? new float[(int) yDesc.elements()] : device.read(y, yDesc.elements());
            int c = xDesc.c(), h = xDesc.h(), wd = xDesc.w(), r = wDesc.r(), s = wDesc.s(), p = conv.pad();
            int oh = yDesc.h(), ow = yDesc.w();
            for (int n = 0; n < xDesc.n(); n++) {
                for (int k = 0; k < wDesc.k(); k++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            double sum = 0;
                            for (int ci = 0; ci < c; ci++) {
                                for (int a = 0; a < r; a++) {
                                    int hi = i + a - p;
                                    if (hi < 0 || hi >= h) {
                                        continue;
                                    }
                                    for (int b = 0; b < s; b++) {
                                        int wi = j + b - p;
                                        if (wi >= 0 && wi < wd) {
                                            sum += (double) xv[((n * c + ci) * h + hi) * wd + wi] * wv[((k * c + ci) * r + a) * s + b];
                                        }
                                    }
                                }
                            }
                            int o = ((n * wDesc.k() + k) * oh + i) * ow + j;
                            yv[o] = blend(alpha, sum, beta, yv[o]);
                        }
                    }
                }
            }
            device.write(y, yv);
            device.scribble(workspace, workspaceBytes);
        });
    }

    @Override
    public void convolutionBackwardData(float alpha, Filter4d wDesc, DevicePtr w, Tensor4d dyDesc, DevicePtr dy,
                                        Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                        float beta, Tensor4d dxDesc, DevicePtr dx) {
        String call = "cudnnConvolutionBackwardData";
        checkConvolution(call, dxDesc, wDesc, conv);
        same(call, "dy", dyDesc, conv.output(dxDesc, wDesc));
        checkWorkspace(call, algo, Direction.BACKWARD_DATA, dxDesc, wDesc, conv, workspaceBytes);
        device.requireFits(w, wDesc.elements());
        device.requireFits(dy, dyDesc.elements());
        device.requireFits(dx, dxDesc.elements());
        device.requireFitsBytes(workspace, workspaceBytes);
        queue(() -> {
            float[] wv = device.read(w, wDesc.elements());
            float[] gv = device.read(dy, dyDesc.elements());
            float[] dxv = beta == 0 ? new float[(int) dxDesc.elements()] : device.read(dx, dxDesc.elements());
            int c = dxDesc.c(), h = dxDesc.h(), wd = dxDesc.w(), k = wDesc.k(), r = wDesc.r(), s = wDesc.s();
            int p = conv.pad(), oh = dyDesc.h(), ow = dyDesc.w();
            for (int n = 0; n < dxDesc.n(); n++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int hi = 0; hi < h; hi++) {
                        for (int wi = 0; wi < wd; wi++) {
                            double sum = 0;
                            for (int ki = 0; ki < k; ki++) {
                                for (int a = 0; a < r; a++) {
                                    int i = hi - a + p;
                                    if (i < 0 || i >= oh) {
                                        continue;
                                    }
                                    for (int b = 0; b < s; b++) {
                                        int j = wi - b + p;
                                        if (j >= 0 && j < ow) {
                                            sum += (double) gv[((n * k + ki) * oh + i) * ow + j] * wv[((ki * c + ci) * r + a) * s + b];
                                        }
                                    }
                                }
                            }
                            int o = ((n * c + ci) * h + hi) * wd + wi;
                            dxv[o] = blend(alpha, sum, beta, dxv[o]);
                        }
                    }
                }
            }
            device.write(dx, dxv);
            device.scribble(workspace, workspaceBytes);
        });
    }

    @Override
    public void convolutionBackwardFilter(float alpha, Tensor4d xDesc, DevicePtr x, Tensor4d dyDesc, DevicePtr dy,
                                          Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                          float beta, Filter4d dwDesc, DevicePtr dw) {
        String call = "cudnnConvolutionBackwardFilter";
        checkConvolution(call, xDesc, dwDesc, conv);
        same(call, "dy", dyDesc, conv.output(xDesc, dwDesc));
        checkWorkspace(call, algo, Direction.BACKWARD_FILTER, xDesc, dwDesc, conv, workspaceBytes);
        device.requireFits(x, xDesc.elements());
        device.requireFits(dy, dyDesc.elements());
        device.requireFits(dw, dwDesc.elements());
        device.requireFitsBytes(workspace, workspaceBytes);
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] gv = device.read(dy, dyDesc.elements());
            float[] dwv = beta == 0 ? new float[(int) dwDesc.elements()] : device.read(dw, dwDesc.elements());
            int c = xDesc.c(), h = xDesc.h(), wd = xDesc.w(), k = dwDesc.k(), r = dwDesc.r(), s = dwDesc.s();
            int p = conv.pad(), oh = dyDesc.h(), ow = dyDesc.w();
            for (int ki = 0; ki < k; ki++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int a = 0; a < r; a++) {
                        for (int b = 0; b < s; b++) {
                            double sum = 0;
                            for (int n = 0; n < xDesc.n(); n++) {
                                for (int i = 0; i < oh; i++) {
                                    int hi = i + a - p;
                                    if (hi < 0 || hi >= h) {
                                        continue;
                                    }
                                    for (int j = 0; j < ow; j++) {
                                        int wi = j + b - p;
                                        if (wi >= 0 && wi < wd) {
                                            sum += (double) xv[((n * c + ci) * h + hi) * wd + wi] * gv[((n * k + ki) * oh + i) * ow + j];
                                        }
                                    }
                                }
                            }
                            int o = ((ki * c + ci) * r + a) * s + b;
                            dwv[o] = blend(alpha, sum, beta, dwv[o]);
                        }
                    }
                }
            }
            device.write(dw, dwv);
            device.scribble(workspace, workspaceBytes);
        });
    }

    @Override
    public void convolutionBackwardBias(float alpha, Tensor4d dyDesc, DevicePtr dy, float beta, Tensor4d dbDesc,
                                        DevicePtr db) {
        String call = "cudnnConvolutionBackwardBias";
        same(call, "db", dbDesc, new Tensor4d(1, dyDesc.c(), 1, 1));
        device.requireFits(dy, dyDesc.elements());
        device.requireFits(db, dbDesc.elements());
        queue(() -> {
            float[] gv = device.read(dy, dyDesc.elements());
            float[] dbv = beta == 0 ? new float[dyDesc.c()] : device.read(db, dyDesc.c());
            int plane = dyDesc.h() * dyDesc.w();
            for (int k = 0; k < dyDesc.c(); k++) {
                double sum = 0;
                for (int n = 0; n < dyDesc.n(); n++) {
                    for (int i = 0; i < plane; i++) {
                        sum += gv[(n * dyDesc.c() + k) * plane + i];
                    }
                }
                dbv[k] = blend(alpha, sum, beta, dbv[k]);
            }
            device.write(db, dbv);
        });
    }

    @Override
    public void addTensor(float alpha, Tensor4d aDesc, DevicePtr a, float beta, Tensor4d cDesc, DevicePtr c) {
        String call = "cudnnAddTensor";
        int[] ad = {aDesc.n(), aDesc.c(), aDesc.h(), aDesc.w()};
        int[] cd = {cDesc.n(), cDesc.c(), cDesc.h(), cDesc.w()};
        for (int i = 0; i < 4; i++) {
            if (ad[i] != 1 && ad[i] != cd[i]) {
                throw badParam(call, "A " + aDesc + " does not broadcast to C " + cDesc);
            }
        }
        device.requireFits(a, aDesc.elements());
        device.requireFits(c, cDesc.elements());
        queue(() -> {
            float[] av = device.read(a, aDesc.elements());
            float[] cv = beta == 0 ? new float[(int) cDesc.elements()] : device.read(c, cDesc.elements());
            int o = 0;
            for (int n = 0; n < cd[0]; n++) {
                for (int k = 0; k < cd[1]; k++) {
                    for (int i = 0; i < cd[2]; i++) {
                        for (int j = 0; j < cd[3]; j++, o++) {
                            int ai = (((ad[0] == 1 ? 0 : n) * ad[1] + (ad[1] == 1 ? 0 : k)) * ad[2]
                                    + (ad[2] == 1 ? 0 : i)) * ad[3] + (ad[3] == 1 ? 0 : j);
                            cv[o] = blend(alpha, av[ai], beta, cv[o]);
                        }
                    }
                }
            }
            device.write(c, cv);
        });
    }

    @Override
    public void poolingForward(Pooling pooling, float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc,
                               DevicePtr y) {
        String call = "cudnnPoolingForward";
        same(call, "y", yDesc, pooling.output(xDesc));
        device.requireFits(x, xDesc.elements());
        device.requireFits(y, yDesc.elements());
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] yv = beta == 0 ? new float[(int) yDesc.elements()] : device.read(y, yDesc.elements());
            for (int o = 0; o < yv.length; o++) {
                yv[o] = blend(alpha, xv[windowMax(pooling, xDesc, yDesc, xv, o)], beta, yv[o]);
            }
            device.write(y, yv);
        });
    }

    /** The flat index into x of the first maximum of output o's window. */
    private static int windowMax(Pooling pooling, Tensor4d xDesc, Tensor4d yDesc, float[] xv, int o) {
        int j = o % yDesc.w();
        int i = o / yDesc.w() % yDesc.h();
        int plane = o / (yDesc.w() * yDesc.h());
        int best = -1;
        for (int a = 0; a < pooling.window(); a++) {
            for (int b = 0; b < pooling.window(); b++) {
                int at = (plane * xDesc.h() + i * pooling.stride() + a) * xDesc.w() + j * pooling.stride() + b;
                if (best < 0 || xv[at] > xv[best]) {
                    best = at;
                }
            }
        }
        return best;
    }

    @Override
    public void poolingBackward(Pooling pooling, float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc,
                                DevicePtr dy, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx) {
        String call = "cudnnPoolingBackward";
        same(call, "y", yDesc, pooling.output(xDesc));
        same(call, "dy", dyDesc, yDesc);
        same(call, "dx", dxDesc, xDesc);
        device.requireFits(y, yDesc.elements());
        device.requireFits(dy, dyDesc.elements());
        device.requireFits(x, xDesc.elements());
        device.requireFits(dx, dxDesc.elements());
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] gv = device.read(dy, dyDesc.elements());
            double[] routed = new double[xv.length];
            for (int o = 0; o < gv.length; o++) {
                routed[windowMax(pooling, xDesc, yDesc, xv, o)] += gv[o];
            }
            float[] dxv = beta == 0 ? new float[xv.length] : device.read(dx, dxDesc.elements());
            for (int i = 0; i < dxv.length; i++) {
                dxv[i] = blend(alpha, routed[i], beta, dxv[i]);
            }
            device.write(dx, dxv);
        });
    }

    @Override
    public void reluForward(float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc, DevicePtr y) {
        String call = "cudnnActivationForward";
        same(call, "y", yDesc, xDesc);
        device.requireFits(x, xDesc.elements());
        device.requireFits(y, yDesc.elements());
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] yv = beta == 0 ? new float[xv.length] : device.read(y, yDesc.elements());
            for (int i = 0; i < xv.length; i++) {
                yv[i] = blend(alpha, Math.max(xv[i], 0f), beta, yv[i]);
            }
            device.write(y, yv);
        });
    }

    @Override
    public void reluBackward(float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc, DevicePtr dy, Tensor4d xDesc,
                             DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx) {
        String call = "cudnnActivationBackward";
        same(call, "dy", dyDesc, yDesc);
        same(call, "x", xDesc, yDesc);
        same(call, "dx", dxDesc, yDesc);
        device.requireFits(y, yDesc.elements());
        device.requireFits(dy, dyDesc.elements());
        device.requireFits(x, xDesc.elements());
        device.requireFits(dx, dxDesc.elements());
        queue(() -> {
            float[] xv = device.read(x, xDesc.elements());
            float[] gv = device.read(dy, dyDesc.elements());
            float[] dxv = beta == 0 ? new float[xv.length] : device.read(dx, dxDesc.elements());
            for (int i = 0; i < xv.length; i++) {
                dxv[i] = blend(alpha, xv[i] > 0 ? gv[i] : 0f, beta, dxv[i]);
            }
            device.write(dx, dxv);
        });
    }

    /** alpha * result + beta * out, the old value not read when beta is 0 (cuDNN's rule). */
    private static float blend(float alpha, double result, float beta, float out) {
        return beta == 0 ? (float) (alpha * result) : (float) (alpha * result + (double) beta * out);
    }

    @Override
    public void close() {
    }
}
