// torch.optim.NAdam: python/fastdescent/_units/rules/nadam.py, operation for operation.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fields.hpp"
#include "moments.hpp"
#include "units.hpp"

namespace fastdescent {
namespace rules {

struct Nadam {
    static constexpr const char* kName = "nadam";

    template <class T>
    using Hyper = MomentsHyper<T>;  // moments.hpp
    template <class T>
    struct State {
        T* exp_avg;
        T* exp_avg_sq;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, exp_avg, exp_avg_sq); }
    };
    template <class T>
    struct Table {
        const T* one_minus_mu;
        const T* mu_next;
        const T* one_minus_product;
        const T* one_minus_product_next;
        const T* bias_correction2;
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Table, one_minus_mu, mu_next, one_minus_product, one_minus_product_next,
                                      bias_correction2);
        }
    };
    template <class T>
    struct Step {
        T grad_coefficient, average_coefficient, bias_correction2, decay;
    };
};

}  // namespace rules

inline namespace FASTDESCENT_ARCH {

template <>
struct RuleCode<rules::Nadam> {
    using Rule = rules::Nadam;

    template <class T>
    static Rule::Step<T> begin_step(const Rule::Hyper<T>& h, T lr, std::int64_t, const Rule::Table<T>& table,
                                    std::size_t row) {
        const T neg_lr = -lr;
        return {(neg_lr * table.one_minus_mu[row]) / table.one_minus_product[row],
                (neg_lr * table.mu_next[row]) / table.one_minus_product_next[row], table.bias_correction2[row],
                T(1) - lr * h.weight_decay};
    }

    template <class T>
    static void update(T* param, const T* grad, const Rule::State<T>& state, std::size_t i, const Rule::Hyper<T>& h,
                       const Rule::Step<T>& step) {
        T p, g, m, v;
        decayed(param, grad, i, h, step.decay, p, g);
        moments(state, i, g, h, m, v);
        const T denom = std::sqrt(v / step.bias_correction2) + h.eps;
        p = p + step.grad_coefficient * (g / denom);
        param[i] = p + step.average_coefficient * (m / denom);
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
