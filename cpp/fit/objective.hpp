// A batch's loss and gradient from its canonical sums: python/fastdescent/_units/objective.py and
// the penalty's terms (section 3.1 of docs/reduction-order.md).
#pragma once

#include "arch.hpp"

#include <cstddef>

#include "canonical_sum.hpp"
#include "units.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// loss = sums[d + 1] / count + penalty; grad (d + 1: w, then b) = scale * (sums / count) + penalty's.
// The records by value: through references, each store to grad might change them (see row_sums.hpp).
template <class Penalty, class T, class LossHyper>
FASTDESCENT_ALWAYS_INLINE T loss_and_gradient(const T* sums, const T* w, std::size_t d, T count, const LossHyper loss,
                    const typename Penalty::template Hyper<T> penalty, T* grad) {
    if (count == T(1)) {  // x / 1 is x: a single sample's step needs no division (13 cycles on its critical path)
        for (std::size_t j = 0; j <= d; ++j) grad[j] = loss.scale * sums[j];
    } else {
        for (std::size_t j = 0; j <= d; ++j) grad[j] = loss.scale * (sums[j] / count);
    }
    const T value = PenaltyCode<Penalty>::add_to_loss(sums[d + 1] / count, w, d, penalty);
    for (std::size_t j = 0; j < d; ++j) PenaltyCode<Penalty>::add_to_gradient(grad, w, j, penalty);
    return value;
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
