// Momentum SGD over one flat parameter / gradient / momentum buffer: one launch updates every
// parameter. PyTorch semantics: d = g + wd*p; buf = first ? d : momentum*buf + d; p -= lr*buf.

// p, g, buf [n]
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void sgd_momentum(float* p, const float* g, float* buf, int n, float lr,
                                        float momentum, float weight_decay, int first_step)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float d = g[i] + weight_decay * p[i];
    float v = first_step ? d : momentum * buf[i] + d;
    buf[i] = v;
    p[i] -= lr * v;
}
