// Whether every value of an array is finite: the input check of every fit and step, one pass that
// allocates nothing.
#pragma once

#include "arch.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// Infinities and NaNs are the values whose exponent bits are all ones.  The test is on integers, so
// the compiler may combine the elements in any order and vectorise it (a float reduction could
// not be reordered); no value is computed, so no bit of any result depends on it.
template <class T>
bool all_finite(const T* values, std::size_t size) {
    using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    constexpr Bits exponent = sizeof(T) == 8 ? Bits(0x7ff0000000000000ull) : Bits(0x7f800000u);
    Bits bad = 0;
    for (std::size_t i = 0; i < size; ++i) {
        Bits bits;
        std::memcpy(&bits, values + i, sizeof(T));
        bad |= Bits((bits & exponent) == exponent);
    }
    return bad == 0;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
