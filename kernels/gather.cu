// Batch gather: builds one normalised float batch on the device from the uint8 data set and the
// epoch's shuffled index array, so no image crosses the bus during training.

// images [N,HW] uint8, labels [N] uint8, order [M] (indices into images)
// x [B,HW] = (images[order[start+i], p] / 255 - mean) / std_dev, y [B] = labels[order[start+i]]
// Launch: grid (ceil(B*HW / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void gather_normalize(const unsigned char* images, const unsigned char* labels,
                                            const int* order, int start, int B, int HW, float mean,
                                            float std_dev, float* x, int* y)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * HW) return;
    int i = t / HW;
    int p = t - i * HW;
    int src = order[start + i];
    x[t] = ((float)images[(size_t)src * HW + p] / 255.0f - mean) / std_dev;
    if (p == 0) y[i] = labels[src];
}
