// torch.optim.Adam / AdamW / AMSGrad: python/fastdescent/_units/rules/adam.py, operation for operation.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "moments.hpp"
#include "primitives.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Adam {
    static constexpr const char* kName = "adam";

    template <class T>
    using Hyper = MomentsHyper<T>;  // moments.hpp
    template <class T>
    struct State {
        T* exp_avg;
        T* exp_avg_sq;
        Optional<T> max_exp_avg_sq;  // amsgrad
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, exp_avg, exp_avg_sq, max_exp_avg_sq); }
    };
    template <class T>
    struct Table {
        const T* bias_correction1;
        const T* root_bias_correction2;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Table, bias_correction1, root_bias_correction2); }
    };
    template <class T>
    struct Step {
        T neg_step_size, root_bias_correction2, decay;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Adam> {
    using Rule = rules::Adam;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>& h, T lr, std::int64_t, const Rule::Table<T>& table,
                                    std::size_t row) {
        return {-(lr / table.bias_correction1[row]), table.root_bias_correction2[row], T(1) - lr * h.weight_decay};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T p, g, m, v;
        decayed(param, grad, i, h, step.decay, p, g);
        moments(state, i, g, h, m, v);
        if (state.max_exp_avg_sq) {
            v = maximum(state.max_exp_avg_sq[i], v);
            state.max_exp_avg_sq[i] = v;
        }
        param[i] = p + step.neg_step_size * (m / (std::sqrt(v) / step.root_bias_correction2 + h.eps));
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
