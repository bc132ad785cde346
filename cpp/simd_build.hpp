// Included by each arch_*.cpp after it has defined FASTDESCENT_ARCH and FASTDESCENT_ARCH_NAME:
// instantiates every kernel for float and double, for every registered loss, penalty and rule, and
// exports them as fastdescent::simd_<arch>.
#pragma once

#include <tuple>
#include <vector>

#include "dispatch.hpp"
#include "finite.hpp"
#include "fit/fit.hpp"
#include "fit/objective.hpp"
#include "row_sums.hpp"

#define FASTDESCENT_CONCAT_(a, b) a##b
#define FASTDESCENT_CONCAT(a, b) FASTDESCENT_CONCAT_(a, b)

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

template <class T, class Loss>
void row_sums_all_rows(const Rows<T>& rows, const T* theta, const typename Loss::template Hyper<T>& loss, T* sums,
                       std::size_t threads) {
    PairTree<T> tree(rows.d + 2);
    batch_sums<Loss>(rows, ContiguousRows{0}, rows.n, theta, theta[rows.d], loss, tree, sums,
                     static_cast<T*>(nullptr), threads);
}

template <class T, class Loss, class Penalty>
T objective_from_sums(const T* sums, const T* theta, std::size_t d, T count,
                      const typename Loss::template Hyper<T>& loss, const typename Penalty::template Hyper<T>& penalty,
                      T* grad) {
    return loss_and_gradient<Penalty>(sums, theta, d, count, loss, penalty, grad);
}

template <class T, class Loss, class Penalty>
T objective_of_rows(const Rows<T>& rows, const T* theta, const typename Loss::template Hyper<T>& loss,
                    const typename Penalty::template Hyper<T>& penalty, T* grad, std::size_t threads) {
    std::vector<T> sums(rows.d + 2);
    row_sums_all_rows<T, Loss>(rows, theta, loss, sums.data(), threads);
    return loss_and_gradient<Penalty>(sums.data(), theta, rows.d, static_cast<T>(rows.n), loss, penalty, grad);
}

// The records are copied to locals first: through the references, every store to param[i] might
// change a hyper-parameter (both are T) as far as the compiler knows, and it would reload them
// all and keep the branches inside the loop (4x slower on 10^5 parameters).
template <class T, class Rule>
void rule_step(T* param, const T* grad, const typename Rule::template State<T>& state,
               const typename Rule::template Hyper<T>& hyper, T lr, std::int64_t t,
               const typename Rule::template Table<T>& table, std::size_t begin, std::size_t end) {
    const auto local_state = state;
    const auto local_hyper = hyper;
    const auto step = RuleCode<Rule>::begin_step(local_hyper, lr, t, table, 0);
    for (std::size_t i = begin; i < end; ++i) RuleCode<Rule>::update(param, grad, local_state, i, local_hyper, step);
}

template <class T, class... Losses>
constexpr auto row_sum_table(TypeList<Losses...>) {
    return std::make_tuple(RowSumKernels<T, Losses>{&row_sums_all_rows<T, Losses>}...);
}

template <class T, class... Combinations>
constexpr auto objective_table(TypeList<Combinations...>) {
    return std::make_tuple(ObjectiveKernels<T, Combinations>{
        &objective_of_rows<T, typename Combinations::LossType, typename Combinations::PenaltyType>,
        &objective_from_sums<T, typename Combinations::LossType, typename Combinations::PenaltyType>}...);
}

template <class T, class C>
using FitOf = Fit<T, typename C::LossType, typename C::PenaltyType, typename C::RuleType>;

template <class T, class... Combinations>
constexpr auto fit_table(TypeList<Combinations...>) {
    return std::make_tuple(FitKernels<T, Combinations>{&FitOf<T, Combinations>::run_epochs,
                                                       &FitOf<T, Combinations>::run_segment,
                                                       &FitOf<T, Combinations>::step_from_sums,
                                                       &FitOf<T, Combinations>::end_epoch}...);
}

template <class T, class... Rules>
constexpr auto step_table(TypeList<Rules...>) {
    return std::make_tuple(StepKernels<T, Rules>{&rule_step<T, Rules>}...);
}

template <class T>
constexpr Kernels<T> kernels() {
    return {row_sum_table<T>(Losses{}), objective_table<T>(Objectives{}), fit_table<T>(Fits{}),
            step_table<T>(Rules{}), &all_finite<T>};
}

}  // namespace FASTDESCENT_ARCH

// constexpr, so the tables are in the library's data when it loads, with no code to fill them: this
// file is compiled for its target, and a dynamic initializer here (GCC filled the tables with
// AVX-512 stores) runs at import, before dispatch, and crashed the import on every CPU without it.
extern const SimdBuild FASTDESCENT_CONCAT(simd_, FASTDESCENT_ARCH);
constexpr SimdBuild FASTDESCENT_CONCAT(simd_, FASTDESCENT_ARCH) = {FASTDESCENT_ARCH_NAME, kernels<float>(),
                                                                   kernels<double>()};

}  // namespace fastdescent
