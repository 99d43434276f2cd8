// The training step's counters (see step.cu), for kernels that end a step themselves.
#pragma once

// counters [3] int: {step within the epoch, steps done, blocks finished}. Called by every thread of every
// block of a launch after it has read the counters for the last time (a block barrier comes first); the
// last block to finish advances counters[0] and counters[1] and clears the tally for the next launch.
// Blocks may finish in any order, so the tally is an atomic count: each block's fence before its atomic
// orders its reads before its count (release), and the last block's fence after the atomic orders its
// writes after every count it saw (acquire).
__device__ __forceinline__ void step_counters_advance_after_last_block(int* counters)
{
    __syncthreads();
    if (threadIdx.x != 0 || threadIdx.y != 0 || threadIdx.z != 0) return;
    __threadfence();
    unsigned blocks = gridDim.x * gridDim.y * gridDim.z;
    if (atomicAdd(&counters[2], 1) == (int)blocks - 1) {
        __threadfence();
        counters[0] += 1;
        counters[1] += 1;
        counters[2] = 0;
    }
}
