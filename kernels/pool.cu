// 2x2 max-pool, stride 2, no padding, as PyTorch's MaxPool2d(2): an odd last row or column of the
// input belongs to no window (OH = floor(H/2), OW = floor(W/2)).

// x [B,C,H,W] -> y [B,C,OH,OW], argmax [B,C,OH,OW] = flat index into x of the window's max
// (first of equals in the order (0,0),(0,1),(1,0),(1,1)). One thread per output element.
// Launch: grid (ceil(B*C*OH*OW / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
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

// dy, y, argmax [B,C,OH,OW] -> dx [B,C,H,W]: writes all of dx, each window's dy at its argmax, zeros
// elsewhere (also in an odd last row or column). relu_before != 0 fuses the preceding ReLU's
// backward: gradient 0 where y <= 0. One thread per element of dx.
// Launch: grid (ceil(B*C*H*W / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void maxpool2x2_backward(const float* dy, const float* y, const int* argmax,
                                               float* dx, int B, int C, int H, int W, int relu_before)
{
    int OH = H / 2, OW = W / 2;
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * C * H * W) return;
    int ix = t % W;
    int iy = (t / W) % H;
    int plane = t / (W * H);
    float g = 0.0f;
    if (iy < 2 * OH && ix < 2 * OW) {
        int o = (plane * OH + iy / 2) * OW + ix / 2;
        if (argmax[o] == t && !(relu_before && !(y[o] > 0.0f))) g = dy[o];
    }
    dx[t] = g;
}
