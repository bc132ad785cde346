// torch.optim.RMSprop: python/fastdescent/_units/rules/rmsprop.py, operation for operation.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "primitives.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Rmsprop {
    static constexpr const char* kName = "rmsprop";

    template <class T>
    struct Hyper {
        T alpha, square_weight, average_keep, eps, weight_decay, momentum;
        bool maximize;
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, alpha, square_weight, average_keep, eps, weight_decay, momentum, maximize);
        }
    };
    template <class T>
    struct State {
        T* square_avg;
        Optional<T> grad_avg;         // centered
        Optional<T> momentum_buffer;  // momentum > 0
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, square_avg, grad_avg, momentum_buffer); }
    };
    template <class T>
    struct Table {
        static constexpr auto fields() { return FASTDESCENT_NO_FIELDS(); }
    };
    template <class T>
    struct Step {
        T neg_lr;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Rmsprop> {
    using Rule = rules::Rmsprop;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>&, T lr, std::int64_t, const Rule::Table<T>&, std::size_t) {
        return {-lr};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T g = h.maximize ? -grad[i] : grad[i];
        if (h.weight_decay != T(0)) g = g + h.weight_decay * param[i];
        const T square = state.square_avg[i] * h.alpha + (h.square_weight * g) * g;
        state.square_avg[i] = square;
        T spread;
        if (state.grad_avg) {
            const T average = lerp(state.grad_avg[i], g, h.square_weight, h.average_keep);
            state.grad_avg[i] = average;
            spread = std::sqrt(maximum(square - average * average, T(0))) + h.eps;
        } else {
            spread = std::sqrt(square) + h.eps;
        }
        if (state.momentum_buffer) {
            const T buffer = state.momentum_buffer[i] * h.momentum + g / spread;
            state.momentum_buffer[i] = buffer;
            param[i] = param[i] + step.neg_lr * buffer;
        } else {
            param[i] = param[i] + step.neg_lr * (g / spread);
        }
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
