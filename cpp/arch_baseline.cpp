// The kernels compiled for the baseline target (flags set per file in CMakeLists.txt).
#define FASTDESCENT_ARCH baseline
#define FASTDESCENT_ARCH_NAME "baseline"
#include "simd_build.hpp"
