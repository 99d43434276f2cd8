// Dropout2d (channel dropout, training mode): a per-(sample, channel) mask drawn from a counter-based
// uniform, so the CPU backend draws the same bits, and the mask applied to whole planes.
//
// Counter-based uniform (the same definition as the CPU backend's Dropout2d.counterUniform):
//   splitmix64(z): z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//                  z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31);   (uint64 arithmetic)
//   h = splitmix64(splitmix64(splitmix64(seed) ^ step) ^ ((n << 32) | c));
//   u = (h >> 40) * 2^-24, a float in [0,1) with 24 random bits; channel c of sample n is kept iff u >= p.

__device__ __forceinline__ unsigned long long dropout_splitmix64(unsigned long long z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// mask [B,C]: mask[n,c] = u(seed, step, n, c) >= p ? scale : 0, scale = float32(1/(1-p)) from the host.
// counters [2] int or NULL: when given, counters[1] (the steps done, kept on the device) is added to step.
// Launch: grid (ceil(B*C / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void dropout2d_mask(float* mask, int B, int C, unsigned long long seed,
                                          const int* counters, unsigned long long step, float p, float scale)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * C) return;
    if (counters) step += (unsigned long long)counters[1];
    unsigned long long n = (unsigned long long)(i / C), c = (unsigned long long)(i % C);
    unsigned long long key = dropout_splitmix64(dropout_splitmix64(seed) ^ step);
    unsigned long long h = dropout_splitmix64(key ^ ((n << 32) | c));
    float u = (float)(h >> 40) * 0x1p-24f;  // exact: 24 bits
    mask[i] = u >= p ? scale : 0.0f;
}

// x, y [B,C,H,W] (planes = B*C, hw = H*W), mask [B,C]: y[n,c,:,:] = x[n,c,:,:] * mask[n,c]; y may be x.
// Serves the forward (x -> y) and the backward (dy -> dx), which is the same product.
// Launch: grid (ceil(planes*hw / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void dropout2d_apply(const float* x, const float* mask, float* y, int planes, int hw)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= planes * hw) return;
    y[i] = x[i] * mask[i / hw];
}
