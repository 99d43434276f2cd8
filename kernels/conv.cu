// 2-D convolution, stride 1, zero padding, square R x R filters with R <= CONV_MAX_R.
// Forward and backward-to-input: a block owns a 16x16 tile of output pixels of one image and
// CONV_CPB output channels (register blocking); for each reduction channel it stages the input
// tile (with its R-1 halo) and the CONV_CPB filters in shared memory, then every thread
// accumulates its pixel for all CONV_CPB channels.
// Backward-to-weight: one block per (k, c, filter row r) reduces over batch and pixels with a
// fixed per-thread stride and a fixed-order tree, so the gradient is deterministic.

#define CONV_TILE 16
#define CONV_CPB 4
#define CONV_MAX_R 16
#define CONV_HALO_TILE (CONV_TILE + CONV_MAX_R - 1)
#define CONV_RED_THREADS 256

// The gradient of conv output element (n,k,oy,ox) of y [B,K,OH,OW]: dy itself, or, when argmax is given,
// read through the 2x2 max-pool that follows the convolution (maxpool2x2_backward fused in): dy is then
// the pool's output gradient [B,K,OH/2,OW/2], nonzero only at the window's argmax, and 0 where the
// pooled value is not positive when relu_before (the convolution's ReLU).
__device__ __forceinline__ float conv_output_grad(const float* dy, const float* pooled, const int* argmax,
                                                  int relu_before, int n, int k, int K, int OH, int OW, int oy,
                                                  int ox)
{
    if (!argmax) return dy[(((size_t)n * K + k) * OH + oy) * OW + ox];
    int PH = OH / 2, PW = OW / 2;
    if (oy >= 2 * PH || ox >= 2 * PW) return 0.0f;
    size_t o = (((size_t)n * K + k) * PH + oy / 2) * PW + ox / 2;
    int flat = (int)((((size_t)n * K + k) * OH + oy) * OW + ox);
    return (argmax[o] == flat && !(relu_before && !(pooled[o] > 0.0f))) ? dy[o] : 0.0f;
}

// The forward pass of one block of conv2d_forward (below), its input pixel (n, c, gy, gx) inside the image
// read through load; tile, filt and out are the block's shared memory.
template <typename Load>
__device__ __forceinline__ void conv2d_forward_block(const Load& load, float* tile, float* filt,
                                                     float (*out)[CONV_TILE][CONV_TILE], const float* w,
                                                     const float* b, float* y, float* pooled, int* argmax, int C,
                                                     int H, int W, int K, int R, int pad, int relu)
{
    int OH = H + 2 * pad - R + 1, OW = W + 2 * pad - R + 1;
    int tilesX = (OW + CONV_TILE - 1) / CONV_TILE;
    int oy0 = (blockIdx.x / tilesX) * CONV_TILE, ox0 = (blockIdx.x % tilesX) * CONV_TILE;
    int k0 = blockIdx.y * CONV_CPB;
    int n = blockIdx.z;
    int tx = threadIdx.x, ty = threadIdx.y, tid = ty * CONV_TILE + tx;
    int S = CONV_TILE + R - 1, RR = R * R;
    float acc[CONV_CPB] = {};
    for (int c = 0; c < C; c++) {
        for (int i = tid; i < S * S; i += CONV_TILE * CONV_TILE) {
            int gy = oy0 - pad + i / S, gx = ox0 - pad + i % S;
            tile[i] = (gy >= 0 && gy < H && gx >= 0 && gx < W) ? load(n, c, gy, gx) : 0.0f;
        }
        for (int i = tid; i < CONV_CPB * RR; i += CONV_TILE * CONV_TILE) {
            int k = k0 + i / RR;
            filt[i] = k < K ? w[((size_t)k * C + c) * RR + i % RR] : 0.0f;
        }
        __syncthreads();
        for (int r = 0; r < R; r++)
            for (int s = 0; s < R; s++) {
                float v = tile[(ty + r) * S + tx + s];
                for (int q = 0; q < CONV_CPB; q++) acc[q] += v * filt[q * RR + r * R + s];
            }
        __syncthreads();
    }
    int oy = oy0 + ty, ox = ox0 + tx;
    bool inside = oy < OH && ox < OW;
    for (int q = 0; q < CONV_CPB && k0 + q < K; q++) {
        float v = acc[q] + b[k0 + q];
        v = (relu && v < 0.0f) ? 0.0f : v;
        if (inside) y[(((size_t)n * K + k0 + q) * OH + oy) * OW + ox] = v;
        out[q][ty][tx] = v;
    }
    if (!pooled) return;  // a launch argument: the whole block returns
    __syncthreads();
    int PH = OH / 2, PW = OW / 2, py = oy0 / 2 + ty, px = ox0 / 2 + tx;
    if (ty >= CONV_TILE / 2 || tx >= CONV_TILE / 2 || py >= PH || px >= PW) return;
    for (int q = 0; q < CONV_CPB && k0 + q < K; q++) {
        int base = (int)((((size_t)n * K + k0 + q) * OH + 2 * py) * OW + 2 * px);
        // the window in maxpool2x2_forward's order: (0,0), (0,1), (1,0), (1,1), the first of equals kept
        float m = out[q][2 * ty][2 * tx];
        int best = base;
        const float v[3] = {out[q][2 * ty][2 * tx + 1], out[q][2 * ty + 1][2 * tx], out[q][2 * ty + 1][2 * tx + 1]};
        const int at[3] = {base + 1, base + OW, base + OW + 1};
        for (int t = 0; t < 3; t++)
            if (v[t] > m) { m = v[t]; best = at[t]; }
        size_t o = (((size_t)n * K + k0 + q) * PH + py) * PW + px;
        pooled[o] = m;
        argmax[o] = best;
    }
}

