// scikit-learn's Huber loss of a residual: python/fastdescent/_units/losses/huber.py.
#pragma once

#include <cmath>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace losses {

struct Huber {
    static constexpr const char* kName = "huber";

    template <class T>
    struct Hyper {
        T derivative_clip;  // 0: none
        T epsilon;
        T bound;         // q = clip(r, bound): epsilon, or derivative_clip when smaller
        T half_epsilon;  // epsilon / 2, rounded once in T
        T half;
        T scale;  // 1
        T weighted_value;  // 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, derivative_clip, epsilon, bound, half_epsilon, half, scale,
                                      weighted_value);
        }
    };
};

}  // namespace losses

inline namespace FASTDESCENT_ARCH {

template <>
struct LossCode<losses::Huber> {
    template <class T>
    static void row_terms(T r, T s, bool weighted, const losses::Huber::Hyper<T>& hyper, T& q, T& term) {
        // Both sides computed, then chosen: which side a row takes is data, and as a branch (hard to
        // predict) it cost per-sample SGD at d = 32 13 ns a row (rows in order: 69 -> 56 ns).
        const T size = std::abs(r);
        const T inside = hyper.half * (r * r), outside = hyper.epsilon * (size - hyper.half_epsilon);
        const T value = size <= hyper.epsilon ? inside : outside;
        const T bound = hyper.bound;
        const T above = r > bound ? bound : r;
        const T derivative = r < -bound ? -bound : above;
        q = weighted ? s * derivative : derivative;
        term = weighted && hyper.weighted_value != T(0) ? s * value : value;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
