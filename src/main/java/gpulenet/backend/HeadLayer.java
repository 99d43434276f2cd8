package gpulenet.backend;

/**
 * One Linear layer of a network's head for {@link Backend#linearHeadStep}: weight w [OUT,IN] and bias b
 * [OUT] with their gradient buffers dw and db, a ReLU after it or not, its output y [B,OUT] (after the
 * ReLU) and g [B,OUT], the loss gradient of its output before the ReLU.
 */
public record HeadLayer(Tensor w, Tensor b, boolean relu, Tensor y, Tensor g, Tensor dw, Tensor db) {
}
