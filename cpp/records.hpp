// The records a native call reads and writes: python/fastdescent/_records.py, field for field.  They
// hold no code, so every SIMD build (and the bindings) shares them; the bindings fill them by field
// name from the Python records (bindings/read_records.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "losses/squared_error.hpp"

namespace fastdescent {

// Rows of a linear model's data, C-contiguous, never written.
template <class T>
struct Rows {
    const T* X;
    const T* y;
    const T* sample_weight;  // null: unweighted
    std::size_t n, d;
};

template <class T>
struct FitData {
    Rows<T> rows;
    const std::int64_t* orders;  // n_orders x epoch_rows; none: rows 0..n-1
    std::size_t n_orders, epoch_rows;
    const std::int64_t* validation_rows;
    std::size_t n_validation;
    double validation_scale;  // R^2 = 1 - validation loss * scale
};

// SAG's gradient estimator (fit/sag.hpp): empty unless the fit is SAG.
template <class T>
struct SagMemory {
    T* residuals;  // n: each sample's last weighted residual
    bool* seen;    // n
    T* sums;       // d + 1
};

// _records.PROGRESS: the fit's counters and the stopping rule's memory.
struct Progress {
    std::int64_t steps;
    std::int64_t samples_seen;
    std::int64_t stale_epochs;
    std::int64_t rate_divisions;
    double best_criterion;
    double first_loss;  // NaN until known
};

template <class T, class Penalty, class Rule>
struct FitState {
    T* theta;  // d coefficients, then the intercept
    typename Rule::template State<T> rule;
    typename Penalty::template State<T> penalty;  // what the penalty accrues between steps (elastic net's L1)
    T* average;  // d + 1
    SagMemory<T> sag;
    Progress* progress;
    T* epoch_sums;  // d + 2: the running epoch loss, then the sums of the epoch's step gradients
};

struct Stopping {
    double tol;  // NaN: no tol rule
    std::int64_t n_iter_no_change;
    double gtol;
    double growth_limit;
};

template <class T>
struct RatePolicy {
    bool adaptive;
    double floor;
    const T* divisors;  // T(5**k)
    std::size_t n_divisors;
};

template <class T, class Loss, class Penalty, class Rule>
struct FitPlan {
    std::size_t batch_size;
    bool fit_intercept;
    typename Loss::template Hyper<T> loss;
    typename losses::SquaredError::Hyper<T> validation_loss;  // R^2 on validation rows: the squared error
    typename Penalty::template Hyper<T> penalty;
    typename Rule::template Hyper<T> rule;
    std::int64_t average_start;  // -1: no averaging
    bool sag;
    T clip_norm;  // 0: no clipping
    Stopping stopping;
    RatePolicy<T> rate_policy;
    std::size_t n_threads;  // for the sums over rows; the bits do not depend on it
};

// Step first_step + k uses lr[k * stride] and row k * stride of the rule's table.
template <class T, class Rule>
struct Schedule {
    const T* lr;
    std::size_t stride;
    typename Rule::template Table<T> table;
    std::int64_t first_step;
};

// Per epoch of a call.
struct History {
    double* losses;
    double* grad_norms;
    double* scores;
};

}  // namespace fastdescent
