package gpulenet.backend.cpu;

import gpulenet.backend.HostScalars;

/**
 * torch.optim.Adam's step (torch 1.13, _single_tensor_adam) over flat buffers, element by element in
 * float32 in PyTorch's order of operations, each rounded on its own (Java never fuses them), so it
 * matches PyTorch bitwise; parallel over contiguous ranges. As in PyTorch, weight decay 0 adds nothing.
 */
final class Adam {
    private Adam() {
    }

    static void update(WorkerPool pool, CpuTensor pt, CpuTensor gt, CpuTensor mt, CpuTensor vt, HostScalars.Adam s) {
        float[] p = pt.floats(), g = gt.floats(), m = mt.floats(), v = vt.floats();
        int po = pt.offset(), go = gt.offset(), mo = mt.offset(), vo = vt.offset();
        float beta1 = s.beta1(), oneMinusBeta1 = s.oneMinusBeta1(), beta2 = s.beta2(), oneMinusBeta2 = s.oneMinusBeta2();
        float sqrtBiasCorrection2 = s.sqrtBiasCorrection2(), eps = s.eps(), negStepSize = s.negStepSize();
        float weightDecay = s.weightDecay();
        pool.forEach(pt.count(), new WorkerPool.RangeTask() {
            @Override
            public void run(int worker, int begin, int end) {
                for (int i = begin; i < end; i++) {
                    float grad = weightDecay == 0f ? g[go + i] : g[go + i] + weightDecay * p[po + i];
                    // m.mul_(b1).add_(g, alpha=1-b1); v.mul_(b2).addcmul_(g, g, value=1-b2)
                    float mi = m[mo + i] * beta1 + oneMinusBeta1 * grad;
                    float vi = v[vo + i] * beta2 + (oneMinusBeta2 * grad) * grad;
                    // denom = (v.sqrt() / sqrt(bc2)).add_(eps); p.addcdiv_(m, denom, value=-lr/bc1)
                    float denom = (float) Math.sqrt(vi) / sqrtBiasCorrection2 + eps;
                    m[mo + i] = mi;
                    v[vo + i] = vi;
                    p[po + i] += (negStepSize * mi) / denom;
                }
            }
        });
    }
}
