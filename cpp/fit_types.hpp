// The data a fit hands to the kernels, shared by the bindings and by every SIMD build of the kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastdescent {

enum Status : int { kRanAll = 0, kConverged = 1, kDiverged = 2, kInterrupted = 3, kGradientSmall = 4 };

// Between batches, a long fit asks whether to stop (Ctrl-C) after about this many multiply-adds:
// a fraction of a millisecond, so the caller hears a signal quickly and the check costs nothing.
constexpr std::size_t kWorkBetweenPolls = std::size_t(1) << 20;

template <class T>
struct FitArrays {
    const T* X;
    const T* y;
    const T* weights;  // null: unweighted
    std::size_t n, d;
    T* theta;       // d coefficients, then the intercept
    T* velocity;    // d + 1
    T* average;     // d + 1
    T* sag_memory;  // n weighted residuals (SAG only)
    bool* sag_seen;  // n (SAG only)
    T* sag_sum;      // d + 1 (SAG only)
    std::int64_t* counters;  // steps taken, samples seen by SAG, epochs without improvement, rate divisions
    double* loss_state;      // best criterion, first epoch loss (NaN until known)
    const std::int64_t* orders;  // n_orders x epoch_rows row orders; none: rows 0..n-1
    std::size_t n_orders, epoch_rows;
    const std::int64_t* validation_rows;
    std::size_t n_validation;
    const T* lr;  // from the first step of this call
    std::size_t lr_stride;  // 0: one constant rate, 1: a rate per step
    double* losses;      // one per epoch of this call
    double* grad_norms;  // one per epoch of this call
    double* scores;      // validation score per epoch (with validation rows)
    // The running epoch loss, then the sums of the epoch's step gradients (d + 1): reset at the start of
    // each whole epoch; carried between the calls that run one epoch in segments.
    T* epoch_sums;
    // 0: the call runs whole epochs.  Otherwise the call is one segment of an epoch of this many rows
    // (the batches of `orders` continue the epoch in epoch_sums; the caller ends the epoch).
    std::size_t epoch_size;
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
    double tol;  // NaN: no tol rule
    std::int64_t n_iter_no_change;
    T clip_norm;  // 0: no clipping
    bool adaptive;
    double gtol;
    double growth_limit;
    double validation_scale;
    T residual_clip;  // 0: none; else scikit-learn's clip, and only non-finite weights stop the fit
    std::size_t n_threads;  // for the sums over rows; the bits do not depend on it
};

}  // namespace fastdescent
