// Momentum SGD over one flat parameter / gradient / momentum buffer: one launch updates every
// parameter. PyTorch semantics: d = g (+ wd*p when wd != 0); buf = first ? d : momentum*buf + d;
// p = fma(-lr, buf, p). PyTorch rounds the parameter step once (p.add_(buf, alpha=-lr) is a fused
// multiply-add) and the momentum's product and sum separately, so those are __fmul_rn/__fadd_rn:
// nvcc would otherwise fuse them too.

#include "step_counters.cuh"

// p, g, buf [n]; schedule [steps,2] and counters [3] both NULL (lr and first_step as given) or both
// given: lr = schedule[counters[0]][0] and first_step = counters[1] == 0, read on the device, so a
// captured step (a CUDA graph) uses the step it runs at; the update then ends the step: the last block
// advances the counters (step_counters.cuh).
// Launch: grid (ceil(n / 256), 1, 1), block (256, 1, 1), dynamic shared 0.
extern "C" __global__ void sgd_momentum(float* p, const float* g, float* buf, int n, const float* schedule,
                                        int* counters, float lr, float momentum, float weight_decay,
                                        int first_step)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (counters) {
        lr = schedule[2 * counters[0]];
        first_step = counters[1] == 0;
    }
    if (i < n) {
        float d = weight_decay != 0.0f ? __fadd_rn(g[i], __fmul_rn(weight_decay, p[i])) : g[i];
        float v = first_step ? d : __fadd_rn(__fmul_rn(momentum, buf[i]), d);
        buf[i] = v;
        p[i] = fmaf(-lr, v, p[i]);
    }
    if (counters) step_counters_advance_after_last_block(counters);
}
