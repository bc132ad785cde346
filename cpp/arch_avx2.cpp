// The kernels compiled for the avx2 target (flags set per file in CMakeLists.txt).
#define FASTDESCENT_ARCH avx2
#define FASTDESCENT_ARCH_NAME "avx2"
#include "simd_build.hpp"
