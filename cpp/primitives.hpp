// The operations the rules share beyond element-wise arithmetic: python/fastdescent/_units/primitives.py.
#pragma once

#include <cmath>

#include "arch.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// torch's lerp(start, end, weight); keep = 1 - weight, rounded in T by the caller.
template <class T>
inline T lerp(T start, T end, T weight, T keep) {
    return std::abs(weight) < T(0.5) ? start + weight * (end - start) : end - (end - start) * keep;
}

// The larger of a and b; a when they are equal.
template <class T>
inline T maximum(T a, T b) {
    return a < b ? b : a;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
