// The stochastic average gradient of fastdescent.optim.SAG: python/fastdescent/_units/rules/sag.py.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Sag {
    static constexpr const char* kName = "sag";

    template <class T>
    struct Hyper {
        T weight_decay;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Hyper, weight_decay); }
    };
    template <class T>
    struct State {
        T* memory;  // the stored gradient of this step's sample
        T* total;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, memory, total); }
    };
    template <class T>
    struct Table {
        const T* seen;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Table, seen); }
    };
    template <class T>
    struct Step {
        T lr, seen;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Sag> {
    using Rule = rules::Sag;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>&, T lr, std::int64_t, const Rule::Table<T>& table,
                                    std::size_t row) {
        return {lr, table.seen[row]};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        state.total[i] = state.total[i] + (grad[i] - state.memory[i]);
        state.memory[i] = grad[i];
        T direction = state.total[i] / step.seen;
        if (h.weight_decay != T(0)) direction = direction + h.weight_decay * param[i];
        param[i] = param[i] - step.lr * direction;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
