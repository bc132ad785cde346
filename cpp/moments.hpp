// Adam's moments, shared by the rules adam (AdamW, AMSGrad) and nadam:
// python/fastdescent/_units/moments.py, operation for operation.
#pragma once

#include <cstddef>

#include "arch.hpp"
#include "fields.hpp"
#include "primitives.hpp"

namespace fastdescent {
namespace rules {

// Both rules' Hyper (shared by every SIMD build, as every rule's records are).
template <class T>
struct MomentsHyper {
    T beta2, average_weight, average_keep, square_weight, eps, weight_decay;
    bool decoupled, maximize;
    static constexpr auto fields() {
        return FASTDESCENT_FIELDS(MomentsHyper, beta2, average_weight, average_keep, square_weight, eps, weight_decay,
                                  decoupled, maximize);
    }
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

// p after decoupled weight decay (decay = 1 - lr * weight_decay), g after maximize and coupled weight decay.
template <class T, class Hyper>
inline void decayed(const T* param, const T* grad, std::size_t i, const Hyper& h, T decay, T& p, T& g) {
    g = h.maximize ? -grad[i] : grad[i];
    p = param[i];
    if (h.weight_decay != T(0)) {
        if (h.decoupled) {
            p = p * decay;
        } else {
            g = g + h.weight_decay * p;
        }
    }
}

// m <- lerp(m, g, 1 - beta1), v <- v * beta2 + ((1 - beta2) * g) * g, both stored.
template <class T, class Hyper, class State>
inline void moments(const State& state, std::size_t i, T g, const Hyper& h, T& m, T& v) {
    m = lerp(state.exp_avg[i], g, h.average_weight, h.average_keep);
    state.exp_avg[i] = m;
    v = state.exp_avg_sq[i] * h.beta2 + (h.square_weight * g) * g;
    state.exp_avg_sq[i] = v;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