// Input pixels of conv2d_forward: the tensor x.
struct ConvInput {
    const float* x;
    int C, H, W;
    __device__ float operator()(int n, int c, int gy, int gx) const { return x[(((size_t)n * C + c) * H + gy) * W + gx]; }
};

// x [B,C,H,W], w [K,C,R,R], b [K] -> y [B,K,OH,OW], OH = H+2*pad-R+1, OW = W+2*pad-R+1;
// y = conv(x, w) + b, then ReLU when relu != 0. With pooled (and argmax) [B,K,OH/2,OW/2], also the 2x2
// max-pool of y, exactly as maxpool2x2_forward computes it (a 16x16 tile holds whole windows); else NULL.
// Launch: grid (ceil(OW/16) * ceil(OH/16), ceil(K/4), B), block (16, 16, 1), dynamic shared 0.
extern "C" __global__ void conv2d_forward(const float* x, const float* w, const float* b, float* y,
                                          float* pooled, int* argmax,
                                          int B, int C, int H, int W, int K, int R, int pad, int relu)
{
    __shared__ float tile[CONV_HALO_TILE * CONV_HALO_TILE];
    __shared__ float filt[CONV_CPB * CONV_MAX_R * CONV_MAX_R];
    __shared__ float out[CONV_CPB][CONV_TILE][CONV_TILE];
    if ((int)blockIdx.z >= B) return;  // the whole block: no barrier is left waiting
    conv2d_forward_block(ConvInput{x, C, H, W}, tile, filt, out, w, b, y, pooled, argmax, C, H, W, K, R, pad, relu);
}

// Input pixels of conv2d_forward_gather: gathered and normalised from the data set as gather_normalize
// does, and written to x by the one block that owns them, so x is written once: channel block 0, the
// output tile over output pixel (min(gy + pad, OH - 1), min(gx + pad, OW - 1)), which reads input pixel
// (gy, gx) for any padding (output row oy reads input rows oy - pad .. oy - pad + R - 1).
struct ConvInputGathered {
    const unsigned char* images;
    const int* order;
    int first, H, W, OH, OW, pad, tilesX;
    float mean, std_dev;
    float* x;
    __device__ float operator()(int n, int, int gy, int gx) const
    {
        int src = order[first + n];
        float v = ((float)images[(size_t)src * H * W + gy * W + gx] / 255.0f - mean) / std_dev;
        int row = (gy + pad < OH - 1 ? gy + pad : OH - 1) / CONV_TILE;
        int col = (gx + pad < OW - 1 ? gx + pad : OW - 1) / CONV_TILE;
        if (blockIdx.y == 0 && (int)blockIdx.x == row * tilesX + col) x[((size_t)n * H + gy) * W + gx] = v;
        return v;
    }
};

