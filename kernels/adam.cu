// Adam over one flat parameter / gradient / first-moment / second-moment buffer: one launch updates
// every parameter. torch.optim.Adam (torch 1.13, _single_tensor_adam), per element in float32:
//   g = grad (+ weight_decay * p when weight_decay != 0)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + ((1 - beta2) * g) * g
//   p = p + (neg_step_size * m) / (sqrt(v) / sqrt_bias_correction2 + eps)
// The scalars come rounded to float32 from the host (bias corrections and step size in double there).
// Every operation is rounded on its own (__f*_rn): nvcc would otherwise fuse the products and sums
// into FMAs, and the result would differ from PyTorch's and the CPU backend's in the last bit.

#include "step_counters.cuh"

// p, g, m, v [n]; schedule [steps,2] and counters [3] both NULL (the scalars as given) or both given:
// neg_step_size = schedule[counters[0]][0] and sqrt_bias_correction2 = schedule[counters[0]][1], the
// host's values for each step of the epoch, read on the device so a captured step uses its own; the
// update then ends the step: the last block advances the counters (step_counters.cuh).
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void adam_update(float* p, const float* g, float* m, float* v, int n,
                                       const float* schedule, int* counters, float beta1,
                                       float one_minus_beta1, float beta2, float one_minus_beta2,
                                       float sqrt_bias_correction2, float eps, float neg_step_size,
                                       float weight_decay)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (counters) {
        neg_step_size = schedule[2 * counters[0]];
        sqrt_bias_correction2 = schedule[2 * counters[0] + 1];
    }
    if (i < n) {
        float pi = p[i];
        float gi = weight_decay != 0.0f ? __fadd_rn(g[i], __fmul_rn(weight_decay, pi)) : g[i];
        float mi = __fadd_rn(__fmul_rn(m[i], beta1), __fmul_rn(one_minus_beta1, gi));
        float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(one_minus_beta2, gi), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), sqrt_bias_correction2), eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = __fadd_rn(pi, __fdiv_rn(__fmul_rn(neg_step_size, mi), denom));
    }
    if (counters) step_counters_advance_after_last_block(counters);
}
