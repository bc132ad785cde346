// The L2 penalty strength * ||w||**2: python/fastdescent/_units/penalties/l2.py.
#pragma once

#include <cstddef>

#include "canonical_sum.hpp"
#include "fields.hpp"
#include "units.hpp"

namespace fastdescent {
namespace penalties {

struct L2 {
    static constexpr const char* kName = "l2";

    template <class T>
    struct Hyper {
        T strength;
        T twice_strength;  // 2 * strength, rounded once in T
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Hyper, strength, twice_strength); }
    };
    template <class T>
    struct State {  // nothing accrues: L2 acts through the gradient
        static constexpr auto fields() { return FASTDESCENT_NO_FIELDS(); }
    };
};

}  // namespace penalties

inline namespace FASTDESCENT_ARCH {

template <>
struct PenaltyCode<penalties::L2> {
    static constexpr bool kMovesCoefficients = false;  // apply_accrued does nothing

    template <class T>
    static FASTDESCENT_ALWAYS_INLINE T add_to_loss(T loss, const T* w, std::size_t d,
                                                   const penalties::L2::Hyper<T>& hyper) {
        return hyper.strength != T(0) ? loss + hyper.strength * lane_dot(w, w, d) : loss;
    }

    template <class T>
    static void add_to_gradient(T* grad, const T* w, std::size_t i, const penalties::L2::Hyper<T>& hyper) {
        if (hyper.strength != T(0)) grad[i] = grad[i] + hyper.twice_strength * w[i];
    }

    template <class T>
    static T accrue(const penalties::L2::State<T>&, const penalties::L2::Hyper<T>&, T rate, T) {
        return rate;
    }

    template <class T>
    static void apply_accrued(T*, T*, bool, const penalties::L2::State<T>&, std::size_t,
                              const penalties::L2::Hyper<T>&, T) {}
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