// The first convolution of a network, reading its batch straight from the data set (gather_normalize
// fused in): images [N,H,W] uint8, labels [N] uint8, order [M], counters [3] or NULL, start, stride, mean,
// std_dev as gather_normalize takes them; x [B,1,H,W] and y_labels [B] are written as it writes them (the
// backward pass reads them), and w, b, y, pooled, argmax are conv2d_forward's with C = 1.
// Launch: grid (ceil(OW/16) * ceil(OH/16), ceil(K/4), B), block (16, 16, 1), dynamic shared 0.
extern "C" __global__ void conv2d_forward_gather(const unsigned char* images, const unsigned char* labels,
                                                 const int* order, const int* counters, int start, int stride,
                                                 float mean, float std_dev, float* x, int* y_labels,
                                                 const float* w, const float* b, float* y, float* pooled,
                                                 int* argmax, int B, int H, int W, int K, int R, int pad, int relu)
{
    __shared__ float tile[CONV_HALO_TILE * CONV_HALO_TILE];
    __shared__ float filt[CONV_CPB * CONV_MAX_R * CONV_MAX_R];
    __shared__ float out[CONV_CPB][CONV_TILE][CONV_TILE];
    int n = blockIdx.z;
    if (n >= B) return;  // the whole block: no barrier is left waiting
    int first = counters ? start + counters[0] * stride : start;
    if (blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.x == 0 && threadIdx.y == 0) y_labels[n] = labels[order[first + n]];
    int OH = H + 2 * pad - R + 1, OW = W + 2 * pad - R + 1;
    ConvInputGathered in{images, order, first, H, W, OH, OW, pad, (OW + CONV_TILE - 1) / CONV_TILE, mean, std_dev, x};
    conv2d_forward_block(in, tile, filt, out, w, b, y, pooled, argmax, 1, H, W, K, R, pad, relu);
}

// One block of the input gradient: dx [B,C,H,W] (overwritten) from dy [B,K,OH,OW] and w [K,C,R,R],
// dx[n,c,h,x] = sum_k sum_r,s dy[n,k,h+pad-r,x+pad-s] * w[k,c,r,s], for the 16x16 pixels of tile `tile` of
// image n and the CONV_CPB channels of channel block `cblock`; (tx, ty) is the thread's pixel.
__device__ __forceinline__ void conv2d_backward_input_block(int tile_index, int cblock, int n, int tx, int ty,
                                                            float* tile, float* filt, const float* dy,
                                                            const float* pooled, const int* argmax, int relu_before,
                                                            const float* w, float* dx, int C, int H, int W, int K,
                                                            int R, int pad)
{
    int OH = H + 2 * pad - R + 1, OW = W + 2 * pad - R + 1;
    int tilesX = (W + CONV_TILE - 1) / CONV_TILE;
    int y0 = (tile_index / tilesX) * CONV_TILE, x0 = (tile_index % tilesX) * CONV_TILE;
    int c0 = cblock * CONV_CPB;
    int tid = ty * CONV_TILE + tx;
    int S = CONV_TILE + R - 1, RR = R * R;
    // tile row i holds dy row y0 + pad - (R-1) + i, so pixel (ty, tx) and tap (r, s) read
    // tile[(ty + R-1-r) * S + tx + R-1-s].
    int gy0 = y0 + pad - (R - 1), gx0 = x0 + pad - (R - 1);
    float acc[CONV_CPB] = {};
    for (int k = 0; k < K; k++) {
        for (int i = tid; i < S * S; i += CONV_TILE * CONV_TILE) {
            int gy = gy0 + i / S, gx = gx0 + i % S;
            tile[i] = (gy >= 0 && gy < OH && gx >= 0 && gx < OW)
                          ? conv_output_grad(dy, pooled, argmax, relu_before, n, k, K, OH, OW, gy, gx)
                          : 0.0f;
        }
        for (int i = tid; i < CONV_CPB * RR; i += CONV_TILE * CONV_TILE) {
            int c = c0 + i / RR;
            filt[i] = c < C ? w[((size_t)k * C + c) * RR + i % RR] : 0.0f;
        }
        __syncthreads();
        for (int r = 0; r < R; r++)
            for (int s = 0; s < R; s++) {
                float v = tile[(ty + R - 1 - r) * S + tx + R - 1 - s];
                for (int q = 0; q < CONV_CPB; q++) acc[q] += v * filt[q * RR + r * R + s];
            }
        __syncthreads();
    }
    int yy = y0 + ty, xx = x0 + tx;
    if (yy >= H || xx >= W) return;
    for (int q = 0; q < CONV_CPB && c0 + q < C; q++)
        dx[(((size_t)n * C + c0 + q) * H + yy) * W + xx] = acc[q];
}

