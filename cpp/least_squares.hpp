// The least-squares objective on a batch of rows: residuals, canonical sums, loss and gradient.
#pragma once

#include "arch.hpp"

#include <cstddef>
#include <cstdint>

#include "canonical_sum.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// A batch is rows(0), ..., rows(m - 1): a contiguous range, or positions of a shuffled order.
struct ContiguousRows {
    std::size_t first;
    std::size_t operator()(std::size_t p) const { return first + p; }
};

struct OrderedRows {
    const std::int64_t* order;
    std::size_t operator()(std::size_t p) const { return static_cast<std::size_t>(order[p]); }
};

// sums (d + 2 values) = (sum q_i x_i, sum q_i, sum s_i r_i r_i) over the batch, with the residual
// r_i = (x_i.w + b) - y_i and q_i = s_i r_i (q_i = r_i without weights: the same bits as 1 * r_i);
// with clip > 0 the gradient's q_i uses r_i clipped to [-clip, clip] (scikit-learn's bound on the
// loss derivative).  Rows add one after another inside blocks of 256 batch positions; blocks
// combine by the pair tree.  q_out (if not null) receives q for each batch position.
template <class T, class Rows>
void batch_sums(const T* X, const T* y, const T* weights, std::size_t d, Rows rows, std::size_t m,
                const T* w, T b, T clip, PairTree<T>& tree, T* sums, T* q_out) {
    tree.clear();
    for (std::size_t start = 0; start < m; start += kBlockRows) {
        const std::size_t stop = std::min(m, start + kBlockRows);
        T* acc = tree.next_slot();
        std::fill(acc, acc + d + 2, T(-0.0));
        for (std::size_t p = start; p < stop; ++p) {
            const std::size_t i = rows(p);
            const T* x = X + i * d;
            const T r = (lane_dot(x, w, d) + b) - y[i];
            const T loss_q = weights != nullptr ? weights[i] * r : r;
            T q = loss_q;
            if (clip > T(0)) {
                const T clipped = r < -clip ? -clip : (r > clip ? clip : r);
                q = weights != nullptr ? weights[i] * clipped : clipped;
            }
            for (std::size_t j = 0; j < d; ++j) acc[j] = acc[j] + q * x[j];
            acc[d] = acc[d] + q;
            acc[d + 1] = acc[d + 1] + loss_q * r;
            if (q_out != nullptr) q_out[p] = q;
        }
        tree.push();
    }
    tree.finish(sums);
}

// loss = S_rr / count (+ l2 * w.w); grad (d + 1 values: w then b) = 2 * (S / count) (+ 2 l2 w).
template <class T>
T loss_and_gradient(const T* sums, const T* w, std::size_t d, T count, T l2, T* grad) {
    const T two = T(2);
    T loss = sums[d + 1] / count;
    for (std::size_t j = 0; j <= d; ++j) grad[j] = two * (sums[j] / count);
    if (l2 != T(0)) {
        loss = loss + l2 * lane_dot(w, w, d);
        const T two_l2 = two * l2;
        for (std::size_t j = 0; j < d; ++j) grad[j] = grad[j] + two_l2 * w[j];
    }
    return loss;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
