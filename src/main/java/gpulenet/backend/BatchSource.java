package gpulenet.backend;

/**
 * Where a step's batch comes from, as {@link Backend#gatherBatch(Tensor, Tensor, Tensor, Tensor, int, float, float,
 * Tensor, Tensor)} takes it: samples order[counters[0] * stride ...] of a device-resident data set (U8 images
 * [N,H,W], U8 labels [N]), normalised as (v / 255 - mean) / std.
 */
public record BatchSource(Tensor images, Tensor labels, Tensor order, Tensor counters, int stride, float mean,
                          float std) {
}
