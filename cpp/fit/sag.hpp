// SAG's gradient estimator for a linear model: python/fastdescent/_reference/sag.py (section 3.2).
#pragma once

#include "arch.hpp"

#include <cstddef>

#include "records.hpp"
#include "units.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// Replace the batch's stored weighted residuals, fold the change into the running sums (batch
// positions in order), and put in grad the average of the stored gradients over the samples seen.
template <class Penalty, class T, class Batch, class LossHyper>
void sag_direction(const Rows<T>& data, Batch rows, std::size_t m, const T* q, const SagMemory<T>& memory,
                   Progress& progress, const T* w, const LossHyper loss,
                   const typename Penalty::template Hyper<T> penalty, T* grad) {
    const std::size_t d = data.d;
    for (std::size_t p = 0; p < m; ++p) {
        const std::size_t i = rows(p);
        const T delta = q[p] - memory.residuals[i];
        memory.residuals[i] = q[p];
        if (!memory.seen[i]) {
            memory.seen[i] = true;
            ++progress.samples_seen;
        }
        const T* x = data.X + i * d;
        for (std::size_t j = 0; j < d; ++j) memory.sums[j] = memory.sums[j] + delta * x[j];
        memory.sums[d] = memory.sums[d] + delta;
    }
    const T n_seen = static_cast<T>(progress.samples_seen);
    for (std::size_t j = 0; j <= d; ++j) grad[j] = loss.scale * (memory.sums[j] / n_seen);
    for (std::size_t j = 0; j < d; ++j) PenaltyCode<Penalty>::add_to_gradient(grad, w, j, penalty);
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
