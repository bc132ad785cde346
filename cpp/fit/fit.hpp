// Epochs of a fused fit: the order of section 3 of docs/reduction-order.md, step for step as
// python/fastdescent/_reference/fit.py, for one loss, penalty and update rule.
#pragma once

#include "arch.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "canonical_sum.hpp"
#include "losses/squared_error.hpp"
#include "fit/averaging.hpp"
#include "fit/objective.hpp"
#include "fit/sag.hpp"
#include "fit/stopping.hpp"
#include "records.hpp"
#include "row_sums.hpp"
#include "status.hpp"
#include "units.hpp"

namespace fastdescent {

// Between batches, a long fit asks whether to stop (Ctrl-C) after about this many multiply-adds:
// a fraction of a millisecond, so the caller hears a signal quickly and the check costs nothing.
constexpr std::size_t kWorkBetweenPolls = std::size_t(1) << 20;

inline namespace FASTDESCENT_ARCH {

template <class T, class Loss, class Penalty, class Rule>
class Fit {
public:
    using Plan = FitPlan<T, Loss, Penalty, Rule>;
    using State = FitState<T, Penalty, Rule>;
    using Steps = Schedule<T, Rule>;

    // Up to n_epochs whole epochs; (epochs run, status).  `interrupted` is polled every
    // kWorkBetweenPolls units of work; when it answers true the fit stops where it is.
    static std::pair<std::size_t, Status> run_epochs(const FitData<T>& data, const State& state, const Plan& plan,
                                                     const Steps& schedule, const History& history,
                                                     std::size_t n_epochs, const std::function<bool()>& interrupted) {
        Fit fit(data.rows, state, plan, schedule, &interrupted);
        const std::size_t d = data.rows.d;
        const T rows_per_epoch = static_cast<T>(data.epoch_rows);
        for (std::size_t epoch = 0; epoch < n_epochs; ++epoch) {
            const std::int64_t* order = data.n_orders ? data.orders + (epoch % data.n_orders) * data.epoch_rows : nullptr;
            std::fill(state.epoch_sums, state.epoch_sums + d + 2, T(-0.0));
            const Status status = fit.run_batches(order, data.epoch_rows, rows_per_epoch);
            if (status == kInterrupted) return {epoch, status};
            if (status != kRanAll) {
                history.losses[epoch] = static_cast<double>(state.epoch_sums[0]);
                return {epoch + 1, status};
            }
            T validation_loss = T(NAN);
            if (data.n_validation && fit.theta_is_finite()) {  // the squared error, whatever the loss (R^2)
                batch_sums<losses::SquaredError>(data.rows, OrderedRows{data.validation_rows, data.n_validation},
                                                 data.n_validation, state.theta, state.theta[d], plan.validation_loss,
                                                 fit.tree_, fit.sums_.data(), static_cast<T*>(nullptr),
                                                 plan.n_threads);
                validation_loss = fit.sums_[d + 1] / static_cast<T>(data.n_validation);
            }
            const Status ended = fit.finish(history, epoch, data.n_validation != 0, validation_loss,
                                            data.validation_scale);
            if (ended != kRanAll) return {epoch + 1, ended};
        }
        return {n_epochs, kRanAll};
    }

    // The batches of one part of an epoch of epoch_rows rows (its one order, or all rows), continuing
    // state.epoch_sums; the caller ends the epoch.
    static Status run_segment(const FitData<T>& data, const State& state, const Plan& plan, const Steps& schedule,
                              std::size_t epoch_rows, const std::function<bool()>& interrupted) {
        Fit fit(data.rows, state, plan, schedule, &interrupted);
        return fit.run_batches(data.n_orders ? data.orders : nullptr, data.epoch_rows, static_cast<T>(epoch_rows));
    }

    // One step whose batch of `count` rows has these canonical sums (full-batch descent on chunks).
    static Status step_from_sums(const T* sums, std::size_t count, const State& state, const Plan& plan,
                                 const Steps& schedule, std::size_t epoch_rows, std::size_t d) {
        Fit fit(Rows<T>{nullptr, nullptr, nullptr, 0, d}, state, plan, schedule, nullptr);
        std::copy(sums, sums + fit.d_ + 2, fit.sums_.begin());
        if (!fit.batch_loss(static_cast<T>(count), static_cast<T>(epoch_rows))) return kDiverged;
        fit.step_along<kGradientComputed>();
        return kRanAll;
    }

    // The end of an epoch of `steps` steps run in segments or steps (no validation rows).
    static Status end_epoch(const State& state, const Plan& plan, const History& history, std::size_t epoch,
                            std::size_t steps, T last_rate, std::size_t d) {
        const Steps no_steps{};
        Fit fit(Rows<T>{nullptr, nullptr, nullptr, 0, d}, state, plan, no_steps, nullptr);
        fit.steps_ = steps;
        fit.rate_ = last_rate;
        return fit.finish(history, epoch, false, T(0), 1.0);
    }

private:
    Fit(const Rows<T>& rows, const State& state, const Plan& plan, const Steps& schedule,
        const std::function<bool()>* interrupted)
        : rows_(rows), state_(state), plan_(plan), schedule_(schedule), interrupted_(interrupted), d_(rows.d),
          moving_(plan.fit_intercept ? rows.d + 1 : rows.d), tree_(rows.d + 2), sums_(rows.d + 2), grad_(rows.d + 1),
          q_(plan.sag ? plan.batch_size : 0), one_pass_(!plan.sag && !(plan.clip_norm > T(0))) {}

    template <class Batch>
    void sums_of(Batch rows, std::size_t m, T* q_out) {
        // A step of one row inlined here: per-sample SGD paid a call's prologue (stack realignment,
        // saved registers) for a row of ten features.
        if (m == 1)
            return one_row_sums<Loss>(rows_, rows, state_.theta, state_.theta[d_], plan_.loss, sums_.data(), q_out);
        batch_sums<Loss>(rows_, rows, m, state_.theta, state_.theta[d_], plan_.loss, tree_, sums_.data(), q_out,
                         plan_.n_threads);
    }

    // The batches of `order` (null: rows in order), each a step; steps_ and rate_ follow them.
    Status run_batches(const std::int64_t* order, std::size_t rows, T rows_per_epoch) {
        for (std::size_t start = 0; start < rows; start += plan_.batch_size) {
            const std::size_t m = std::min(plan_.batch_size, rows - start);
            const bool one_pass = m == 1 && one_pass_;  // one_row_step takes the step too
            auto take = [&](auto batch) {
                if (one_pass) return one_row_step(batch, rows_per_epoch);
                T* q_out = plan_.sag ? q_.data() : nullptr;
                sums_of(batch, m, q_out);
                if (!batch_loss(static_cast<T>(m), rows_per_epoch)) return false;
                if (plan_.sag)
                    sag_direction<Penalty>(rows_, batch, m, q_out, state_.sag, *state_.progress, state_.theta,
                                           plan_.loss, plan_.penalty, grad_.data());
                return true;
            };
            const bool finite = order ? take(OrderedRows{order + start, rows - start}) : take(ContiguousRows{start});
            if (!finite) return kDiverged;
            if (!one_pass) step_along<kGradientComputed>();
            work_since_poll_ += m * (d_ + 1);
            if (work_since_poll_ >= kWorkBetweenPolls) {
                work_since_poll_ = 0;
                if (interrupted_ != nullptr && (*interrupted_)()) return kInterrupted;
            }
        }
        return kRanAll;
    }

    // The batch's loss into the epoch's, its gradient into grad_; false when the loss is not finite
    // and the derivative is not clipped (with scikit-learn's clip only non-finite weights stop a fit).
    FASTDESCENT_ALWAYS_INLINE bool batch_loss(T count, T rows_per_epoch) {
        const T loss = loss_and_gradient<Penalty>(sums_.data(), state_.theta, d_, count, plan_.loss, plan_.penalty,
                                                  grad_.data());
        return add_to_epoch_loss(loss, count, rows_per_epoch);
    }

    FASTDESCENT_ALWAYS_INLINE bool add_to_epoch_loss(T loss, T count, T rows_per_epoch) {
        state_.epoch_sums[0] = state_.epoch_sums[0] + loss * (count / rows_per_epoch);
        return std::isfinite(loss) || plan_.loss.derivative_clip != T(0);
    }

    // One row's step (no SAG, no clipping) in one pass over the coefficients: per-sample SGD at ten
    // features paid five loops of d through memory (the row's sums, the gradient, the penalty's
    // gradient, the epoch's gradient sum, the update).  Coefficient j's operations are the general
    // path's in the same order, and none reads another coefficient's, so the bits are the same; the
    // penalty's value reads w before any of it moves.  False: the loss is not finite (add_to_epoch_loss).
    template <class Batch>
    FASTDESCENT_ALWAYS_INLINE bool one_row_step(Batch rows, T rows_per_epoch) {
        const T* const w = state_.theta;
        T q, term;
        const T* const x = one_row_terms<Loss>(rows_, rows, w, w[d_], plan_.loss, q, term);
        const T loss = PenaltyCode<Penalty>::add_to_loss(term, w, d_, plan_.penalty);  // term / 1 is term
        if (!add_to_epoch_loss(loss, T(1), rows_per_epoch)) return false;
        step_along<kGradientInPass>(x, q);
        return true;
    }

    // Where step_along's pass over the coefficients finds the gradient: computed in grad_, or to be
    // computed in the pass from one row x and its q (loss_and_gradient's count == 1), coefficient by
    // coefficient.
    static constexpr bool kGradientComputed = false, kGradientInPass = true;

    // Clip, the rule's update, averaging, what the penalty accrued (section 3.3-3.6).
    template <bool GradientInPass>
    FASTDESCENT_ALWAYS_INLINE void step_along(const T* x = nullptr, T q = T(0)) {
        T* const gradient_sum = state_.epoch_sums + 1;
        T* const grad_out = grad_.data();
        // Locals: read through the records, they would be loaded again after every store (the
        // loop did not vectorise).
        const T loss_scale = plan_.loss.scale;
        const auto penalty = plan_.penalty;
        T* const theta = state_.theta;
        const std::size_t d = d_;
        // Coefficient j's gradient (j == d: the intercept's) and its share of the epoch's sum, before
        // clipping.  Every value an argument: captured by reference they were memory, reloaded after
        // every store, and the loops did not vectorise.
        const auto gradient_at = [](std::size_t j, std::size_t d, const T* x, T q, T scale, const auto penalty,
                                    const T* w, T* grad, T* sum) {
            if constexpr (GradientInPass) {
                if (j < d) {
                    grad[j] = scale * (q * x[j]);
                    PenaltyCode<Penalty>::add_to_gradient(grad, w, j, penalty);
                } else {
                    grad[j] = scale * q;
                }
                sum[j] = sum[j] + grad[j];
            }
        };
        if constexpr (!GradientInPass)
            for (std::size_t j = 0; j < moving_; ++j) gradient_sum[j] = gradient_sum[j] + grad_[j];
        if (plan_.clip_norm > T(0)) {  // never with the gradient in the pass
            const T size = std::sqrt(lane_dot(grad_.data(), grad_.data(), moving_));
            if (size > plan_.clip_norm) {
                const T scale = plan_.clip_norm / size;
                for (std::size_t j = 0; j < moving_; ++j) grad_[j] = grad_[j] * scale;
            }
        }
        Progress& progress = *state_.progress;
        const std::int64_t t = progress.steps;
        const std::size_t row = static_cast<std::size_t>(t - schedule_.first_step) * schedule_.stride;
        rate_ = policy_rate(schedule_.lr[row], progress, plan_.rate_policy);
        // Locals: through the references every store to theta might change them (rule_step's reason).
        const auto hyper = plan_.rule;
        const auto rule_state = state_.rule;
        const auto step = RuleCode<Rule>::begin_step(hyper, rate_, t, schedule_.table, row);
        const auto penalty_state = state_.penalty;
        T* const average = state_.average;
        const T* const grad = grad_.data();
        const bool averages = plan_.average_start >= 0 && t + 1 > plan_.average_start;
        const std::int64_t averaged = t + 1 - plan_.average_start;
        const T count = static_cast<T>(averaged);
        const auto accrued =  // reads no coefficient
            PenaltyCode<Penalty>::accrue(penalty_state, penalty, rate_, averages ? count : T(0));
        const bool truncate_in_pass = PenaltyCode<Penalty>::kMovesCoefficients && !averages;
        if (truncate_in_pass) {
            // Each coefficient's update and penalty in one pass (each reads and writes index j
            // alone: the same operations in the same order): as two passes elastic net stored and
            // reloaded every coefficient.  Only here: one loop of all three, averaging between them,
            // multiplied the unswitched copies of every rule's loop and the build took five times
            // as long.  ivdep: coefficient j touches index j of each array alone, and the arrays
            // (the state's, the gradient, the row) are distinct; with seven pointers to check at run
            // time GCC gave up vectorising instead (a per-sample step 1.5x slower at d = 50).
#pragma GCC ivdep
            for (std::size_t j = 0; j < d; ++j) {
                gradient_at(j, d, x, q, loss_scale, penalty, theta, grad_out, gradient_sum);
                RuleCode<Rule>::update(theta, grad, rule_state, j, hyper, step);
                PenaltyCode<Penalty>::apply_accrued(theta, average, false, penalty_state, j, penalty, accrued);
            }
        } else {
#pragma GCC ivdep
            for (std::size_t j = 0; j < d; ++j) {
                gradient_at(j, d, x, q, loss_scale, penalty, theta, grad_out, gradient_sum);
                RuleCode<Rule>::update(theta, grad, rule_state, j, hyper, step);
            }
        }
        if (moving_ > d) {
            gradient_at(d, d, x, q, loss_scale, penalty, theta, grad_out, gradient_sum);
            RuleCode<Rule>::update(theta, grad, rule_state, d, hyper, step);
        }
        if (!truncate_in_pass) {
            if (averages)
                for (std::size_t j = 0; j < moving_; ++j) average_iterate(theta, average, j, averaged, count);
            // After averaging, as scikit-learn: the coefficients only (the intercept is not penalised).
            if (PenaltyCode<Penalty>::kMovesCoefficients)
                for (std::size_t j = 0; j < d; ++j)
                    PenaltyCode<Penalty>::apply_accrued(theta, average, averages, penalty_state, j, penalty, accrued);
        }
        progress.steps = t + 1;
        ++steps_;
    }

    bool theta_is_finite() const {
        for (std::size_t j = 0; j <= d_; ++j)
            if (!std::isfinite(state_.theta[j])) return false;
        return true;
    }

    Status finish(const History& history, std::size_t epoch, bool has_validation, T validation_loss,
                  double validation_scale) {
        history.losses[epoch] = static_cast<double>(state_.epoch_sums[0]);
        if (!theta_is_finite()) {
            history.grad_norms[epoch] = NAN;
            return kDiverged;
        }
        double grad_norm, score;
        const Status status = close_epoch(
            state_.epoch_sums, steps_, moving_, rate_, has_validation, validation_loss, validation_scale,
            *state_.progress, plan_.stopping, plan_.rate_policy, grad_norm, score);
        history.grad_norms[epoch] = grad_norm;
        history.scores[epoch] = score;
        steps_ = 0;
        return status;
    }

    const Rows<T> rows_;
    const State& state_;
    const Plan& plan_;
    const Steps& schedule_;
    const std::function<bool()>* interrupted_;  // null: not interruptible (an O(d) call)
    const std::size_t d_, moving_;
    PairTree<T> tree_;
    std::vector<T> sums_, grad_, q_;
    const bool one_pass_;  // a batch of one row takes one_row_step
    std::size_t steps_ = 0, work_since_poll_ = 0;
    T rate_ = T(0);
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
