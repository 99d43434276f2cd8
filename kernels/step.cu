// The training step's counters, kept on the device so that a step needs no scalar from the host and can
// be replayed as a CUDA graph: counters[0] is the step within the epoch (which batch gather reads, which
// row of the optimizer's schedule applies), counters[1] the steps done in the whole run (Dropout2d's
// masks, SGD's first step), counters[2] a tally of finished blocks for the kernels that advance the
// counters at the end of their launch (the optimizers: step_counters.cuh). Where no such kernel ends the
// pass (evaluation), step_advance does.

// counters [3] int: counters[0] += 1, counters[1] += 1 (counters[2] is left alone).
// Launch: grid (1, 1, 1), block (1, 1, 1), dynamic shared 0.
extern "C" __global__ void step_advance(int* counters)
{
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        counters[0] += 1;
        counters[1] += 1;
    }
}
