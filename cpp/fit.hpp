// Whole epochs of a least-squares fit: minibatch gradient or SAG direction, heavy-ball / Nesterov
// momentum, Polyak-Ruppert averaging, loss history, tol and divergence checks.  The semantics are
// those of run_epochs in python/fastdescent/_reference.py, step for step.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "least_squares.hpp"

namespace fastdescent {

enum Status : int { kRanAll = 0, kConverged = 1, kDiverged = 2, kInterrupted = 3 };

// Between batches, a long fit asks whether to stop (Ctrl-C) after about this many multiply-adds:
// a fraction of a millisecond, so the caller hears a signal quickly and the check costs nothing.
constexpr std::size_t kWorkBetweenPolls = std::size_t(1) << 20;

// An epoch loss past this multiple of the fit's first epoch loss means divergence (as the reference).
constexpr double kLossGrowthLimit = 1e10;

template <class T>
struct FitArrays {
    const T* X;
    const T* y;
    std::size_t n, d;
    T* theta;     // d coefficients, then the intercept
    T* velocity;  // d + 1
    T* average;   // d + 1
    T* sag_memory;  // n residuals (SAG only)
    bool* sag_seen;  // n (SAG only)
    T* sag_sum;      // d + 1 (SAG only)
    std::int64_t* counters;  // steps taken, samples seen by SAG, epochs without improvement
    double* loss_state;  // best epoch loss (tol), first epoch loss (NaN until known)
    const std::int64_t* orders;  // n_orders x n row orders; none: natural order
    std::size_t n_orders;
    const T* lr;
    std::size_t lr_stride;  // 0: one constant rate, 1: a rate per step
    double* losses;         // one per epoch of this call
};

template <class T>
struct FitOptions {
    std::size_t n_epochs;
    std::size_t batch_size;
    T momentum;
    bool nesterov;
    T l2;
    bool fit_intercept;
    std::int64_t average_start;  // -1: no averaging
    bool sag;
    double tol;  // NaN: run every epoch
    std::int64_t n_iter_no_change;
    T clip_norm;  // 0: no clipping
};

namespace detail {

// Replace the batch's stored residuals, fold the change into the running sum (batch positions in
// order), and return in grad the average of the stored gradients over the samples seen so far.
template <class T, class Rows>
void sag_direction(const FitArrays<T>& a, const FitOptions<T>& o, Rows rows, std::size_t m,
                   const T* residuals, T* grad) {
    const std::size_t d = a.d;
    for (std::size_t p = 0; p < m; ++p) {
        const std::size_t i = rows(p);
        const T delta = residuals[p] - a.sag_memory[i];
        a.sag_memory[i] = residuals[p];
        if (!a.sag_seen[i]) {
            a.sag_seen[i] = true;
            ++a.counters[1];
        }
        const T* x = a.X + i * d;
        for (std::size_t j = 0; j < d; ++j) a.sag_sum[j] = a.sag_sum[j] + delta * x[j];
        a.sag_sum[d] = a.sag_sum[d] + delta;
    }
    const T two = T(2);
    const T n_seen = static_cast<T>(a.counters[1]);
    for (std::size_t j = 0; j <= d; ++j) grad[j] = two * (a.sag_sum[j] / n_seen);
    if (o.l2 != T(0)) {
        const T two_l2 = two * o.l2;
        for (std::size_t j = 0; j < d; ++j) grad[j] = grad[j] + two_l2 * a.theta[j];
    }
}

// Scale the moving part of the gradient down to norm clip_norm (norm by the canonical lane dot).
template <class T>
void clip_to_norm(T* grad, std::size_t moving, T clip_norm) {
    const T norm = std::sqrt(lane_dot(grad, grad, moving));
    if (norm > clip_norm) {
        const T scale = clip_norm / norm;
        for (std::size_t j = 0; j < moving; ++j) grad[j] = grad[j] * scale;
    }
}

// torch.optim.SGD's rule: v = g on the first step, then v = mu v + g; step along v or g + mu v.
template <class T>
void take_step(const FitArrays<T>& a, const FitOptions<T>& o, T* grad) {
    const std::size_t moving = o.fit_intercept ? a.d + 1 : a.d;
    if (o.clip_norm > T(0)) clip_to_norm(grad, moving, o.clip_norm);
    const std::int64_t step = a.counters[0];
    const T rate = a.lr[static_cast<std::size_t>(step) * a.lr_stride];
    for (std::size_t j = 0; j < moving; ++j) {
        T g = grad[j];
        if (o.momentum != T(0)) {
            const T v = step == 0 ? g : o.momentum * a.velocity[j] + g;
            a.velocity[j] = v;
            g = o.nesterov ? g + o.momentum * v : v;
        }
        a.theta[j] = a.theta[j] - rate * g;
    }
    const std::int64_t taken = step + 1;
    a.counters[0] = taken;
    if (o.average_start >= 0 && taken > o.average_start) {
        const std::int64_t averaged = taken - o.average_start;
        if (averaged == 1) {
            for (std::size_t j = 0; j < moving; ++j) a.average[j] = a.theta[j];
        } else {
            const T count = static_cast<T>(averaged);
            for (std::size_t j = 0; j < moving; ++j)
                a.average[j] = a.average[j] + (a.theta[j] - a.average[j]) / count;
        }
    }
}

inline bool grew_past_limit(double epoch_loss, double* loss_state) {
    if (std::isnan(loss_state[1])) {
        loss_state[1] = epoch_loss;
        return false;
    }
    return loss_state[1] > 0 && epoch_loss > kLossGrowthLimit * loss_state[1];
}

// scikit-learn's rule: an epoch improves when its loss is below best - tol.
inline bool stop_on_tol(double epoch_loss, std::int64_t* counters, double* loss_state, double tol,
                        std::int64_t n_iter_no_change) {
    if (epoch_loss > loss_state[0] - tol) {
        ++counters[2];
    } else {
        counters[2] = 0;
    }
    if (epoch_loss < loss_state[0]) loss_state[0] = epoch_loss;
    return counters[2] >= n_iter_no_change;
}

}  // namespace detail

// Runs up to o.n_epochs epochs; returns (epochs run, status).  `interrupted` is polled every
// kWorkBetweenPolls units of work; when it answers true the fit stops where it is.
template <class T>
std::pair<std::size_t, Status> run_epochs(const FitArrays<T>& a, const FitOptions<T>& o,
                                          const std::function<bool()>& interrupted) {
    std::size_t work_since_poll = 0;
    const std::size_t n = a.n, d = a.d;
    const T n_total = static_cast<T>(n);
    PairTree<T> tree(d + 2);
    std::vector<T> sums(d + 2), grad(d + 1), residuals(o.sag ? o.batch_size : 0);
    T* residuals_out = o.sag ? residuals.data() : nullptr;

    for (std::size_t epoch = 0; epoch < o.n_epochs; ++epoch) {
        const std::int64_t* order = a.n_orders ? a.orders + (epoch % a.n_orders) * n : nullptr;
        T epoch_loss = T(-0.0);
        for (std::size_t start = 0; start < n; start += o.batch_size) {
            const std::size_t m = std::min(o.batch_size, n - start);
            const T count = static_cast<T>(m);
            T loss;
            auto one_step = [&](auto rows) {
                batch_sums(a.X, a.y, d, rows, m, a.theta, a.theta[d], tree, sums.data(), residuals_out);
                loss = loss_and_gradient(sums.data(), a.theta, d, count, o.l2, grad.data());
                if (!std::isfinite(loss)) return false;
                if (o.sag) detail::sag_direction(a, o, rows, m, residuals_out, grad.data());
                return true;
            };
            const bool finite = order ? one_step(OrderedRows{order + start}) : one_step(ContiguousRows{start});
            epoch_loss = epoch_loss + loss * (count / n_total);
            if (!finite) {
                a.losses[epoch] = static_cast<double>(epoch_loss);
                return {epoch + 1, kDiverged};
            }
            detail::take_step(a, o, grad.data());
            work_since_poll += m * (d + 1);
            if (work_since_poll >= kWorkBetweenPolls) {
                work_since_poll = 0;
                if (interrupted()) return {epoch, kInterrupted};
            }
        }
        a.losses[epoch] = static_cast<double>(epoch_loss);
        if (detail::grew_past_limit(a.losses[epoch], a.loss_state)) return {epoch + 1, kDiverged};
        if (!std::isnan(o.tol) &&
            detail::stop_on_tol(a.losses[epoch], a.counters, a.loss_state, o.tol, o.n_iter_no_change))
            return {epoch + 1, kConverged};
    }
    return {o.n_epochs, kRanAll};
}

}  // namespace fastdescent
