// Run-time choice among the SIMD builds of the kernels.  The canonical order does not depend on the
// SIMD width (lanes are 64 bytes, blocks 256 rows), so every build returns the same bits; they
// differ only in speed.
#pragma once

#include <string>
#include <vector>

#include "kernels.hpp"

namespace fastdescent {

struct SimdBuild {
    const char* name;
    Kernels<float> f32;
    Kernels<double> f64;

    template <class T>
    const Kernels<T>& kernels() const;
};

template <>
inline const Kernels<float>& SimdBuild::kernels<float>() const {
    return f32;
}
template <>
inline const Kernels<double>& SimdBuild::kernels<double>() const {
    return f64;
}

// Every build compiled into this extension, baseline first; whether this CPU runs it.
struct SimdOption {
    const SimdBuild* build;
    bool supported;
};
const std::vector<SimdOption>& simd_builds();

// The build in use, chosen once: FASTDESCENT_SIMD as it was when the extension loaded (an error if
// unknown or unsupported here, raised by every kernel call), else the widest this CPU supports --
// on AMD Zen 4 with the AVX2 build's sums over rows (dispatch.cpp).  select_simd changes it.
const SimdBuild& current_simd();

// Choose a build by name ("auto": the default choice); std::invalid_argument if unknown or
// unsupported here (the choice is then that error, until another select_simd).
void select_simd(const std::string& name, const std::string& source = "simd");

}  // namespace fastdescent
