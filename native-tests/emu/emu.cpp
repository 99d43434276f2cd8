// Fiber scheduler behind cuda_emu.h. Fibers are created once with makecontext and then switched
// with _setjmp/_longjmp, which, unlike swapcontext, needs no system call per switch.
#undef _FORTIFY_SOURCE  // its __longjmp_chk rejects jumps between fiber stacks
#include "cuda_emu.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <ucontext.h>
#include <vector>

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace {

constexpr size_t kStackBytes = 64 * 1024;
constexpr size_t kGuardBytes = 4096;
constexpr unsigned kMaxThreads = 1024;
// Limits of every GPU the PTX targets (compute capability 7.5 and later).
constexpr unsigned kMaxBlockX = 1024, kMaxBlockY = 1024, kMaxBlockZ = 64;
constexpr unsigned kMaxGridX = 2147483647u, kMaxGridYZ = 65535;

enum class State { Fresh, Finished, AtBarrier, AtWarpSync };

struct Fiber {
    ucontext_t context;
    jmp_buf resume_point;
    char* stack = nullptr;
    State state = State::Fresh;
};

std::vector<Fiber> fibers(kMaxThreads);
std::vector<unsigned char> runnable(kMaxThreads);
jmp_buf scheduler_point;
unsigned current;
const std::function<void()>* body;
std::mutex launch_mutex;
thread_local std::string error_message;

// Each fiber runs thread after thread: after one thread's body it parks, and the next resume
// starts the next thread's body on the same stack.
void fiber_main()
{
    for (;;) {
        (*body)();
        Fiber& f = fibers[current];
        f.state = State::Finished;
        if (!_setjmp(f.resume_point)) _longjmp(scheduler_point, 1);
    }
}

void make_fresh(Fiber& f)
{
    if (!f.stack) {
        // One inaccessible guard page below the stack turns an overflow into a crash, not corruption.
        void* p = mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || mprotect(p, kGuardBytes, PROT_NONE) != 0) {
            perror("emu: fiber stack");
            abort();
        }
        f.stack = static_cast<char*>(p) + kGuardBytes;
    }
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_main, 0);
    f.state = State::Fresh;
}

void resume(unsigned i, const dim3& block)
{
    current = i;
    threadIdx = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
    Fiber& f = fibers[i];
    if (_setjmp(scheduler_point)) return;
    if (f.state == State::Fresh) setcontext(&f.context);
    _longjmp(f.resume_point, 1);
}

void suspend(State why)
{
    Fiber& f = fibers[current];
    f.state = why;
    if (!_setjmp(f.resume_point)) _longjmp(scheduler_point, 1);
}

bool fail_block(unsigned n, const char* what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s in block (%u,%u,%u)", what, blockIdx.x, blockIdx.y, blockIdx.z);
    error_message = msg;
    for (unsigned i = 0; i < n; i++)
        if (fibers[i].state == State::AtBarrier || fibers[i].state == State::AtWarpSync) make_fresh(fibers[i]);
    return false;
}

// Marks runnable every warp whose lanes all wait at a warp sync point; false if a warp has lanes
// waiting there while others exited or wait at __syncthreads.
bool release_warps(unsigned n)
{
    for (unsigned w0 = 0; w0 < n; w0 += 32) {
        unsigned w1 = w0 + 32 < n ? w0 + 32 : n, syncing = 0;
        for (unsigned i = w0; i < w1; i++) syncing += fibers[i].state == State::AtWarpSync;
        if (syncing == 0) continue;
        if (syncing != w1 - w0) return false;
        for (unsigned i = w0; i < w1; i++) runnable[i] = 1;
    }
    return true;
}

// Runs one block to completion; returns false on barrier divergence. The order in which threads
// run between two sync points flips every phase (and every block), so a race is exposed whichever
// of the two threads involved is the writer.
bool run_block(const dim3& block, bool reverse)
{
    unsigned n = block.x * block.y * block.z;
    for (unsigned i = 0; i < n; i++) runnable[i] = 1;
    for (;; reverse = !reverse) {
        for (unsigned j = 0; j < n; j++) {
            unsigned i = reverse ? n - 1 - j : j;
            if (runnable[i]) resume(i, block);
        }
        unsigned waiting = 0, warp_syncing = 0, finished = 0;
        for (unsigned i = 0; i < n; i++) {
            runnable[i] = 0;
            State st = fibers[i].state;
            if (st == State::AtBarrier) waiting++;
            else if (st == State::AtWarpSync) warp_syncing++;
            else finished++;
        }
        if (warp_syncing) {
            if (!release_warps(n)) return fail_block(n, "warp divergence: only some lanes of a warp reached a warp sync point");
            continue;
        }
        if (waiting == 0) return true;
        if (finished == 0) {
            for (unsigned i = 0; i < n; i++) runnable[i] = 1;
            continue;
        }
        return fail_block(n, "barrier divergence: some threads wait at __syncthreads while others exited");
    }
}

uint32_t warp_exchange[kMaxThreads / 32][32];

}  // namespace

// Bounds of the emu_shared section (see __shared__); weak, so a program without shared memory links.
extern "C" char __start_emu_shared[] __attribute__((weak));
extern "C" char __stop_emu_shared[] __attribute__((weak));

namespace {

// Shared memory is undefined at block start on a GPU; all-ones bytes are NaN floats and -1 ints.
void poison_shared_memory()
{
    if (__start_emu_shared && __stop_emu_shared) memset(__start_emu_shared, 0xff, __stop_emu_shared - __start_emu_shared);
}

}  // namespace

void __syncthreads() { suspend(State::AtBarrier); }

void __syncwarp(unsigned) { suspend(State::AtWarpSync); }

namespace emu {

// Every lane publishes its value, all lanes of the warp meet, each reads its source lane, and all
// meet again before a later shuffle may overwrite the slots.
uint32_t shuffle(uint32_t value, int src_lane)
{
    unsigned warp = current / 32, lane = current % 32;
    warp_exchange[warp][lane] = value;
    suspend(State::AtWarpSync);
    uint32_t result = warp_exchange[warp][src_lane];
    suspend(State::AtWarpSync);
    return result;
}

unsigned lane_id() { return current % 32; }

}  // namespace emu

namespace emu {

int launch(dim3 grid, dim3 block, const std::function<void()>& kernel_body)
{
    std::lock_guard<std::mutex> lock(launch_mutex);
    unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (threads == 0 || threads > kMaxThreads || block.x > kMaxBlockX || block.y > kMaxBlockY ||
        block.z > kMaxBlockZ || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > kMaxGridX ||
        grid.y > kMaxGridYZ || grid.z > kMaxGridYZ) {
        error_message = "invalid launch configuration: grid (" + std::to_string(grid.x) + "," +
                        std::to_string(grid.y) + "," + std::to_string(grid.z) + "), block (" +
                        std::to_string(block.x) + "," + std::to_string(block.y) + "," +
                        std::to_string(block.z) + ")";
        return 1;
    }
    for (unsigned i = 0; i < threads; i++)
        if (!fibers[i].stack) make_fresh(fibers[i]);
    body = &kernel_body;
    gridDim = grid;
    blockDim = block;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = {x, y, z};
                poison_shared_memory();
                if (!run_block(block, (x + y + z) % 2 == 1)) return 1;
            }
    return 0;
}

const char* last_error() { return error_message.c_str(); }

}  // namespace emu
