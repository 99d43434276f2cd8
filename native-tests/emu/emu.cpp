// Fiber scheduler behind cuda_emu.h. Fibers are created once with makecontext and then switched
// with _setjmp/_longjmp, which, unlike swapcontext, needs no system call per switch.
#undef _FORTIFY_SOURCE  // its __longjmp_chk rejects jumps between fiber stacks
#include "cuda_emu.h"

#include <csetjmp>
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
constexpr unsigned kMaxThreads = 1024;

enum class State { Fresh, Finished, AtBarrier };

struct Fiber {
    ucontext_t context;
    jmp_buf resume_point;
    char* stack = nullptr;
    State state = State::Fresh;
};

std::vector<Fiber> fibers(kMaxThreads);
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
        void* p = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("emu: fiber stack");
            abort();
        }
        f.stack = static_cast<char*>(p);
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

// Runs one block to completion; returns false on barrier divergence.
bool run_block(const dim3& block)
{
    unsigned n = block.x * block.y * block.z;
    for (;;) {
        unsigned waiting = 0, finished = 0;
        for (unsigned i = 0; i < n; i++) {
            resume(i, block);
            if (fibers[i].state == State::AtBarrier) waiting++;
            else finished++;
        }
        if (waiting == 0) return true;
        if (finished == 0) continue;
        char msg[256];
        snprintf(msg, sizeof msg,
                 "barrier divergence in block (%u,%u,%u): %u threads wait at __syncthreads while %u exited",
                 blockIdx.x, blockIdx.y, blockIdx.z, waiting, finished);
        error_message = msg;
        for (unsigned i = 0; i < n; i++)
            if (fibers[i].state == State::AtBarrier) make_fresh(fibers[i]);
        return false;
    }
}

}  // namespace

void __syncthreads()
{
    Fiber& f = fibers[current];
    f.state = State::AtBarrier;
    if (!_setjmp(f.resume_point)) _longjmp(scheduler_point, 1);
}

namespace emu {

int launch(dim3 grid, dim3 block, const std::function<void()>& kernel_body)
{
    std::lock_guard<std::mutex> lock(launch_mutex);
    unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (threads == 0 || threads > kMaxThreads || grid.x == 0 || grid.y == 0 || grid.z == 0) {
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
                if (!run_block(block)) return 1;
            }
    return 0;
}

const char* last_error() { return error_message.c_str(); }

}  // namespace emu
