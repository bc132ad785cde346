// scikit-learn's epsilon-insensitive loss: python/fastdescent/_units/losses/epsilon_insensitive.py.
#pragma once

#include <cmath>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace losses {

struct EpsilonInsensitive {
    static constexpr const char* kName = "epsilon_insensitive";

    template <class T>
    struct Hyper {
        T derivative_clip;  // 0: none
        T epsilon;
        T slope;  // the derivative's size outside the tube: 1, or derivative_clip below 1
        T flat;   // 0
        T scale;  // 1
        T weighted_value;  // 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, derivative_clip, epsilon, slope, flat, scale, weighted_value);
        }
    };
};

}  // namespace losses

inline namespace FASTDESCENT_ARCH {

template <>
struct LossCode<losses::EpsilonInsensitive> {
    template <class T>
    static void row_terms(T r, T s, bool weighted, const losses::EpsilonInsensitive::Hyper<T>& hyper, T& q, T& term) {
        const T excess = std::abs(r) - hyper.epsilon;
        const T value = excess > hyper.flat ? excess : hyper.flat;
        // r > epsilon: slope; r < -epsilon: -slope; else flat (epsilon >= 0, slope > 0).  One choice of
        // two values: as two nested choices GCC made the inner one a branch, which the residual's
        // sign makes unpredictable (per-sample SGD at d = 50: 38 -> 49 ns a row).
        const T outside = std::copysign(hyper.slope, r);
        const T derivative = std::abs(r) > hyper.epsilon ? outside : hyper.flat;
        q = weighted ? s * derivative : derivative;
        term = weighted && hyper.weighted_value != T(0) ? s * value : value;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
