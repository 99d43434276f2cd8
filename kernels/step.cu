// The training step's counters, kept on the device so that a step needs no scalar from the host and can
// be replayed as a CUDA graph: counters[0] is the step within the epoch (which batch gather reads, which
// row of the optimizer's schedule applies), counters[1] the steps done in the whole run (Dropout2d's
// masks, SGD's first step). The last kernel of a step advances both.

// counters [2] int: counters[0] += 1, counters[1] += 1.
// Launch: grid (1, 1, 1), block (1, 1, 1), dynamic shared 0.
extern "C" __global__ void step_advance(int* counters)
{
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        counters[0] += 1;
        counters[1] += 1;
    }
}
