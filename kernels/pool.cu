// 2x2 max-pool, stride 2. One thread per output element: every input is read exactly once.

// x [B,C,H,W] -> y [B,C,H/2,W/2], argmax [B,C,H/2,W/2] = flat index into x of the window's max
// (first of equals in the order (0,0),(0,1),(1,0),(1,1)). H and W even.
// Launch: grid (ceil(B*C*(H/2)*(W/2) / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void maxpool2x2_forward(const float* x, float* y, int* argmax,
                                              int B, int C, int H, int W)
{
    int OH = H / 2, OW = W / 2;
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * C * OH * OW) return;
    int ox = t % OW;
    int oy = (t / OW) % OH;
    int plane = t / (OW * OH);
    int base = (plane * H + 2 * oy) * W + 2 * ox;
    int best = base;
    float m = x[base];
    const int offsets[3] = {1, W, W + 1};
    for (int q = 0; q < 3; q++) {
        float v = x[base + offsets[q]];
        if (v > m) { m = v; best = base + offsets[q]; }
    }
    y[t] = m;
    argmax[t] = best;
}

// dy, y, argmax [B,C,H/2,W/2] -> dx [B,C,H,W]: writes all of dx, dy routed to argmax, zeros elsewhere.
// relu_before != 0 fuses the preceding ReLU's backward: gradient 0 where y <= 0.
// Launch: grid (ceil(B*C*(H/2)*(W/2) / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void maxpool2x2_backward(const float* dy, const float* y, const int* argmax,
                                               float* dx, int B, int C, int H, int W, int relu_before)
{
    int OH = H / 2, OW = W / 2;
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * C * OH * OW) return;
    int ox = t % OW;
    int oy = (t / OW) % OH;
    int plane = t / (OW * OH);
    int base = (plane * H + 2 * oy) * W + 2 * ox;
    float g = (relu_before && !(y[t] > 0.0f)) ? 0.0f : dy[t];
    int a = argmax[t];
    dx[base] = (a == base) ? g : 0.0f;
    dx[base + 1] = (a == base + 1) ? g : 0.0f;
    dx[base + W] = (a == base + W) ? g : 0.0f;
    dx[base + W + 1] = (a == base + W + 1) ? g : 0.0f;
}
