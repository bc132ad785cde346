// The squared error r**2 in torch's MSELoss scaling, or r**2 / 2: python/fastdescent/_units/losses/squared_error.py.
#pragma once

#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace losses {

struct SquaredError {
    static constexpr const char* kName = "squared_error";

    template <class T>
    struct Hyper {
        T derivative_clip;  // 0: none; else the r in q is clipped to [-clip, clip] (scikit-learn's 1e12)
        T scale;            // the gradient is scale * (sums / count): 2, or 1 for the half
        T value_scale;      // a row's loss term is ((s r) r) * value_scale: 1, or 1/2 for the half
        T weighted_value;  // 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(Hyper, derivative_clip, scale, value_scale, weighted_value);
        }
    };
};

}  // namespace losses

inline namespace FASTDESCENT_ARCH {

template <>
struct LossCode<losses::SquaredError> {
    // q weighs the row's x in the gradient's sums; term = ((s r) r) * value_scale its share of the loss's.
    template <class T>
    static void row_terms(T r, T s, bool weighted, const losses::SquaredError::Hyper<T>& hyper, T& q, T& term) {
        const T loss_q = weighted ? s * r : r;
        q = loss_q;
        const T clip = hyper.derivative_clip;
        if (clip > T(0)) {
            const T clipped = r < -clip ? -clip : (r > clip ? clip : r);
            q = weighted ? s * clipped : clipped;
        }
        const T value_q = hyper.weighted_value != T(0) ? loss_q : r;  // unweighted, loss_q is r
        term = (value_q * r) * hyper.value_scale;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
