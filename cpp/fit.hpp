// Whole epochs of a least-squares fit: minibatch gradient or SAG direction, clipping, heavy-ball /
// Nesterov momentum, Polyak-Ruppert averaging, loss and gradient-norm history, validation score,
// and the stopping rules.  The semantics are those of run_epochs in
// python/fastdescent/_reference.py, step for step.
#pragma once

#include "arch.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "fit_types.hpp"
#include "least_squares.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

namespace detail {

// Replace the batch's stored weighted residuals, fold the change into the running sum (batch
// positions in order), and return in grad the average of the stored gradients over the samples
// seen so far.
template <class T, class Rows>
void sag_direction(const FitArrays<T>& a, const FitOptions<T>& o, Rows rows, std::size_t m, const T* q,
                   T* grad) {
    const std::size_t d = a.d;
    for (std::size_t p = 0; p < m; ++p) {
        const std::size_t i = rows(p);
        const T delta = q[p] - a.sag_memory[i];
        a.sag_memory[i] = q[p];
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

template <class T>
T norm(const T* v, std::size_t size) {
    return std::sqrt(lane_dot(v, v, size));
}

// Clip to clip_norm; torch.optim.SGD's momentum (v = g on the first step, then v = mu v + g, step
// along v or g + mu v); the step; then averaging.  Returns the rate it used.
template <class T>
T take_step(const FitArrays<T>& a, const FitOptions<T>& o, T* grad, std::int64_t first_step) {
    const std::size_t moving = o.fit_intercept ? a.d + 1 : a.d;
    if (o.clip_norm > T(0)) {
        const T size = norm(grad, moving);
        if (size > o.clip_norm) {
            const T scale = o.clip_norm / size;
            for (std::size_t j = 0; j < moving; ++j) grad[j] = grad[j] * scale;
        }
    }
    const std::int64_t step = a.counters[0];
    T rate = a.lr[static_cast<std::size_t>(step - first_step) * a.lr_stride];
    if (a.counters[3] != 0) {
        std::int64_t divisor = 1;
        for (std::int64_t k = 0; k < a.counters[3]; ++k) divisor *= 5;
        rate = rate / static_cast<T>(divisor);
    }
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
    return rate;
}

// The stopping rules in float64, in the reference's order (_after_epoch): growth, gradient norm, tol.
template <class T>
Status after_epoch(const FitArrays<T>& a, const FitOptions<T>& o, double epoch_loss, double grad_norm,
                   double criterion, double rate) {
    double* state = a.loss_state;
    if (std::isnan(state[1])) {
        state[1] = epoch_loss;
    } else if (state[1] > 0 && epoch_loss > o.growth_limit * state[1]) {
        return kDiverged;
    }
    if (grad_norm < o.gtol) return kGradientSmall;
    if (std::isnan(o.tol)) return kRanAll;
    if (criterion > state[0] - o.tol) {
        ++a.counters[2];
    } else {
        a.counters[2] = 0;
    }
    if (criterion < state[0]) state[0] = criterion;
    if (a.counters[2] >= o.n_iter_no_change) {
        if (o.adaptive && rate > 1e-6) {
            ++a.counters[3];
            a.counters[2] = 0;
        } else {
            return kConverged;
        }
    }
    return kRanAll;
}

}  // namespace detail

// Runs up to o.n_epochs epochs; returns (epochs run, status).  With a.epoch_size != 0 it runs one
// segment of an epoch instead (o.n_epochs == 1) and returns (0, kRanAll) unless it diverged: the
// epoch's end (history, stopping rules) is then the caller's.  `interrupted` is polled every
// kWorkBetweenPolls units of work; when it answers true the fit stops where it is.
template <class T>
std::pair<std::size_t, Status> run_epochs(const FitArrays<T>& a, const FitOptions<T>& o,
                                          const std::function<bool()>& interrupted) {
    const std::size_t d = a.d;
    const std::size_t moving = o.fit_intercept ? d + 1 : d;
    const bool segment = a.epoch_size != 0;
    const T rows_per_epoch = static_cast<T>(segment ? a.epoch_size : a.epoch_rows);
    const std::int64_t first_step = a.counters[0];
    PairTree<T> tree(d + 2);
    std::vector<T> sums(d + 2), grad(d + 1), q(o.sag ? o.batch_size : 0);
    T* const gradient_sum = a.epoch_sums + 1;
    T* q_out = o.sag ? q.data() : nullptr;
    std::size_t work_since_poll = 0;
    T rate = T(0);

    for (std::size_t epoch = 0; epoch < o.n_epochs; ++epoch) {
        const std::int64_t* order = a.n_orders ? a.orders + (epoch % a.n_orders) * a.epoch_rows : nullptr;
        if (!segment) std::fill(a.epoch_sums, a.epoch_sums + d + 2, T(-0.0));
        T epoch_loss = a.epoch_sums[0];
        std::size_t steps = 0;
        for (std::size_t start = 0; start < a.epoch_rows; start += o.batch_size) {
            const std::size_t m = std::min(o.batch_size, a.epoch_rows - start);
            const T count = static_cast<T>(m);
            T loss;
            auto gradient = [&](auto rows) {
                batch_sums(a.X, a.y, a.weights, d, rows, m, a.theta, a.theta[d], o.residual_clip, tree, sums.data(),
                           q_out, o.n_threads);
                loss = loss_and_gradient(sums.data(), a.theta, d, count, o.l2, grad.data());
                if (!std::isfinite(loss) && o.residual_clip == T(0)) return false;
                if (o.sag) detail::sag_direction(a, o, rows, m, q_out, grad.data());
                return true;
            };
            const bool finite = order ? gradient(OrderedRows{order + start, a.epoch_rows - start}) : gradient(ContiguousRows{start});
            epoch_loss = epoch_loss + loss * (count / rows_per_epoch);
            a.epoch_sums[0] = epoch_loss;
            if (!finite) {
                a.losses[epoch] = static_cast<double>(epoch_loss);
                return {epoch + 1, kDiverged};
            }
            for (std::size_t j = 0; j < moving; ++j) gradient_sum[j] = gradient_sum[j] + grad[j];
            ++steps;
            rate = detail::take_step(a, o, grad.data(), first_step);
            work_since_poll += m * (d + 1);
            if (work_since_poll >= kWorkBetweenPolls) {
                work_since_poll = 0;
                if (interrupted()) return {epoch, kInterrupted};
            }
        }
        if (segment) return {0, kRanAll};
        a.losses[epoch] = static_cast<double>(epoch_loss);
        for (std::size_t j = 0; j <= d; ++j)
            if (!std::isfinite(a.theta[j])) return {epoch + 1, kDiverged};
        const T step_count = static_cast<T>(steps);
        for (std::size_t j = 0; j < moving; ++j) gradient_sum[j] = gradient_sum[j] / step_count;
        a.grad_norms[epoch] = static_cast<double>(detail::norm(gradient_sum, moving));
        double criterion = a.losses[epoch];
        if (a.n_validation) {
            batch_sums(a.X, a.y, a.weights, d, OrderedRows{a.validation_rows, a.n_validation}, a.n_validation, a.theta, a.theta[d],
                       T(0), tree, sums.data(), static_cast<T*>(nullptr), o.n_threads);
            const T validation_loss = sums[d + 1] / static_cast<T>(a.n_validation);
            a.scores[epoch] = 1.0 - static_cast<double>(validation_loss) * o.validation_scale;
            criterion = -a.scores[epoch];
        }
        const Status status = detail::after_epoch(a, o, a.losses[epoch], a.grad_norms[epoch], criterion,
                                                  static_cast<double>(rate));
        if (status != kRanAll) return {epoch + 1, status};
    }
    return {o.n_epochs, kRanAll};
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
