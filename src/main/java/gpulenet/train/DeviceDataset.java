package gpulenet.train;

import gpulenet.backend.Backend;
import gpulenet.backend.DType;
import gpulenet.backend.Tensor;
import gpulenet.data.Dataset;

/**
 * One split uploaded once to a backend as it is stored (U8 images [N,H,W], U8 labels [N]) with an I32
 * order [N] that says which samples make up each batch: the epoch's shuffle, or the identity for eval.
 */
public final class DeviceDataset {
    private final Backend backend;
    private final Dataset host;
    private final Tensor images;
    private final Tensor labels;
    private final Tensor order;
    private final int[] identity;

    public DeviceDataset(Backend backend, Dataset host) {
        this.backend = backend;
        this.host = host;
        this.images = backend.allocate(DType.U8, host.count(), host.rows(), host.cols());
        this.labels = backend.allocate(DType.U8, host.count());
        this.order = backend.allocate(DType.I32, host.count());
        backend.upload(images, host.images());
        backend.upload(labels, host.labels());
        this.identity = new int[host.count()];
        for (int i = 0; i < identity.length; i++) {
            identity[i] = i;
        }
        useIdentityOrder();
    }

    public void useIdentityOrder() {
        setOrder(identity);
    }

    public void setOrder(int[] permutation) {
        backend.upload(order, permutation);
    }

    public Dataset host() {
        return host;
    }

    public int count() {
        return host.count();
    }

    public Tensor images() {
        return images;
    }

    public Tensor labels() {
        return labels;
    }

    public Tensor order() {
        return order;
    }
}
