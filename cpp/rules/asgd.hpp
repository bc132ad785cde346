// torch.optim.ASGD: python/fastdescent/_units/rules/asgd.py, operation for operation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Asgd {
    static constexpr const char* kName = "asgd";

    template <class T>
    struct Hyper {
        T weight_decay;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Hyper, weight_decay); }
    };
    template <class T>
    struct State {
        T* average;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, average); }
    };
    template <class T>
    struct Table {
        const T* eta;
        const T* decay;
        const T* mu;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Table, eta, decay, mu); }
    };
    template <class T>
    struct Step {
        T eta, decay, mu;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Asgd> {
    using Rule = rules::Asgd;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>&, T, std::int64_t, const Rule::Table<T>& table,
                                    std::size_t row) {
        return {table.eta[row], table.decay[row], table.mu[row]};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T g = grad[i];
        if (h.weight_decay != T(0)) g = g + h.weight_decay * param[i];
        T p = param[i] * step.decay;
        p = p - step.eta * g;
        param[i] = p;
        state.average[i] = step.mu == T(1) ? p : state.average[i] + (p - state.average[i]) * step.mu;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
