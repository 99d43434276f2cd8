// ReLU as a layer of its own, forward and backward. (Conv, linear and pool kernels fuse it where a
// ReLU directly follows or precedes them; these serve every other place.)

// x, y [n], any shape flattened; y may be x (in place): y = max(x, 0).
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void relu_forward(const float* x, float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    y[i] = v < 0.0f ? 0.0f : v;
}

// dy, y, dx [n]; y is the ReLU's output (or its input: same sign test); dx may be dy (in place):
// dx = y > 0 ? dy : 0.
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void relu_backward(const float* dy, const float* y, float* dx, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
