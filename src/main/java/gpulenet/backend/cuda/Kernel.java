package gpulenet.backend.cuda;

import static gpulenet.backend.cuda.Kernel.Arg.FLOAT;
import static gpulenet.backend.cuda.Kernel.Arg.INT;
import static gpulenet.backend.cuda.Kernel.Arg.LONG;
import static gpulenet.backend.cuda.Kernel.Arg.PTR;

import java.util.List;

/**
 * Every kernel the CUDA backend launches: its extern "C" name, the module (kernels/&lt;module&gt;.cu, shipped
 * as kernels/&lt;module&gt;.ptx) and its parameter kinds in declaration order. Every launch goes through
 * {@link #checkArgs}, and a test checks this table against the parsed kernels/*.cu.
 */
public enum Kernel {
    GATHER_NORMALIZE("gather", "gather_normalize", PTR, PTR, PTR, PTR, INT, INT, INT, INT, FLOAT, FLOAT, PTR, PTR),
    CONV2D_FORWARD("conv", "conv2d_forward", PTR, PTR, PTR, PTR, PTR, PTR, INT, INT, INT, INT, INT, INT, INT, INT),
    CONV2D_FORWARD_GATHER("conv", "conv2d_forward_gather", PTR, PTR, PTR, PTR, INT, INT, FLOAT, FLOAT, PTR, PTR, PTR, PTR,
            PTR, PTR, PTR, INT, INT, INT, INT, INT, INT, INT),
    CONV2D_BACKWARD("conv", "conv2d_backward", PTR, PTR, PTR, PTR, INT, PTR, PTR, PTR, PTR, PTR, PTR, INT, INT, INT, INT, INT,
            INT, INT, INT),
    MAXPOOL2X2_FORWARD("pool", "maxpool2x2_forward", PTR, PTR, PTR, INT, INT, INT, INT),
    MAXPOOL2X2_BACKWARD("pool", "maxpool2x2_backward", PTR, PTR, PTR, PTR, INT, INT, INT, INT, INT),
    BIAS_FORWARD("linear", "bias_forward", PTR, PTR, INT, INT, INT),
    BIAS_BACKWARD("linear", "bias_backward", PTR, PTR, INT, INT),
    RELU_FORWARD("relu", "relu_forward", PTR, PTR, INT),
    RELU_BACKWARD("relu", "relu_backward", PTR, PTR, PTR, INT),
    DROPOUT2D_MASK("dropout", "dropout2d_mask", PTR, INT, INT, LONG, PTR, LONG, FLOAT, FLOAT),
    DROPOUT2D_APPLY("dropout", "dropout2d_apply", PTR, PTR, PTR, INT, INT),
    SOFTMAX_CROSS_ENTROPY("softmax_xent", "softmax_cross_entropy", PTR, PTR, PTR, PTR, INT, INT),
    SGD_MOMENTUM("sgd", "sgd_momentum", PTR, PTR, PTR, INT, PTR, PTR, FLOAT, FLOAT, FLOAT, INT),
    ADAM_UPDATE("adam", "adam_update", PTR, PTR, PTR, PTR, INT, PTR, PTR, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT, FLOAT),
    SGEMM("gemm", "sgemm", INT, INT, INT, INT, INT, FLOAT, PTR, INT, PTR, INT, FLOAT, PTR, INT),
    STEP_ADVANCE("step", "step_advance", PTR),
    LINEAR_HEAD_STEP("head", "linear_head_step", PTR, INT, INT, PTR, PTR, PTR, INT, INT, INT,
            INT, INT, INT, INT, PTR, PTR, INT, INT, INT, INT, PTR, PTR, INT, INT, INT, INT, PTR, PTR,
            PTR, INT, INT, PTR),
    HEAD_REDUCE("head", "head_reduce", PTR, INT, INT, PTR, PTR, INT, PTR);

    /** The kind of one kernel parameter: any pointer, a 32-bit int, a 64-bit integer, or a float. */
    public enum Arg {
        PTR(DevicePtr.class), INT(Integer.class), LONG(Long.class), FLOAT(Float.class);

        public final Class<?> javaType;

        Arg(Class<?> javaType) {
            this.javaType = javaType;
        }
    }

    public final String module;
    public final String symbol;
    private final List<Arg> params;

    Kernel(String module, String symbol, Arg... params) {
        this.module = module;
        this.symbol = symbol;
        this.params = List.of(params);
    }

    public List<Arg> params() {
        return params;
    }

    /** Throws unless {@code args} match the parameters in number and kind. */
    public void checkArgs(Object... args) {
        if (args.length != params.size()) {
            throw new IllegalArgumentException(symbol + " takes " + params.size() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Arg want = params.get(i);
            if (!want.javaType.isInstance(args[i])) {
                throw new IllegalArgumentException(symbol + " argument " + i + " must be " + want + ", got "
                        + (args[i] == null ? "null" : args[i].getClass().getSimpleName()));
            }
        }
    }
}
