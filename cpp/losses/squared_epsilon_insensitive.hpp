// scikit-learn's squared epsilon-insensitive loss: python/fastdescent/_units/losses/squared_epsilon_insensitive.py.
#pragma once

#include <cmath>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace losses {

struct SquaredEpsilonInsensitive {
    static constexpr const char* kName = "squared_epsilon_insensitive";

    template <class T>
    struct Hyper {
        T derivative_clip;  // 0: none
        T epsilon;
        T q_bound;  // derivative_clip / 2
        T flat;     // 0
        T scale;    // 2
        T weighted_value;  // 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, derivative_clip, epsilon, q_bound, flat, scale, weighted_value);
        }
    };
};

}  // namespace losses

inline namespace FASTDESCENT_ARCH {

template <>
struct LossCode<losses::SquaredEpsilonInsensitive> {
    template <class T>
    static void row_terms(T r, T s, bool weighted, const losses::SquaredEpsilonInsensitive::Hyper<T>& hyper, T& q,
                          T& term) {
        const T excess = std::abs(r) - hyper.epsilon;
        const T value = excess > hyper.flat ? excess * excess : hyper.flat;
        const T over = r - hyper.epsilon, under = r + hyper.epsilon;  // both, then chosen (huber.hpp)
        const T below = r < -hyper.epsilon ? under : hyper.flat;
        T derivative = r > hyper.epsilon ? over : below;
        if (hyper.derivative_clip > T(0)) {
            const T bound = hyper.q_bound;
            derivative = derivative < -bound ? -bound : (derivative > bound ? bound : derivative);
        }
        q = weighted ? s * derivative : derivative;
        term = weighted && hyper.weighted_value != T(0) ? s * value : value;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
