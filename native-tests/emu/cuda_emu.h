// Host emulation of the CUDA built-ins that kernels/*.cu use, so that g++ compiles the shipped
// kernels unchanged. Each block's threads run as fibers that really interleave at __syncthreads,
// so a missing barrier or a shared-memory race shows up as a wrong result.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// Blocks run one after another on one host thread, so one static copy per kernel is the block's
// shared memory. All of it lives in one section, which every block start fills with NaNs: on a GPU
// shared memory starts undefined, so a kernel that reads it before writing must not pass here.
#define __shared__ static __attribute__((section("emu_shared")))

// Suspends the calling fiber until every thread of the block has reached a barrier.
void __syncthreads();

// Blocks run one after another on one host thread and a block's fibers switch only at sync points, so a
// read-modify-write is atomic here, and a write is seen by every block that runs after it.
inline int atomicAdd(int* address, int value)
{
    int old = *address;
    *address = old + value;
    return old;
}
inline void __threadfence() {}

// Lanes of a warp are the 32 consecutive linear thread ids; warp sync points need every lane of
// the warp (full masks only).
void __syncwarp(unsigned mask = 0xffffffffu);

namespace emu {
uint32_t shuffle(uint32_t value, int src_lane);
unsigned lane_id();

template <typename T>
T shuffle_value(T v, int src_lane)
{
    static_assert(sizeof(T) == 4, "32-bit shuffles only");
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bits = shuffle(bits, src_lane);
    std::memcpy(&v, &bits, 4);
    return v;
}
}  // namespace emu

template <typename T>
inline T __shfl_sync(unsigned, T v, int src, int width = 32)
{
    int lane = (int)emu::lane_id();
    return emu::shuffle_value(v, lane / width * width + src % width);
}

template <typename T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32)
{
    int lane = (int)emu::lane_id();
    int src = lane % width + (int)delta < width ? lane + (int)delta : lane;
    return emu::shuffle_value(v, src);
}

template <typename T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32)
{
    int lane = (int)emu::lane_id();
    int src = lane % width >= (int)delta ? lane - (int)delta : lane;
    return emu::shuffle_value(v, src);
}

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = 32)
{
    int lane = (int)emu::lane_id();
    int src = lane ^ lane_mask;
    return emu::shuffle_value(v, src / width == lane / width ? src : lane);
}

template <typename T>
inline T __ldg(const T* p) { return *p; }

inline float __expf(float v) { return expf(v); }
// Round-to-nearest arithmetic that nvcc never fuses into an FMA; on the host every operation rounds
// on its own anyway (the emulation is built with -ffp-contract=off).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float v) { return sqrtf(v); }
inline float __logf(float v) { return logf(v); }

namespace emu {

// Runs body once per thread of every block, blocks in order; returns 0, or non-zero with
// last_error() set when the configuration exceeds a GPU's limits (block over 1024 threads or
// 1024 x 1024 x 64, grid y or z over 65535) or when some threads of a block exit while others
// wait at a barrier.
// Launches are serialised (the built-ins above are process-wide).
int launch(dim3 grid, dim3 block, const std::function<void()>& body);

const char* last_error();

}  // namespace emu
