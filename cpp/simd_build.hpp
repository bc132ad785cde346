// Included by each arch_*.cpp after it has defined FASTDESCENT_ARCH and FASTDESCENT_ARCH_NAME:
// instantiates the kernels for float and double and exports them as fastdescent::simd_<arch>.
#pragma once

#include "dispatch.hpp"
#include "finite.hpp"
#include "fit.hpp"
#include "steps.hpp"

#define FASTDESCENT_CONCAT_(a, b) a##b
#define FASTDESCENT_CONCAT(a, b) FASTDESCENT_CONCAT_(a, b)

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

template <class T>
void row_sums_all_rows(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, const T* w, T b,
                       T residual_clip, T* sums, std::size_t threads) {
    PairTree<T> tree(d + 2);
    batch_sums(X, y, weights, d, ContiguousRows{0}, n, w, b, residual_clip, tree, sums, static_cast<T*>(nullptr),
               threads);
}

template <class T>
T loss_grad_all_rows(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, const T* w, T b, T l2,
                     T* grad, std::size_t threads) {
    std::vector<T> sums(d + 2);
    row_sums_all_rows(X, y, weights, n, d, w, b, T(0), sums.data(), threads);
    return loss_and_gradient(sums.data(), w, d, static_cast<T>(n), l2, grad);
}

template <class T>
constexpr Kernels<T> kernels() {
    return {&run_epochs<T>, &loss_grad_all_rows<T>, &row_sums_all_rows<T>, &sgd_step<T>,
            &asgd_step<T>,  &sag_step<T>,          &all_finite<T>};
}

}  // namespace FASTDESCENT_ARCH

extern const SimdBuild FASTDESCENT_CONCAT(simd_, FASTDESCENT_ARCH);
const SimdBuild FASTDESCENT_CONCAT(simd_, FASTDESCENT_ARCH) = {FASTDESCENT_ARCH_NAME, kernels<float>(),
                                                               kernels<double>()};

}  // namespace fastdescent