// One block of the weight gradient: dw[k,c,r,0..R-1] (or db[k] when r == R, for c == 0 only; the block
// of (k, c > 0, R) exits at once) summed over the samples of chunk `chunk` of `chunks` equal chunks of the
// batch, dw[k,c,r,s] = sum_n,oy,ox dy[n,k,oy,ox] * x[n,c,oy+r-pad,ox+s-pad], db[k] = sum dy[n,k,oy,ox].
// With one chunk the block writes dw and db itself. With more (a small layer, e.g. conv1's 6x1x5x5, would
// otherwise run a few dozen blocks), it writes its sums to partials [K*C*(R+1), chunks, R] and counts
// itself in tally [K*C*(R+1)] (zero before the launch, and left zero); the last block of a (k, c, r)
// adds the chunks' sums in chunk order, so the result does not depend on which block finishes last.
// R is a template argument so that the R accumulators are registers (the loops over them unrolled), not a
// local-memory array.
template <int R>
__device__ __forceinline__ void conv2d_backward_weight_block(int kc, int r, int chunk, int chunks, int tid,
                                                             float (*partial)[CONV_RED_THREADS], const float* x,
                                                             const float* dy, const float* pooled,
                                                             const int* argmax, int relu_before, float* dw,
                                                             float* db, float* partials, int* tally, int B, int C,
                                                             int H, int W, int K, int pad)
{
    int OH = H + 2 * pad - R + 1, OW = W + 2 * pad - R + 1;
    int k = kc / C, c = kc % C;
    bool bias = r == R;
    if (bias && c != 0) return;
    int taps = bias ? 1 : R;
    int n0 = (int)((long long)B * chunk / chunks), n1 = (int)((long long)B * (chunk + 1) / chunks);
    float acc[R] = {};
    int total = (n1 - n0) * OH * OW;
    for (int i = tid; i < total; i += CONV_RED_THREADS) {
        int ox = i % OW, oy = (i / OW) % OH, n = n0 + i / (OW * OH);
        float g = conv_output_grad(dy, pooled, argmax, relu_before, n, k, K, OH, OW, oy, ox);
        if (bias) {
            acc[0] += g;
            continue;
        }
        int iy = oy + r - pad;
        if (iy < 0 || iy >= H) continue;
        const float* xrow = x + (((size_t)n * C + c) * H + iy) * W;
        for (int s = 0; s < R; s++) {
            int ix = ox + s - pad;
            if (ix >= 0 && ix < W) acc[s] += g * xrow[ix];
        }
    }
    for (int s = 0; s < R; s++)
        if (s < taps) partial[s][tid] = acc[s];
    __syncthreads();
    for (int half = CONV_RED_THREADS / 2; half > 0; half >>= 1) {
        if (tid < half)
            for (int s = 0; s < taps; s++) partial[s][tid] += partial[s][tid + half];
        __syncthreads();
    }
    if (tid != 0) return;
    float* out = bias ? db + k : dw + (((size_t)k * C + c) * R + r) * R;
    if (chunks == 1) {
        for (int s = 0; s < taps; s++) out[s] = partial[s][0];
        return;
    }
    int group = r * K * C + kc;
    volatile float* mine = partials + ((size_t)group * chunks + chunk) * R;
    for (int s = 0; s < taps; s++) mine[s] = partial[s][0];
    __threadfence();
    if (atomicAdd(&tally[group], 1) != chunks - 1) return;
    // the last of the group: every chunk's sums are written; the fence orders the reads below after the
    // atomic (acquire), as the one before it orders this block's writes before its count (release)
    __threadfence();
    volatile const float* all = partials + (size_t)group * chunks * R;
    for (int s = 0; s < taps; s++) {
        float sum = 0.0f;
        for (int z = 0; z < chunks; z++) sum += all[(size_t)z * R + s];
        out[s] = sum;
    }
    tally[group] = 0;
}

