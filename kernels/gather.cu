// Batch gather: builds one normalised float batch on the device from the uint8 data set and the
// epoch's shuffled index array, so no image crosses the bus during training.

// images [N,HW] uint8, labels [N] uint8, order [M] (indices into images), counters [2] int or NULL
// first = start + (counters ? counters[0] * stride : 0): counters[0] is the step within the epoch, kept
// on the device so that a captured step (a CUDA graph) reads the batch it is at when it runs.
// x [B,HW] = (images[order[first+i], p] / 255 - mean) / std_dev, y [B] = labels[order[first+i]]
// Launch: grid (ceil(B*HW / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void gather_normalize(const unsigned char* images, const unsigned char* labels,
                                            const int* order, const int* counters, int start, int stride,
                                            int B, int HW, float mean, float std_dev, float* x, int* y)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * HW) return;
    int i = t / HW;
    int p = t - i * HW;
    int first = counters ? start + counters[0] * stride : start;
    int src = order[first + i];
    x[t] = ((float)images[(size_t)src * HW + p] / 255.0f - mean) / std_dev;
    if (p == 0) y[i] = labels[src];
}
