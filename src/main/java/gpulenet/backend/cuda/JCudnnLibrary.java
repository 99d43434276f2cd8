package gpulenet.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnActivationDescriptor;
import jcuda.jcudnn.cudnnActivationMode;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnDeterminism;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnNanPropagation;
import jcuda.jcudnn.cudnnPoolingDescriptor;
import jcuda.jcudnn.cudnnPoolingMode;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;
import jcuda.runtime.cudaStream_t;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * {@link Cudnn} through JCudnn: JCudnn 11.7.0's classes on the 12.6.0 natives, which link libcudnn.so.9 (see
 * the pom). Of the class's native methods, only those present in the 12.6.0 library are called. JCudnn's
 * exceptions stay off: it names statuses by cuDNN 8's numbering, so every status is checked here and named
 * by {@link CudnnStatus}, with the library's own cudnnGetErrorString. Native descriptors are made once per
 * distinct value and kept until close; scalars are host memory, read when a call is queued.
 */
final class JCudnnLibrary implements Cudnn {
    /** Forward has 8 algorithms in cuDNN 9, backward data 6, backward filter 7. */
    private static final int MAX_ALGORITHMS = 8;
    private static final String[] FORWARD = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT",
        "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    private static final String[] BACKWARD_DATA = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD",
        "WINOGRAD_NONFUSED"};
    private static final String[] BACKWARD_FILTER = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD",
        "WINOGRAD_NONFUSED", "FFT_TILING"};
    /**
     * Where the heuristics return nothing usable: IMPLICIT_GEMM forward and ALGO_1 backward, deterministic and
     * supported for every shape of these networks.
     */
    private static final int FALLBACK_FORWARD = 0;
    private static final int FALLBACK_BACKWARD = 1;

    private static boolean loaded;
    private static String loadFailure;

    private final cudnnHandle handle;
    private final Function<DevicePtr, Pointer> address;
    private final Map<Tensor4d, cudnnTensorDescriptor> tensors = new HashMap<>();
    private final Map<Filter4d, cudnnFilterDescriptor> filters = new HashMap<>();
    private final Map<Convolution, cudnnConvolutionDescriptor> convolutions = new HashMap<>();
    private final Map<Pooling, cudnnPoolingDescriptor> poolings = new HashMap<>();
    private final cudnnActivationDescriptor relu = new cudnnActivationDescriptor();
    private final List<Runnable> destroy = new ArrayList<>();
    private boolean closed;

    /**
     * Loads JCudnn's natives (once per process) and creates a handle bound to {@code stream}, or throws
     * {@link CudnnUnavailableException} with the one-line reason and what to install or set.
     */
    static JCudnnLibrary open(CUstream stream, Function<DevicePtr, Pointer> address) {
        load();
        try {
            return create(stream, address);
        } catch (UnsatisfiedLinkError e) {
            // a JCudnn 11.7.0 method the 12.6.0 natives do not have: this binding cannot run here
            throw new CudnnUnavailableException("JCudnn's natives lack a call the backend makes: " + e.getMessage());
        }
    }

    private static JCudnnLibrary create(CUstream stream, Function<DevicePtr, Pointer> address) {
        cudnnHandle handle = new cudnnHandle();
        int status = JCudnn.cudnnCreate(handle);
        if (status != 0) {
            throw new CudnnUnavailableException("cudnnCreate failed: " + describe(status));
        }
        JCudnnLibrary lib = new JCudnnLibrary(handle, address);
        try {
            lib.check("cudnnSetStream", JCudnn.cudnnSetStream(handle, new cudaStream_t(stream)));
            lib.check("cudnnCreateActivationDescriptor", JCudnn.cudnnCreateActivationDescriptor(lib.relu));
            lib.destroy.add(() -> JCudnn.cudnnDestroyActivationDescriptor(lib.relu));
            lib.check("cudnnSetActivationDescriptor", JCudnn.cudnnSetActivationDescriptor(lib.relu,
                    cudnnActivationMode.CUDNN_ACTIVATION_RELU, cudnnNanPropagation.CUDNN_PROPAGATE_NAN, 0.0));
        } catch (RuntimeException e) {
            lib.close();
            throw e;
        }
        return lib;
    }

    /**
     * The cuDNN version that loads, as "9.5.0", or the reason none does: what {@code info} prints. Loads the
     * natives (once per process) but creates no handle.
     */
    static String probe() {
        try {
            load();
        } catch (CudnnUnavailableException e) {
            return "not loaded: " + e.getMessage();
        }
        return versionString(JCudnn.cudnnGetVersion()) + " (libcudnn.so.9, loaded by JCudnn's " + jcuda.JCudaVersion.get()
                + " natives)";
    }

    /** 90500 -> "9.5.0" (cuDNN 9 encodes major*10000 + minor*100 + patch). */
    static String versionString(long version) {
        return version / 10000 + "." + version / 100 % 100 + "." + version % 100;
    }

    private static synchronized void load() {
        if (!loaded && loadFailure == null) {
            try {
                JCudnn.setExceptionsEnabled(false);
                JCudnn.cudnnGetVersion();
                loaded = true;
            } catch (LinkageError e) {
                loadFailure = JCudaDriver.describeLinkFailure(e, "libcudnn.so",
                        "libcudnn.so.9 (cuDNN 9, which JCudnn's 12.6.0 natives link) is not installed: install cuDNN 9"
                                + " (NVIDIA's libcudnn9-cuda-12 package, or pip's nvidia-cudnn-cu12 or -cu13, whose"
                                + " nvidia/cudnn/lib folder holds it) and put its folder on LD_LIBRARY_PATH",
                        "JCudnn's native library failed to load");
            }
        }
        if (loadFailure != null) {
            throw new CudnnUnavailableException(loadFailure);
        }
    }

    private JCudnnLibrary(cudnnHandle handle, Function<DevicePtr, Pointer> address) {
        this.handle = handle;
        this.address = address;
    }

    @Override
    public long version() {
        return JCudnn.cudnnGetVersion();
    }

    @Override
    public Algorithm algorithm(Direction direction, Tensor4d x, Filter4d w, Convolution conv, boolean deterministic) {
        cudnnTensorDescriptor xd = tensor(x);
        cudnnFilterDescriptor wd = filter(w);
        cudnnConvolutionDescriptor cd = convolution(conv);
        cudnnTensorDescriptor yd = tensor(conv.output(x, w));
        int[] count = {0};
        int id = -1;
        long[] bytes = {0};
        switch (direction) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[MAX_ALGORITHMS];
                for (int i = 0; i < perf.length; i++) {
                    perf[i] = new cudnnConvolutionFwdAlgoPerf();
                }
                check("cudnnGetConvolutionForwardAlgorithm_v7", JCudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle,
                        xd, wd, cd, yd, perf.length, count, perf));
                for (int i = 0; i < count[0] && id < 0; i++) {
                    if (usable(perf[i].status, perf[i].determinism, deterministic)) {
                        id = perf[i].algo;
                    }
                }
                id = id < 0 ? FALLBACK_FORWARD : id;
                check("cudnnGetConvolutionForwardWorkspaceSize", JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle,
                        xd, wd, cd, yd, id, bytes));
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[MAX_ALGORITHMS];
                for (int i = 0; i < perf.length; i++) {
                    perf[i] = new cudnnConvolutionBwdDataAlgoPerf();
                }
                check("cudnnGetConvolutionBackwardDataAlgorithm_v7", JCudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(
                        handle, wd, yd, cd, xd, perf.length, count, perf));
                for (int i = 0; i < count[0] && id < 0; i++) {
                    if (usable(perf[i].status, perf[i].determinism, deterministic)) {
                        id = perf[i].algo;
                    }
                }
                id = id < 0 ? FALLBACK_BACKWARD : id;
                check("cudnnGetConvolutionBackwardDataWorkspaceSize", JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(
                        handle, wd, yd, cd, xd, id, bytes));
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[MAX_ALGORITHMS];
                for (int i = 0; i < perf.length; i++) {
                    perf[i] = new cudnnConvolutionBwdFilterAlgoPerf();
                }
                check("cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                        JCudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xd, yd, cd, wd, perf.length, count,
                                perf));
                for (int i = 0; i < count[0] && id < 0; i++) {
                    if (usable(perf[i].status, perf[i].determinism, deterministic)) {
                        id = perf[i].algo;
                    }
                }
                id = id < 0 ? FALLBACK_BACKWARD : id;
                check("cudnnGetConvolutionBackwardFilterWorkspaceSize",
                        JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xd, yd, cd, wd, id, bytes));
            }
            default -> throw new IllegalArgumentException(direction.toString());
        }
        String[] names = direction == Direction.FORWARD ? FORWARD
                : direction == Direction.BACKWARD_DATA ? BACKWARD_DATA : BACKWARD_FILTER;
        String name = id < names.length ? names[id] : "algorithm " + id;
        return new Algorithm(direction, id, name, bytes[0]);
    }

    private static boolean usable(int status, int determinism, boolean deterministic) {
        return status == 0 && (!deterministic || determinism == cudnnDeterminism.CUDNN_DETERMINISTIC);
    }

    @Override
    public void convolutionForward(float alpha, Tensor4d xDesc, DevicePtr x, Filter4d wDesc, DevicePtr w,
                                   Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                   float beta, Tensor4d yDesc, DevicePtr y) {
        check("cudnnConvolutionForward", JCudnn.cudnnConvolutionForward(handle, scalar(alpha), tensor(xDesc), at(x),
                filter(wDesc), at(w), convolution(conv), algo.id(), at(workspace), workspaceBytes, scalar(beta),
                tensor(yDesc), at(y)));
    }

    @Override
    public void convolutionBackwardData(float alpha, Filter4d wDesc, DevicePtr w, Tensor4d dyDesc, DevicePtr dy,
                                        Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                        float beta, Tensor4d dxDesc, DevicePtr dx) {
        check("cudnnConvolutionBackwardData", JCudnn.cudnnConvolutionBackwardData(handle, scalar(alpha), filter(wDesc),
                at(w), tensor(dyDesc), at(dy), convolution(conv), algo.id(), at(workspace), workspaceBytes, scalar(beta),
                tensor(dxDesc), at(dx)));
    }

    @Override
    public void convolutionBackwardFilter(float alpha, Tensor4d xDesc, DevicePtr x, Tensor4d dyDesc, DevicePtr dy,
                                          Convolution conv, Algorithm algo, DevicePtr workspace, long workspaceBytes,
                                          float beta, Filter4d dwDesc, DevicePtr dw) {
        check("cudnnConvolutionBackwardFilter", JCudnn.cudnnConvolutionBackwardFilter(handle, scalar(alpha),
                tensor(xDesc), at(x), tensor(dyDesc), at(dy), convolution(conv), algo.id(), at(workspace),
                workspaceBytes, scalar(beta), filter(dwDesc), at(dw)));
    }

    @Override
    public void convolutionBackwardBias(float alpha, Tensor4d dyDesc, DevicePtr dy, float beta, Tensor4d dbDesc,
                                        DevicePtr db) {
        check("cudnnConvolutionBackwardBias", JCudnn.cudnnConvolutionBackwardBias(handle, scalar(alpha), tensor(dyDesc),
                at(dy), scalar(beta), tensor(dbDesc), at(db)));
    }

    @Override
    public void addTensor(float alpha, Tensor4d aDesc, DevicePtr a, float beta, Tensor4d cDesc, DevicePtr c) {
        check("cudnnAddTensor", JCudnn.cudnnAddTensor(handle, scalar(alpha), tensor(aDesc), at(a), scalar(beta),
                tensor(cDesc), at(c)));
    }

    @Override
    public void poolingForward(Pooling pooling, float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc,
                               DevicePtr y) {
        check("cudnnPoolingForward", JCudnn.cudnnPoolingForward(handle, pooling(pooling), scalar(alpha), tensor(xDesc),
                at(x), scalar(beta), tensor(yDesc), at(y)));
    }

    @Override
    public void poolingBackward(Pooling pooling, float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc,
                                DevicePtr dy, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx) {
        check("cudnnPoolingBackward", JCudnn.cudnnPoolingBackward(handle, pooling(pooling), scalar(alpha), tensor(yDesc),
                at(y), tensor(dyDesc), at(dy), tensor(xDesc), at(x), scalar(beta), tensor(dxDesc), at(dx)));
    }

    @Override
    public void reluForward(float alpha, Tensor4d xDesc, DevicePtr x, float beta, Tensor4d yDesc, DevicePtr y) {
        check("cudnnActivationForward", JCudnn.cudnnActivationForward(handle, relu, scalar(alpha), tensor(xDesc), at(x),
                scalar(beta), tensor(yDesc), at(y)));
    }

    @Override
    public void reluBackward(float alpha, Tensor4d yDesc, DevicePtr y, Tensor4d dyDesc, DevicePtr dy, Tensor4d xDesc,
                             DevicePtr x, float beta, Tensor4d dxDesc, DevicePtr dx) {
        check("cudnnActivationBackward", JCudnn.cudnnActivationBackward(handle, relu, scalar(alpha), tensor(yDesc), at(y),
                tensor(dyDesc), at(dy), tensor(xDesc), at(x), scalar(beta), tensor(dxDesc), at(dx)));
    }

    /** A device address; the null pointer for none (a workspace of 0 bytes). */
    private Pointer at(DevicePtr p) {
        return p.isNull() ? new Pointer() : address.apply(p);
    }

    /** cuDNN reads host scalars when the call is queued (a captured call keeps their values). */
    private static Pointer scalar(float value) {
        return Pointer.to(new float[] {value});
    }

    private cudnnTensorDescriptor tensor(Tensor4d t) {
        return tensors.computeIfAbsent(t, k -> {
            cudnnTensorDescriptor d = new cudnnTensorDescriptor();
            check("cudnnCreateTensorDescriptor", JCudnn.cudnnCreateTensorDescriptor(d));
            destroy.add(() -> JCudnn.cudnnDestroyTensorDescriptor(d));
            check("cudnnSetTensor4dDescriptor", JCudnn.cudnnSetTensor4dDescriptor(d, cudnnTensorFormat.CUDNN_TENSOR_NCHW,
                    cudnnDataType.CUDNN_DATA_FLOAT, k.n(), k.c(), k.h(), k.w()));
            return d;
        });
    }

    private cudnnFilterDescriptor filter(Filter4d f) {
        return filters.computeIfAbsent(f, k -> {
            cudnnFilterDescriptor d = new cudnnFilterDescriptor();
            check("cudnnCreateFilterDescriptor", JCudnn.cudnnCreateFilterDescriptor(d));
            destroy.add(() -> JCudnn.cudnnDestroyFilterDescriptor(d));
            check("cudnnSetFilter4dDescriptor", JCudnn.cudnnSetFilter4dDescriptor(d, cudnnDataType.CUDNN_DATA_FLOAT,
                    cudnnTensorFormat.CUDNN_TENSOR_NCHW, k.k(), k.c(), k.r(), k.s()));
            return d;
        });
    }

    private cudnnConvolutionDescriptor convolution(Convolution c) {
        return convolutions.computeIfAbsent(c, k -> {
            cudnnConvolutionDescriptor d = new cudnnConvolutionDescriptor();
            check("cudnnCreateConvolutionDescriptor", JCudnn.cudnnCreateConvolutionDescriptor(d));
            destroy.add(() -> JCudnn.cudnnDestroyConvolutionDescriptor(d));
            check("cudnnSetConvolution2dDescriptor", JCudnn.cudnnSetConvolution2dDescriptor(d, k.pad(), k.pad(), 1, 1,
                    1, 1, cudnnConvolutionMode.CUDNN_CROSS_CORRELATION, cudnnDataType.CUDNN_DATA_FLOAT));
            // plain float32 FMAs: the default would let an Ampere or newer GPU use TF32 tensor cores
            check("cudnnSetConvolutionMathType", JCudnn.cudnnSetConvolutionMathType(d, cudnnMathType.CUDNN_FMA_MATH));
            return d;
        });
    }

    private cudnnPoolingDescriptor pooling(Pooling p) {
        return poolings.computeIfAbsent(p, k -> {
            cudnnPoolingDescriptor d = new cudnnPoolingDescriptor();
            check("cudnnCreatePoolingDescriptor", JCudnn.cudnnCreatePoolingDescriptor(d));
            destroy.add(() -> JCudnn.cudnnDestroyPoolingDescriptor(d));
            check("cudnnSetPooling2dDescriptor", JCudnn.cudnnSetPooling2dDescriptor(d,
                    cudnnPoolingMode.CUDNN_POOLING_MAX_DETERMINISTIC, cudnnNanPropagation.CUDNN_PROPAGATE_NAN, k.window(),
                    k.window(), 0, 0, k.stride(), k.stride()));
            return d;
        });
    }

    private void check(String call, int status) {
        if (status != 0) {
            throw new CudaOperationException(call + " failed: " + describe(status));
        }
    }

    /** The cuDNN 9 name of a status and the library's own text for it. */
    static String describe(int status) {
        return CudnnStatus.name(status) + " (" + JCudnn.cudnnGetErrorString(status) + ")";
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        destroy.forEach(Runnable::run);
        JCudnn.cudnnDestroy(handle);
    }
}
