// step_advance: both counters move by one per launch, whatever the launch's size.
#include "harness.h"
#include "../kernels/step.cu"

using namespace harness;

int main()
{
    Checker check;
    DeviceBuffer<int> counters(std::vector<int>{0, 937, 0});
    for (int i = 0; i < 3; i++) LAUNCH(step_advance, dim3(1), dim3(1), counters.ptr);
    check.compare_exact("three steps from {0, 937}", counters.download(), std::vector<int>{3, 940, 0});
    LAUNCH(step_advance, dim3(1), dim3(32), counters.ptr);  // a block of 32: still one step
    check.compare_exact("one step by a block of 32", counters.download(), std::vector<int>{4, 941, 0});
    return check.finish("step");
}
