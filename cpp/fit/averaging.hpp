// Polyak-Ruppert averaging of the iterates: python/fastdescent/_units/averaging.py.
#pragma once

#include "arch.hpp"

#include <cstddef>
#include <cstdint>

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// After k = averaged iterates: average = theta (k == 1), else average + (theta - average) / T(k).
template <class T>
void average_iterate(const T* theta, T* average, std::size_t i, std::int64_t averaged, T count) {
    average[i] = averaged == 1 ? theta[i] : average[i] + (theta[i] - average[i]) / count;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
