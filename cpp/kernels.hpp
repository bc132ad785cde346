// The kernels one SIMD build exports, as tables of function pointers generated from the registries
// (losses/, penalties/, rules/): a new rule, loss or penalty gets its entries here without an edit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <utility>

#include "losses/registry.hpp"
#include "penalties/registry.hpp"
#include "records.hpp"
#include "rules/registry.hpp"
#include "status.hpp"
#include "type_list.hpp"

namespace fastdescent {

// The canonical sums of all rows in order at theta (d + 2 values), for a loss.
template <class T, class Loss>
struct RowSumKernels {
    void (*row_sums)(const Rows<T>&, const T* theta, const typename Loss::template Hyper<T>&, T* sums,
                     std::size_t threads);
};

// The objective and its gradient (d + 1 values), from the rows or from their sums.
template <class T, class C>
struct ObjectiveKernels;
template <class T, class Loss, class Penalty>
struct ObjectiveKernels<T, Combination<Loss, Penalty, void>> {
    using LossHyper = typename Loss::template Hyper<T>;
    using PenaltyHyper = typename Penalty::template Hyper<T>;
    T (*objective)(const Rows<T>&, const T* theta, const LossHyper&, const PenaltyHyper&, T* grad, std::size_t threads);
    T (*from_sums)(const T* sums, const T* theta, std::size_t d, T count, const LossHyper&, const PenaltyHyper&,
                   T* grad);
};

// A fused fit's calls (fit/fit.hpp), for one loss, penalty and rule.
template <class T, class C>
struct FitKernels;
template <class T, class Loss, class Penalty, class Rule>
struct FitKernels<T, Combination<Loss, Penalty, Rule>> {
    using State = FitState<T, Penalty, Rule>;
    using Plan = FitPlan<T, Loss, Penalty, Rule>;
    using Steps = Schedule<T, Rule>;
    std::pair<std::size_t, Status> (*run_epochs)(const FitData<T>&, const State&, const Plan&, const Steps&,
                                                 const History&, std::size_t n_epochs,
                                                 const std::function<bool()>& interrupted);
    Status (*run_segment)(const FitData<T>&, const State&, const Plan&, const Steps&, std::size_t epoch_rows,
                          const std::function<bool()>& interrupted);
    Status (*step_from_sums)(const T* sums, std::size_t count, const State&, const Plan&, const Steps&,
                             std::size_t epoch_rows, std::size_t d);
    Status (*end_epoch)(const State&, const Plan&, const History&, std::size_t epoch, std::size_t steps, T last_rate,
                        std::size_t d);
};

// A rule on elements [begin, end) of a user's parameter (fastdescent.optim).
template <class T, class Rule>
struct StepKernels {
    void (*step)(T* param, const T* grad, const typename Rule::template State<T>&,
                 const typename Rule::template Hyper<T>&, T lr, std::int64_t t, const typename Rule::template Table<T>&,
                 std::size_t begin, std::size_t end);
};

using Objectives = typename Product<Losses, Penalties, TypeList<void>>::type;
using Fits = typename FitProduct<Losses, FitPenalties>::type;

template <class T>
struct Kernels {
    typename TupleOf<RowSumKernels, T, Losses>::type row_sums;
    typename TupleOf<ObjectiveKernels, T, Objectives>::type objectives;
    typename TupleOf<FitKernels, T, Fits>::type fits;
    typename TupleOf<StepKernels, T, Rules>::type steps;
    bool (*all_finite)(const T* values, std::size_t size);

    template <class Loss>
    const RowSumKernels<T, Loss>& of_loss() const {
        return std::get<RowSumKernels<T, Loss>>(row_sums);
    }
    template <class Loss, class Penalty>
    const ObjectiveKernels<T, Combination<Loss, Penalty, void>>& objective() const {
        return std::get<ObjectiveKernels<T, Combination<Loss, Penalty, void>>>(objectives);
    }
    template <class Loss, class Penalty, class Rule>
    const FitKernels<T, Combination<Loss, Penalty, Rule>>& fit() const {
        return std::get<FitKernels<T, Combination<Loss, Penalty, Rule>>>(fits);
    }
    template <class Rule>
    const StepKernels<T, Rule>& rule() const {
        return std::get<StepKernels<T, Rule>>(steps);
    }
};

}  // namespace fastdescent
