// torch.optim.SGD's update: python/fastdescent/_units/rules/sgd.py, operation for operation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Sgd {
    static constexpr const char* kName = "sgd";

    template <class T>
    struct Hyper {
        T momentum, dampening, keep, weight_decay;  // keep = 1 - dampening
        bool nesterov;
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, momentum, dampening, keep, weight_decay, nesterov);
        }
    };
    template <class T>
    struct State {
        T* momentum_buffer;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, momentum_buffer); }
    };
    template <class T>
    struct Table {
        static constexpr auto fields() { return FASTDESCENT_NO_FIELDS(); }
    };
    template <class T>
    struct Step {
        T lr;
        bool first;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Sgd> {
    using Rule = rules::Sgd;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>&, T lr, std::int64_t t, const Rule::Table<T>&, std::size_t) {
        return {lr, t == 0};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T g = grad[i];
        if (h.weight_decay != T(0)) g = g + h.weight_decay * param[i];
        if (h.momentum != T(0)) {
            T buffer;
            if (step.first) {
                buffer = g;
            } else if (h.dampening != T(0)) {
                buffer = h.momentum * state.momentum_buffer[i] + h.keep * g;
            } else {
                buffer = h.momentum * state.momentum_buffer[i] + g;
            }
            state.momentum_buffer[i] = buffer;
            g = h.nesterov ? g + h.momentum * buffer : buffer;
        }
        param[i] = param[i] - step.lr * g;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
