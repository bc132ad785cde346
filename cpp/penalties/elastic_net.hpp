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
        Cell<T> total;         // u: the L1 penalty every coefficient has had to pay so far
        Cell<T> compensation;  // what Kahan's sum of u has not yet added
        T* applied;            // q (d values): what each has paid
        Cell<T> scale;         // s: scikit-learn's weight scale, the L2 share's shrinkage since the call began
        Cell<T> scale_sum;     // S: the sum of s over the averaged steps since the call began (or s's reset)
        static constexpr auto fields() {
            return FASTDESCENT_FIELDS(State, total, compensation, applied, scale, scale_sum);
        }
    };
    template <class T>
    struct Accrued {
        T total;          // u after this step
        T average_share;  // what part of a coefficient's truncation moves its average
    };
    static constexpr double kScaleFloor = 1e-9;  // scikit-learn's WeightVector folds its scale in below this
};

}  // namespace penalties

inline namespace FASTDESCENT_ARCH {

template <>
struct PenaltyCode<penalties::ElasticNet> {
    using Net = penalties::ElasticNet;
    static constexpr bool kMovesCoefficients = true;

    template <class T>
    static penalties::L2::Hyper<T> l2_share(const Net::Hyper<T>& hyper) {
        return {hyper.strength, hyper.twice_strength};
    }

    template <class T>
    static FASTDESCENT_ALWAYS_INLINE T add_to_loss(T loss, const T* w, std::size_t d,
                                                   const Net::Hyper<T>& hyper) {
        loss = PenaltyCode<penalties::L2>::add_to_loss(loss, w, d, l2_share(hyper));
        return hyper.l1 != T(0) ? loss + hyper.l1 * lane_abs_sum(w, d) : loss;
    }

    template <class T>
    static void add_to_gradient(T* grad, const T* w, std::size_t i, const Net::Hyper<T>& hyper) {
        PenaltyCode<penalties::L2>::add_to_gradient(grad, w, i, l2_share(hyper));
    }

    // The new total (Kahan's compensated sum: a float32 u must not stall) and the average's share
    // of a truncation (scikit-learn's a / b over its weight scale; averaged_count 0: not averaging),
    // stored and returned: apply_accrued takes them as values (read through the state, they are
    // loaded again after every store to w).
    template <class T>
    static Net::Accrued<T> accrue(const Net::State<T>& state, const Net::Hyper<T>& hyper, T rate, T averaged_count) {
        const T increment = hyper.l1 * rate - *state.compensation;
        const T before = *state.total;
        const T total = before + increment;
        *state.compensation = (total - before) - increment;
        *state.total = total;
        T scale = *state.scale * (T(1) - hyper.twice_strength * rate);
        T scale_sum = *state.scale_sum;
        if (scale < T(Net::kScaleFloor)) {
            scale = T(1);
            scale_sum = T(0);
        }
        T share = T(0);
        if (averaged_count > T(0)) {
            scale_sum = scale_sum + scale;
            share = scale_sum / (averaged_count * scale);
        }
        *state.scale = scale;
        *state.scale_sum = scale_sum;
        return {total, share};
    }

    // Each choice a blend, not a branch: the signs of w and of what is left to pay are data.  Once
    // averaging has begun the average moves with w by the share: scikit-learn's lazily stored average.
    template <class T>
    static void apply_accrued(T* w, T* average, bool averaging, const Net::State<T>& state, std::size_t i,
                              const Net::Hyper<T>& hyper, const Net::Accrued<T> accrued) {
        const T u = accrued.total;
        const T z = w[i], q = state.applied[i], zero = hyper.zero;
        const T down = z - (u + q), up = z + (u - q);
        const T down_kept = down > zero ? down : zero, up_kept = up < zero ? up : zero;
        const T truncated = z > zero ? down_kept : (z < zero ? up_kept : z);
        const T moved = truncated - z;
        state.applied[i] = q + moved;
        if (averaging) average[i] = average[i] + moved * accrued.average_share;
        w[i] = truncated;
    }
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
