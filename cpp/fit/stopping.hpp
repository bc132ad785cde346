// The end of an epoch: python/fastdescent/_units/{stopping,rate_policy,epoch_end}.py, in float64
// where they are, in the same order: growth, gradient norm, tol; then the learning-rate policy.
#pragma once

#include "arch.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "canonical_sum.hpp"
#include "records.hpp"
#include "status.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

inline Status after_epoch(double epoch_loss, double grad_norm, double criterion, Progress& p, const Stopping& plan) {
    if (std::isnan(p.first_loss)) {
        p.first_loss = epoch_loss;
    } else if (p.first_loss > 0 && epoch_loss > plan.growth_limit * p.first_loss) {
        return kDiverged;
    }
    if (grad_norm < plan.gtol) return kGradientSmall;
    if (std::isnan(plan.tol)) return kRanAll;
    if (criterion > p.best_criterion - plan.tol) {
        ++p.stale_epochs;
    } else {
        p.stale_epochs = 0;
    }
    if (criterion < p.best_criterion) p.best_criterion = criterion;
    return p.stale_epochs >= plan.n_iter_no_change ? kStalled : kRanAll;
}

// A step's rate after the policy's divisions by 5: lr / T(5**k), or lr itself for k = 0.
template <class T>
T policy_rate(T lr, const Progress& p, const RatePolicy<T>& policy) {
    if (p.rate_divisions == 0) return lr;
    return lr / policy.divisors[std::min<std::size_t>(static_cast<std::size_t>(p.rate_divisions), policy.n_divisors - 1)];
}

template <class T>
Status on_stall(double last_rate, Progress& p, const RatePolicy<T>& policy) {
    if (policy.adaptive && last_rate > policy.floor) {
        ++p.rate_divisions;
        p.stale_epochs = 0;
        return kRanAll;
    }
    return kConverged;
}

// After an epoch with finite weights: the norm of its mean step gradient (epoch_sums[1 .. moving]),
// the validation score (NaN without validation), the stopping rules and the rate policy.
// R^2 as scikit-learn's r2_score gives it: 1 - loss * scale; targets that do not vary (scale inf)
// score 1 if predicted exactly, else 0; one row (scale NaN) scores NaN, which never improves and
// never stalls.
inline double validation_score(double validation_loss, double validation_scale) {
    if (validation_scale == INFINITY) return validation_loss == 0.0 ? 1.0 : 0.0;
    return 1.0 - validation_loss * validation_scale;
}

template <class T>
Status close_epoch(const T* epoch_sums, std::size_t steps, std::size_t moving, T last_rate, bool has_validation,
                 T validation_loss, double validation_scale, Progress& progress, const Stopping& stopping,
                 const RatePolicy<T>& policy, double& grad_norm, double& score) {
    const T step_count = static_cast<T>(steps);
    std::vector<T> mean_gradient(moving);
    for (std::size_t j = 0; j < moving; ++j) mean_gradient[j] = epoch_sums[1 + j] / step_count;
    grad_norm = static_cast<double>(std::sqrt(lane_dot(mean_gradient.data(), mean_gradient.data(), moving)));
    const double epoch_loss = static_cast<double>(epoch_sums[0]);
    double criterion = epoch_loss;
    score = NAN;
    if (has_validation) {
        score = validation_score(static_cast<double>(validation_loss), validation_scale);
        criterion = -score;
    }
    Status status = after_epoch(epoch_loss, grad_norm, criterion, progress, stopping);
    if (status == kStalled) status = on_stall(static_cast<double>(last_rate), progress, policy);
    return status;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
