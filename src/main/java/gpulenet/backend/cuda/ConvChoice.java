package gpulenet.backend.cuda;

/** What runs the convolutions, max-pools and ReLUs on the GPU (--conv): the project's kernels, or cuDNN. */
public enum ConvChoice {
    KERNELS, CUDNN
}
