// torch.optim.Adagrad: python/fastdescent/_units/rules/adagrad.py, operation for operation.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Adagrad {
    static constexpr const char* kName = "adagrad";

    template <class T>
    struct Hyper {
        T weight_decay, eps;
        bool maximize;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Hyper, weight_decay, eps, maximize); }
    };
    template <class T>
    struct State {
        T* sum;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, sum); }
    };
    template <class T>
    struct Table {
        const T* rate_divisor;  // 1 + (t - 1) * lr_decay
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Table, rate_divisor); }
    };
    template <class T>
    struct Step {
        T neg_lr;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Adagrad> {
    using Rule = rules::Adagrad;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>&, T lr, std::int64_t, const Rule::Table<T>& table,
                                    std::size_t row) {
        return {-(lr / table.rate_divisor[row])};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T g = h.maximize ? -grad[i] : grad[i];
        if (h.weight_decay != T(0)) g = g + h.weight_decay * param[i];
        const T total = state.sum[i] + g * g;
        state.sum[i] = total;
        param[i] = param[i] + step.neg_lr * (g / (std::sqrt(total) + h.eps));
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