// conv2d_backward_weight_block<R> for the runtime R (1 <= R <= RMAX): one instance per filter size.
template <int RMAX, typename... Args>
__device__ __forceinline__ void conv2d_backward_weight_block_for(int R, Args... args)
{
    if constexpr (RMAX > 1) {
        if (R < RMAX) {
            conv2d_backward_weight_block_for<RMAX - 1>(R, args...);
            return;
        }
    }
    conv2d_backward_weight_block<RMAX>(args...);
}

// The backward pass of a convolution in one launch: the weight and bias gradients (dw [K,C,R,R], db [K],
// both overwritten) and, unless dx is NULL, the input gradient (dx [B,C,H,W], overwritten) from x
// [B,C,H,W], w [K,C,R,R] and dy [B,K,OH,OW], OH = H+2*pad-R+1, OW = W+2*pad-R+1. The first input_blocks
// blocks (tiles of 16x16 pixels x CONV_CPB channels x B images; 0 without dx) compute dx, the rest one
// (k*C + c, filter row r or R for the bias, chunk of the batch) each: the two need nothing of each other.
// With argmax (and pooled) [B,K,OH/2,OW/2] of the max-pool after the convolution, dy is the pool's output
// gradient, read through the pool (see conv_output_grad); else both are NULL. partials and tally: the
// chunks' sums when chunks > 1 (see conv2d_backward_weight_block), else NULL.
// Launch: grid (input_blocks + K*C*(R+1)*chunks, 1, 1), block (256, 1, 1), dynamic shared 0,
// input_blocks = dx ? ceil(W/16) * ceil(H/16) * ceil(C/4) * B : 0.
extern "C" __global__ void conv2d_backward(const float* x, const float* dy, const float* pooled, const int* argmax,
                                           int relu_before, const float* w, float* dx, float* dw, float* db,
                                           float* partials, int* tally, int chunks,
                                           int B, int C, int H, int W, int K, int R, int pad)
{
    __shared__ float tile[CONV_HALO_TILE * CONV_HALO_TILE];
    __shared__ float filt[CONV_CPB * CONV_MAX_R * CONV_MAX_R];
    __shared__ float partial[CONV_MAX_R][CONV_RED_THREADS];
    int tid = threadIdx.x;
    int tiles = ((W + CONV_TILE - 1) / CONV_TILE) * ((H + CONV_TILE - 1) / CONV_TILE);
    int cblocks = (C + CONV_CPB - 1) / CONV_CPB;
    int input_blocks = dx ? tiles * cblocks * B : 0;
    int b = blockIdx.x;
    if (b < input_blocks) {
        conv2d_backward_input_block(b % tiles, (b / tiles) % cblocks, b / (tiles * cblocks), tid % CONV_TILE,
                                    tid / CONV_TILE, tile, filt, dy, pooled, argmax, relu_before, w, dx, C, H, W, K, R,
                                    pad);
        return;
    }
    b -= input_blocks;
    int kc = b % (K * C), r = (b / (K * C)) % (R + 1), chunk = b / (K * C * (R + 1));
    conv2d_backward_weight_block_for<CONV_MAX_R>(R, kc, r, chunk, chunks, tid, partial, x, dy, pooled, argmax,
                                                 relu_before, dw, db, partials, tally, B, C, H, W, K, pad);
}
