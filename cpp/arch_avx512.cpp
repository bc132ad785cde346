// The kernels compiled for the avx512 target (flags set per file in CMakeLists.txt).
#define FASTDESCENT_ARCH avx512
#define FASTDESCENT_ARCH_NAME "avx512"
#include "simd_build.hpp"
