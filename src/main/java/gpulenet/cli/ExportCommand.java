package gpulenet.cli;

import gpulenet.backend.cpu.CpuBackend;
import gpulenet.format.OnnxExport;
import gpulenet.io.AtomicFile;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;
import gpulenet.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code export}: a checkpoint's network and weights as an ONNX model (see {@link OnnxExport} for the graph).
 * The network comes from the checkpoint as eval and predict resolve it, so a weights-only file is exported with
 * --model or --model-file. The file is written atomically, and its path is checked before the checkpoint is read.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a checkpoint's network and weights as an ONNX model (opset " + OnnxExport.OPSET + "), "
                + "for ONNX Runtime and other ONNX tools.",
                "The model's input \"" + OnnxExport.INPUT + "\" is float32 [N,1,H,W], x = pixel/255 in [0, 1] as "
                        + "torchvision's ToTensor gives it (H = W = 28, or the --resize size: the resize is not part of "
                        + "the model); the model applies its normalisation itself. Its output \"" + OnnxExport.OUTPUT
                        + "\" is float32 [N,10]."})
public final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true,
            description = "A checkpoint written by train --save, or a state_dict saved from PyTorch (torch.save .pth/.pt, or safetensors).")
    Path checkpoint;

    @Option(names = "--onnx", paramLabel = "FILE", required = true, description = "The ONNX file to write.")
    Path onnx;

    @Mixin
    ModelOptions modelOptions;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        new FileFlags(spec).reads("--checkpoint", checkpoint).reads("--model-file", modelOptions.file)
                .writes("--onnx", onnx).check();
        CheckpointModel loaded = CheckpointModel.read(checkpoint, modelOptions, "it cannot be exported", spec.commandLine().getErr());
        Model model = loaded.model();
        int size = loaded.inputSize();
        byte[] bytes;
        try (CpuBackend backend = new CpuBackend(1)) {
            bytes = OnnxExport.encode(model, loaded.weightsOn(backend), size, size, producerVersion());
            ReplacedNetwork.note(loaded, modelOptions).ifPresent(out::println);
        }
        try {
            AtomicFile.write(onnx, bytes);
        } catch (IOException e) {
            throw new InputException("--onnx " + onnx + ": cannot write: " + IoReasons.reason(e), e);
        }
        out.printf(Locale.ROOT, "Exported %s (%,d parameters) to %s (%,d bytes, ONNX opset %d)%n", model.name(),
                model.parameterCount(), onnx, bytes.length, OnnxExport.OPSET);
        out.printf(Locale.ROOT, "Input \"%s\": float32 [N,1,%d,%d], x = pixel/255%s; %s%n", OnnxExport.INPUT, size, size,
                model.transform().resize() > 0 ? " of images resized to " + size + "x" + size + " beforehand" : "",
                model.transform().normalizes()
                        ? "the model normalises it, (x - " + model.transform().mean() + ")/" + model.transform().std()
                        : "no normalisation");
        out.printf(Locale.ROOT, "Output \"%s\": float32 [N,%d] logits%n", OnnxExport.OUTPUT, Model.CLASSES);
        out.flush();
        return 0;
    }

    private static String producerVersion() {
        String v = App.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
