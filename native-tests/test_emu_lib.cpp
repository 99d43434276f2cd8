// Tests of libgpulenet_emu.so's C API as the Java side calls it: a launch by name with a
// kernelParams-style argument array, and clear errors for bad names and launch configurations.
#include "harness.h"

extern "C" int gl_emu_launch(const char* kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                             unsigned bz, unsigned shared_bytes, void** args);
extern "C" const char* gl_emu_last_error(void);

using namespace harness;

int main()
{
    Checker check;
    const int n = 300;
    std::vector<float> p(n, 1.0f), g(n), buf(n, 0.0f);
    for (int i = 0; i < n; i++) g[i] = (float)i;
    float* pp = p.data();
    float* gp = g.data();
    float* bp = buf.data();
    int count = n, first = 1;
    float lr = 0.5f, momentum = 0.9f, wd = 0.0f;
    const float* schedule = nullptr;
    int* counters = nullptr;
    void* args[] = {&pp, &gp, &bp, &count, &schedule, &counters, &lr, &momentum, &wd, &first};
    int rc = gl_emu_launch("sgd_momentum", blocks_for(n, 256), 1, 1, 256, 1, 1, 0, args);
    std::vector<double> ref(n);
    for (int i = 0; i < n; i++) ref[i] = 1.0 - 0.5 * i;
    check.report("launch by name", rc == 0);
    printf(" rc=%d %s\n", rc, rc ? gl_emu_last_error() : "");
    check.compare("sgd_momentum through the C API", p, ref, 0, 0);

    rc = gl_emu_launch("no_such_kernel", 1, 1, 1, 1, 1, 1, 0, args);
    std::string message = gl_emu_last_error();
    check.report("unknown kernel is an error", rc != 0 && message.find("no_such_kernel") != std::string::npos);
    printf(" %s\n", message.c_str());

    rc = gl_emu_launch("sgd_momentum", 1, 1, 1, 4096, 1, 1, 0, args);
    message = gl_emu_last_error();
    check.report("oversized block is an error", rc != 0 && message.find("sgd_momentum") != std::string::npos);
    printf(" %s\n", message.c_str());

    rc = gl_emu_launch("sgd_momentum", 1, 1, 1, 256, 1, 1, 1024, args);
    message = gl_emu_last_error();
    check.report("dynamic shared memory is an error", rc != 0);
    printf(" %s\n", message.c_str());
    return check.finish("emu-lib");
}
