// The elastic-net penalty, its L1 share by the cumulative truncated gradient (Tsuruoka et al.,
// 2009): python/fastdescent/_units/penalties/elastic_net.py.
#pragma once

#include <cstddef>

#include "canonical_sum.hpp"
#include "fields.hpp"
#include "penalties/l2.hpp"
#include "units.hpp"

namespace fastdescent {
namespace penalties {

struct ElasticNet {
    static constexpr const char* kName = "elastic_net";

    template <class T>
    struct Hyper {
        T strength;        // the L2 share, as the l2 penalty's
        T twice_strength;  // 2 * strength, rounded once in T
        T l1;
        T zero;
        static constexpr auto fields() { return FASTDESCENT_FIELDS(Hyper, strength, twice_strength, l1, zero); }
    };
    template <class T>
    struct State {
        Cell<T> total;  // u: the L1 penalty every coefficient has had to pay so far
        T* applied;     // q (d values): what each has paid
        static constexpr auto fields() { return FASTDESCENT_FIELDS(State, total, applied); }
    };
};

}  // namespace penalties

inline namespace FASTDESCENT_ARCH {

template <>
struct PenaltyCode<penalties::ElasticNet> {
    using Net = penalties::ElasticNet;

    template <class T>
    static penalties::L2::Hyper<T> l2_share(const Net::Hyper<T>& hyper) {
        return {hyper.strength, hyper.twice_strength};
    }

    template <class T>
    static T add_to_loss(T loss, const T* w, std::size_t d, const Net::Hyper<T>& hyper) {
        loss = PenaltyCode<penalties::L2>::add_to_loss(loss, w, d, l2_share(hyper));
        return hyper.l1 != T(0) ? loss + hyper.l1 * lane_abs_sum(w, d) : loss;
    }

    template <class T>
    static void add_to_gradient(T* grad, const T* w, std::size_t i, const Net::Hyper<T>& hyper) {
        PenaltyCode<penalties::L2>::add_to_gradient(grad, w, i, l2_share(hyper));
    }

    // The new total, stored and returned: apply_accrued takes it as a value (read through the
    // state, it is loaded again after every store to w).
    template <class T>
    static T accrue(const Net::State<T>& state, const Net::Hyper<T>& hyper, T rate) {
        const T total = *state.total + hyper.l1 * rate;
        *state.total = total;
        return total;
    }

    // Each choice a blend, not a branch: the signs of w and of what is left to pay are data.
    template <class T>
    static void apply_accrued(T* w, const Net::State<T>& state, std::size_t i, const Net::Hyper<T>& hyper, T u) {
        const T z = w[i], q = state.applied[i], zero = hyper.zero;
        const T down = z - (u + q), up = z + (u - q);
        const T down_kept = down > zero ? down : zero, up_kept = up < zero ? up : zero;
        const T truncated = z > zero ? down_kept : (z < zero ? up_kept : z);
        w[i] = truncated;
        state.applied[i] = q + (truncated - z);
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
