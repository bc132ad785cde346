// The code of a rule, a loss or a penalty: each unit specialises one of these in its own header, in
// the SIMD build's namespace (its records live outside it, shared by every build: records.hpp).
// They are the C++ twins of python/fastdescent/_units: the same operations in the same order.
#pragma once

#include "arch.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

template <class Rule>
struct RuleCode;  // begin_step(hyper, lr, t, table, row) -> Step; update(param, grad, state, i, hyper, step)

template <class Loss>
struct LossCode;  // row_terms(r, s, weighted, hyper, q, term)

template <class Penalty>
struct PenaltyCode;  // add_to_loss(loss, w, d, hyper) -> loss; add_to_gradient(grad, w, i, hyper);
                    // accrue(state, hyper, rate, averaged_count) -> accrued; apply_accrued(w, average, averaging, state, i, hyper, accrued);
                    // kMovesCoefficients: whether apply_accrued does anything

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
