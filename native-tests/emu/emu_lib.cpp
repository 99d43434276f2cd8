// libgpulenet_emu.so: the shipped kernels compiled for the host, launched by name with arguments
// laid out like cuLaunchKernel's kernelParams (args[i] points to the i-th argument's value).
// Plain C ABI, for the Java CUDA backend's emulated driver (JNA).
#include "cuda_emu.h"

#include "../../kernels/adam.cu"
#include "../../kernels/conv.cu"
#include "../../kernels/dropout.cu"
#include "../../kernels/gather.cu"
#include "../../kernels/gemm.cu"
#include "../../kernels/head.cu"
#include "../../kernels/linear.cu"
#include "../../kernels/pool.cu"
#include "../../kernels/relu.cu"
#include "../../kernels/sgd.cu"
#include "../../kernels/softmax_xent.cu"
#include "../../kernels/step.cu"

#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

namespace {

using Invoker = void (*)(void** args);

template <typename... A, size_t... I>
void invoke_with(void (*kernel)(A...), void** args, std::index_sequence<I...>)
{
    kernel(*static_cast<std::remove_reference_t<A>*>(args[I])...);
}

template <typename... A>
void invoke_kernel(void (*kernel)(A...), void** args)
{
    invoke_with(kernel, args, std::index_sequence_for<A...>{});
}

// One invoker per kernel, generated from the kernel's own signature.
template <auto Kernel>
void invoke(void** args)
{
    invoke_kernel(Kernel, args);
}

struct Entry {
    const char* name;
    Invoker invoker;
};

#define KERNEL_ENTRY(k) {#k, invoke<k>}
const Entry kKernels[] = {
    KERNEL_ENTRY(gather_normalize),
    KERNEL_ENTRY(conv2d_forward),
    KERNEL_ENTRY(conv2d_forward_gather),
    KERNEL_ENTRY(conv2d_backward),
    KERNEL_ENTRY(maxpool2x2_forward),
    KERNEL_ENTRY(maxpool2x2_backward),
    KERNEL_ENTRY(bias_forward),
    KERNEL_ENTRY(bias_backward),
    KERNEL_ENTRY(relu_forward),
    KERNEL_ENTRY(relu_backward),
    KERNEL_ENTRY(dropout2d_mask),
    KERNEL_ENTRY(dropout2d_apply),
    KERNEL_ENTRY(softmax_cross_entropy),
    KERNEL_ENTRY(sgd_momentum),
    KERNEL_ENTRY(adam_update),
    KERNEL_ENTRY(sgemm),
    KERNEL_ENTRY(step_advance),
    KERNEL_ENTRY(linear_head_step),
    KERNEL_ENTRY(head_reduce),
};
#undef KERNEL_ENTRY

thread_local std::string error_message;

}  // namespace

extern "C" {

// 0 on success; otherwise non-zero and gl_emu_last_error() says why. The kernels use static shared
// memory only, so shared_bytes must be 0.
__attribute__((visibility("default"))) int gl_emu_launch(const char* kernel, unsigned gx, unsigned gy,
                                                         unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                                         unsigned shared_bytes, void** args)
{
    if (!kernel) {
        error_message = "kernel name is NULL";
        return 1;
    }
    const Entry* entry = nullptr;
    for (const Entry& e : kKernels)
        if (strcmp(e.name, kernel) == 0) entry = &e;
    if (!entry) {
        error_message = std::string("unknown kernel '") + kernel + "'";
        return 1;
    }
    if (shared_bytes != 0) {
        error_message = std::string(kernel) + ": dynamic shared memory requested (" + std::to_string(shared_bytes) +
                        " bytes) but the kernels use none";
        return 1;
    }
    if (emu::launch(dim3(gx, gy, gz), dim3(bx, by, bz), [&] { entry->invoker(args); })) {
        error_message = std::string(kernel) + ": " + emu::last_error();
        return 1;
    }
    return 0;
}

__attribute__((visibility("default"))) const char* gl_emu_last_error(void) { return error_message.c_str(); }
}
