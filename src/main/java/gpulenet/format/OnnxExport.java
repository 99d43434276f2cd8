package gpulenet.format;

import gpulenet.io.InputException;
import gpulenet.model.InputTransform;
import gpulenet.model.Model;
import gpulenet.model.Parameters;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A network and its weights as an ONNX model (IR version 7, opset 13), written with {@link Protobuf} from the
 * field numbers of onnx.proto, so the jar needs no ONNX library.
 *
 * <p>The graph, for any layer list {@link Model} accepts:
 * <ul>
 *   <li>input {@value #INPUT}: float32 [N,1,H,W] with a symbolic batch dimension {@value #BATCH}, holding what
 *       torchvision's ToTensor gives, x = pixel/255 in [0, 1]. The input transform's Resize is not part of the
 *       graph: H and W are the size the network takes (32 for lenet5-32, which expects the caller to resize);</li>
 *   <li>a model trained with Normalize((mean,),(std,)) starts with Sub(x, mean) and Div(., std), which give the
 *       training input's float32 values exactly, for every network (folding them into the first Conv's weights
 *       would be exact only without zero padding, and would change the stored weights);</li>
 *   <li>Conv2d is Conv (kernel_shape, pads, strides 1), ReLU is Relu, MaxPool2d is MaxPool (kernel 2, stride 2,
 *       floor mode, as ceil_mode=False), Flatten is Flatten(axis=1), Linear is Gemm(x, W, b) with transB=1;
 *       Dropout2d is left out, as it is the identity at inference;</li>
 *   <li>output {@value #OUTPUT}: float32 [N,10], the last layer's output (no softmax);</li>
 *   <li>the weights are initializers under their PyTorch names (conv1.weight, ...) in PyTorch's layouts,
 *       float32 little-endian in raw_data.</li>
 * </ul>
 * The model's doc_string says the same, and its metadata_props record the model's name and input transform.
 */
public final class OnnxExport {
    public static final long IR_VERSION = 7;
    public static final long OPSET = 13;
    public static final String INPUT = "input";
    public static final String OUTPUT = "logits";
    public static final String BATCH = "N";
    public static final String PRODUCER = "gpu-lenet";

    /** protobuf's hard limit on a message; a model this large cannot be written as one file. */
    private static final long MAX_BYTES = Integer.MAX_VALUE;

    // onnx.proto field numbers
    private static final int MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3,
            MODEL_DOC_STRING = 6, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8, MODEL_METADATA_PROPS = 14;
    private static final int ENTRY_KEY = 1, ENTRY_VALUE = 2;
    private static final int OPSET_DOMAIN = 1, OPSET_VERSION = 2;
    private static final int GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_DOC_STRING = 10,
            GRAPH_INPUT = 11, GRAPH_OUTPUT = 12;
    private static final int NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5;
    private static final int ATTRIBUTE_NAME = 1, ATTRIBUTE_I = 3, ATTRIBUTE_INTS = 8, ATTRIBUTE_TYPE = 20;
    private static final int ATTRIBUTE_TYPE_INT = 2, ATTRIBUTE_TYPE_INTS = 7;
    private static final int TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9;
    private static final int TENSOR_FLOAT = 1;
    private static final int VALUE_INFO_NAME = 1, VALUE_INFO_TYPE = 2, VALUE_INFO_DOC_STRING = 3;
    private static final int TYPE_TENSOR_TYPE = 1;
    private static final int TENSOR_TYPE_ELEM_TYPE = 1, TENSOR_TYPE_SHAPE = 2;
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1, DIM_PARAM = 2;

    private OnnxExport() {
    }

    /** As {@link #encode(Model, float[], int, int, String)}, with the values of {@code params}. */
    public static byte[] encode(Model model, Parameters params, int height, int width, String producerVersion) {
        return encode(model, params.downloadValues(), height, width, producerVersion);
    }

    /**
     * The serialized ModelProto of {@code model} for single-channel {@code height x width} input.
     *
     * @param values the weights, flat in the layout of {@link Parameters#layout} of the model's parameter shapes
     */
    public static byte[] encode(Model model, float[] values, int height, int width, String producerVersion) {
        List<Parameters.Spec> specs = Parameters.layout(model.parameterShapes());
        long total = specs.stream().mapToLong(Parameters.Spec::size).sum();
        if (values.length != total) {
            throw new IllegalArgumentException("expected " + total + " values, got " + values.length);
        }
        if (4 * total > MAX_BYTES - (1 << 20)) {
            throw new InputException(model.name() + ": " + total + " parameters (" + (4 * total >> 20)
                    + " MiB) do not fit in one ONNX file (protobuf's 2 GiB limit)");
        }
        model.outputShapes(height, width);
        InputTransform t = model.transform();

        GraphBuilder g = new GraphBuilder();
        g.reserve(INPUT);
        g.reserve(OUTPUT);
        for (Parameters.Spec s : specs) {
            g.reserve(s.name());
            g.initializer(s.name(), s.shape(), values, s.offset(), s.size());
        }
        String x = INPUT;
        if (t.normalizes()) {
            String mean = g.fresh("input.mean");
            String std = g.fresh("input.std");
            g.initializer(mean, new int[0], new float[]{t.mean()}, 0, 1);
            g.initializer(std, new int[0], new float[]{t.std()}, 0, 1);
            String centred = g.fresh("input_minus_mean");
            g.node("Sub", "normalize.sub", List.of(x, mean), centred);
            String normalized = g.fresh("normalized");
            g.node("Div", "normalize.div", List.of(centred, std), normalized);
            x = normalized;
        }
        List<Layer> layers = model.layers();
        int last = layers.size() - 1;
        while (layers.get(last) instanceof Dropout2d) {
            last--;
        }
        for (int i = 0; i <= last; i++) {
            Layer l = layers.get(i);
            if (l instanceof Dropout2d) {
                continue;
            }
            String out = i == last ? OUTPUT : g.fresh(l.name());
            if (l instanceof Conv2d c) {
                g.node("Conv", l.name(), List.of(x, c.name() + ".weight", c.name() + ".bias"), out,
                        ints("kernel_shape", c.kernel(), c.kernel()),
                        ints("pads", c.padding(), c.padding(), c.padding(), c.padding()),
                        ints("strides", 1, 1));
            } else if (l instanceof ReLU) {
                g.node("Relu", l.name(), List.of(x), out);
            } else if (l instanceof MaxPool2d) {
                g.node("MaxPool", l.name(), List.of(x), out, ints("kernel_shape", 2, 2), ints("strides", 2, 2),
                        integer("ceil_mode", 0));
            } else if (l instanceof Flatten) {
                g.node("Flatten", l.name(), List.of(x), out, integer("axis", 1));
            } else if (l instanceof Linear lin) {
                g.node("Gemm", l.name(), List.of(x, lin.name() + ".weight", lin.name() + ".bias"), out,
                        integer("transB", 1));
            } else {
                throw new IllegalStateException("no ONNX op for " + l);
            }
            x = out;
        }

        String doc = docString(model, height, width);
        Protobuf graph = new Protobuf();
        g.nodes.forEach(n -> graph.message(GRAPH_NODE, n));
        graph.string(GRAPH_NAME, model.name());
        g.initializers.forEach(i -> graph.message(GRAPH_INITIALIZER, i));
        graph.string(GRAPH_DOC_STRING, doc);
        graph.message(GRAPH_INPUT, valueInfo(INPUT, new long[]{-1, 1, height, width},
                "float32 [N,1," + height + "," + width + "]: x = pixel/255 in [0, 1], as ToTensor gives"));
        graph.message(GRAPH_OUTPUT, valueInfo(OUTPUT, new long[]{-1, Model.CLASSES},
                "float32 [N," + Model.CLASSES + "]: one logit per digit, before softmax"));

        Protobuf m = new Protobuf()
                .varint(MODEL_IR_VERSION, IR_VERSION)
                .string(MODEL_PRODUCER_NAME, PRODUCER)
                .string(MODEL_PRODUCER_VERSION, producerVersion)
                .string(MODEL_DOC_STRING, doc)
                .message(MODEL_GRAPH, graph)
                .message(MODEL_OPSET_IMPORT, new Protobuf().string(OPSET_DOMAIN, "").varint(OPSET_VERSION, OPSET));
        metadata(model, height, width).forEach((k, v) ->
                m.message(MODEL_METADATA_PROPS, new Protobuf().string(ENTRY_KEY, k).string(ENTRY_VALUE, v)));
        return m.toByteArray();
    }

    /** What the model's doc_string says about its input and output. */
    static String docString(Model model, int height, int width) {
        InputTransform t = model.transform();
        String size = height + "," + width;
        StringBuilder sb = new StringBuilder();
        sb.append(model.name()).append(", exported by gpu-lenet. Input \"").append(INPUT)
                .append("\": float32 [N,1,").append(size).append("], x = pixel/255 in [0, 1] (what torchvision's ToTensor gives");
        if (t.resize() > 0) {
            sb.append(" after Resize((").append(t.resize()).append(',').append(t.resize())
                    .append(")), which is not part of this graph: resize the images first");
        }
        sb.append("). ");
        if (t.normalizes()) {
            sb.append(String.format(Locale.ROOT, "The graph normalises it as the model was trained, (x - %s)/%s "
                    + "(Normalize((%s,),(%s,))), with a Sub and a Div node: do not normalise it again. ",
                    t.mean(), t.std(), t.mean(), t.std()));
        } else {
            sb.append("The model was trained on x itself, without Normalize. ");
        }
        sb.append("Output \"").append(OUTPUT).append("\": float32 [N,").append(Model.CLASSES)
                .append("], one logit per digit 0-9 (softmax gives the probabilities). Dropout2d layers are left out "
                        + "(the identity at inference); the weights are initializers under their PyTorch names.");
        return sb.toString();
    }

    /** The model_props: the model's name and input transform, as a reader of the file would want them. */
    static Map<String, String> metadata(Model model, int height, int width) {
        InputTransform t = model.transform();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", model.name());
        m.put("input", "x = pixel/255, float32 [N,1," + height + "," + width + "]");
        m.put("input_transform", t.describe());
        m.put("normalize", t.normalizeText());
        m.put("resize", Integer.toString(t.resize()));
        return m;
    }

    private static Protobuf ints(String name, long... values) {
        return new Protobuf().string(ATTRIBUTE_NAME, name).varints(ATTRIBUTE_INTS, values)
                .varint(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INTS);
    }

    private static Protobuf integer(String name, long value) {
        return new Protobuf().string(ATTRIBUTE_NAME, name).varint(ATTRIBUTE_I, value)
                .varint(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INT);
    }

    /** A float tensor's ValueInfoProto; a negative dimension is the symbolic batch dimension. */
    private static Protobuf valueInfo(String name, long[] dims, String doc) {
        Protobuf shape = new Protobuf();
        for (long d : dims) {
            shape.message(SHAPE_DIM, d < 0 ? new Protobuf().string(DIM_PARAM, BATCH) : new Protobuf().varint(DIM_VALUE, d));
        }
        Protobuf tensorType = new Protobuf().varint(TENSOR_TYPE_ELEM_TYPE, TENSOR_FLOAT).message(TENSOR_TYPE_SHAPE, shape);
        return new Protobuf().string(VALUE_INFO_NAME, name)
                .message(VALUE_INFO_TYPE, new Protobuf().message(TYPE_TENSOR_TYPE, tensorType))
                .string(VALUE_INFO_DOC_STRING, doc);
    }

    /** The nodes and initializers in order, and the value names taken so far (each value is named once). */
    private static final class GraphBuilder {
        final List<Protobuf> nodes = new ArrayList<>();
        final List<Protobuf> initializers = new ArrayList<>();
        private final Set<String> names = new HashSet<>();

        void reserve(String name) {
            if (!names.add(name)) {
                throw new IllegalStateException("two values named " + name);
            }
        }

        /** {@code base}, or base_1, base_2, ... when a value has that name already (a layer named "input"). */
        String fresh(String base) {
            String name = base;
            for (int i = 1; names.contains(name); i++) {
                name = base + "_" + i;
            }
            names.add(name);
            return name;
        }

        void initializer(String name, int[] dims, float[] values, int offset, int count) {
            ByteBuffer raw = ByteBuffer.allocate(4 * count).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(values, offset, count);
            Protobuf tensor = new Protobuf();
            for (int d : dims) {
                tensor.varint(TENSOR_DIMS, d);
            }
            initializers.add(tensor.varint(TENSOR_DATA_TYPE, TENSOR_FLOAT).string(TENSOR_NAME, name)
                    .bytes(TENSOR_RAW_DATA, raw.array()));
        }

        void node(String opType, String name, List<String> inputs, String output, Protobuf... attributes) {
            Protobuf n = new Protobuf();
            inputs.forEach(in -> n.string(NODE_INPUT, in));
            n.string(NODE_OUTPUT, output).string(NODE_NAME, name).string(NODE_OP_TYPE, opType);
            for (Protobuf a : attributes) {
                n.message(NODE_ATTRIBUTE, a);
            }
            nodes.add(n);
        }
    }
}
