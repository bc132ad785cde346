// Run-time choice among the SIMD builds of the kernels.  The canonical order does not depend on the
// SIMD width (lanes are 64 bytes, blocks 256 rows), so every build returns the same bits; they
// differ only in speed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fit_types.hpp"

namespace fastdescent {

template <class T>
struct Kernels {
    std::pair<std::size_t, Status> (*run_epochs)(const FitArrays<T>&, const FitOptions<T>&,
                                                 const std::function<bool()>& interrupted);
    // loss and gradient (d + 1 values, the intercept last) of all n rows in order
    T (*loss_grad)(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, const T* w, T b, T l2,
                   T* grad, std::size_t threads);
    // the canonical sums (sum q x, sum q, sum s r r) of all n rows in order (d + 2 values)
    void (*row_sums)(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, const T* w, T b,
                     T residual_clip, T* sums, std::size_t threads);
    void (*sgd_step)(T* param, const T* grad, T* buffer, std::size_t size, T lr, T momentum, T dampening,
                     T weight_decay, bool nesterov, bool first_step);
    void (*asgd_step)(T* param, const T* grad, T* average, std::size_t size, T eta, T decay, T mu, T weight_decay);
    void (*sag_step)(T* param, const T* grad, T* memory, T* total, std::size_t size, T lr, T seen, T weight_decay);
    bool (*all_finite)(const T* values, std::size_t size);
};

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
std::vector<SimdOption> simd_builds();

// The build to use now: FASTDESCENT_SIMD if set (an error if unknown or unsupported here), else the
// widest this CPU supports -- on AMD Zen 4 with the AVX2 build's sums over rows (dispatch.cpp).
const SimdBuild& current_simd();

}  // namespace fastdescent
