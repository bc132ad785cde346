// The canonical order of every floating-point reduction (docs/reduction-order.md).
//
// The numpy reference (python/fastdescent/_order.py) executes the same order; any change here
// must change both, or the backends stop agreeing bit for bit.  Two invariants carry the design:
//  - every accumulator starts at -0.0, because x + (-0.0) == x bit for bit for every x;
//  - the shape of each sum is fixed by the data size alone (lanes of 64 bytes, blocks of 256 rows),
//    never by the SIMD width or the thread count.
#pragma once

#include "arch.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include <utility>
#include <vector>

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

constexpr std::size_t kLaneBytes = 64;
constexpr std::size_t kBlockRows = 256;

template <class T>
constexpr std::size_t kLanes = kLaneBytes / sizeof(T);

// Lane j mod L accumulates a_j * b_j in increasing j; the tail (d mod L values) goes into the first
// lanes only (a masked add: padding with zeros could turn a -0.0 lane into +0.0); lanes combine by
// halving.  With L fixed at 64 bytes, one AVX-512 register, two AVX2 or four SSE2 registers hold the
// same lanes.
// The lanes live in the build's registers as vector values (one AVX-512, two AVX2 or four SSE2
// registers for 64 bytes), and the halving is register adds, then shuffles inside the last register:
// kept as an array, the halving went through the stack (a store, then narrower loads) on every row.
#if defined(__GNUC__) && __GNUC__ >= 12 || defined(__clang__)
#define FASTDESCENT_VECTOR_LANES 1
#if defined(__AVX512F__)
constexpr std::size_t kRegisterBytes = 64;
#elif defined(__AVX__)
constexpr std::size_t kRegisterBytes = 32;
#else
constexpr std::size_t kRegisterBytes = 16;
#endif

// GCC ignores vector_size on a type that depends on a template parameter: one typedef per size.
template <class T, std::size_t Bytes>
struct Vector;
#define FASTDESCENT_VECTOR(T, Bytes)                         \
    template <>                                              \
    struct Vector<T, Bytes> {                                \
        typedef T type __attribute__((vector_size(Bytes))); \
    };
FASTDESCENT_VECTOR(float, 64)
FASTDESCENT_VECTOR(float, 32)
FASTDESCENT_VECTOR(float, 16)
FASTDESCENT_VECTOR(float, 8)
FASTDESCENT_VECTOR(double, 64)
FASTDESCENT_VECTOR(double, 32)
FASTDESCENT_VECTOR(double, 16)
#undef FASTDESCENT_VECTOR

// Halving inside one register of `Bytes` bytes: a_k + a_{k+h} for h = half its lanes, down to one.
template <class T, std::size_t Bytes>
inline T halve_register(typename Vector<T, Bytes>::type v) {
    constexpr std::size_t lanes = Bytes / sizeof(T);
    if constexpr (lanes == 2) {
        return v[0] + v[1];
    } else if constexpr (lanes == 4) {
        return halve_register<T, Bytes / 2>(__builtin_shufflevector(v, v, 0, 1) + __builtin_shufflevector(v, v, 2, 3));
    } else if constexpr (lanes == 8) {
        return halve_register<T, Bytes / 2>(__builtin_shufflevector(v, v, 0, 1, 2, 3) +
                                            __builtin_shufflevector(v, v, 4, 5, 6, 7));
    } else {
        return halve_register<T, Bytes / 2>(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                                            __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15));
    }
}

// The canonical halving of one row's 64 bytes of lanes, held in L / W registers of W lanes: first
// register r + R/2 into register r (a_k + a_{k + L/2}, ...), then inside the last register.
template <class T, class Register>
inline T halve_lanes(Register* lane) {
    constexpr std::size_t W = sizeof(Register) / sizeof(T);
    for (std::size_t registers = kLanes<T> / W; registers > 1; registers /= 2)
        for (std::size_t r = 0; r < registers / 2; ++r) lane[r] = lane[r] + lane[r + registers / 2];
    return halve_register<T, sizeof(Register)>(lane[0]);
}

// The halving of one register per row, for as many rows as a register has lanes, in log2(W) rounds
// of register adds.  Before a round every register holds W / S rows, each as a segment of S lanes;
// pairing registers p and q, one shuffle gathers the first half of each segment of p then of q, another
// the second halves, and their sum holds twice the rows in segments of S / 2: each row's lanes
// k and k + S/2 were added, exactly its own halving.  One register then holds the W dot products.
template <std::size_t W, std::size_t S, bool SecondHalf>
constexpr int segment_half_lane(std::size_t u) {
    const std::size_t half = S / 2, segments = W / S;
    const std::size_t segment = u / half, offset = u % half + (SecondHalf ? half : 0);
    return static_cast<int>(segment < segments ? segment * S + offset : W + (segment - segments) * S + offset);
}

template <std::size_t S, bool SecondHalf, class V, std::size_t... U>
inline V segment_halves(V p, V q, std::index_sequence<U...>) {
    constexpr std::size_t W = sizeof...(U);
    return __builtin_shufflevector(p, q, segment_half_lane<W, S, SecondHalf>(U)...);
}

// v holds S registers of W / S rows each (S = W on the first call); returns the register of W results.
template <std::size_t S, class V>
inline V halve_rows(V* v) {
    if constexpr (S == 1) {
        return v[0];
    } else {
        constexpr auto lanes = std::make_index_sequence<sizeof(V) / sizeof(v[0][0])>();
        for (std::size_t k = 0; k < S / 2; ++k)
            v[k] = segment_halves<S, false>(v[2 * k], v[2 * k + 1], lanes) +
                   segment_halves<S, true>(v[2 * k], v[2 * k + 1], lanes);
        return halve_rows<S / 2>(v);
    }
}

#if defined(__AVX512F__) || defined(__AVX2__)
#define FASTDESCENT_MASKED_LOADS 1
// The first `count` (1..W) values at p in a register, its other lanes +0.0: a masked load, which
// neither reads nor faults past them.
template <class T>
inline typename Vector<T, kRegisterBytes>::type load_first(const T* p, std::size_t count) {
    using Register = typename Vector<T, kRegisterBytes>::type;
#if defined(__AVX512F__)
    const unsigned mask = (1u << count) - 1u;
    if constexpr (std::is_same<T, double>::value) {
        return reinterpret_cast<Register>(_mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), p));
    } else {
        return reinterpret_cast<Register>(_mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p));
    }
#else
    if constexpr (std::is_same<T, double>::value) {
        const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(count)),
                                                _mm256_setr_epi64x(0, 1, 2, 3));
        return reinterpret_cast<Register>(_mm256_maskload_pd(p, mask));
    } else {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        return reinterpret_cast<Register>(_mm256_maskload_ps(p, mask));
    }
#endif
}

// A register's lanes below `count` (a vector condition).
template <class T>
inline auto lanes_below(std::size_t count) {
    typename Vector<T, kRegisterBytes>::type index;
    for (std::size_t l = 0; l < kRegisterBytes / sizeof(T); ++l) index[l] = static_cast<T>(l);
    return index < static_cast<T>(count);
}
#endif

// How many rows lane_dots takes at once: one per lane of a register.
template <class T>
constexpr std::size_t kRowsTogether = kRegisterBytes / sizeof(T);

// dots[g] = lane_dot(rows[g], w, d) for g < kRowsTogether<T>, the same bits: every row adds its own
// products into its own lanes in the same order and halves them by the same pairs.  Together, the
// rows' add chains overlap (they are independent, so the core runs them side by side) and their
// final halvings share registers (halve_rows).  Each row is read whole before the next, in memory
// order: reading the group's rows feature block by feature block instead (one w load for all of
// them) made AMD Zen 4 stream X from memory at half the speed -- its prefetchers lost the stream.
template <class T>
inline void lane_dots(const T* const* rows, const T* w, std::size_t d, T* dots) {
    constexpr std::size_t L = kLanes<T>;
    using Register = typename Vector<T, kRegisterBytes>::type;
    constexpr std::size_t W = kRegisterBytes / sizeof(T), R = L / W, G = kRowsTogether<T>;
    const std::size_t full = d - d % L;
    Register lane[G][R];
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t l = 0; l < W; ++l) lane[g][r][l] = T(-0.0);
    for (std::size_t g = 0; g < G; ++g) {
        for (std::size_t j = 0; j < full; j += L) {
            for (std::size_t r = 0; r < R; ++r) {
                Register x, y;
                std::memcpy(&y, w + j + r * W, kRegisterBytes);
                std::memcpy(&x, rows[g] + j + r * W, kRegisterBytes);
                lane[g][r] = lane[g][r] + x * y;
            }
        }
    }
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t l = 0; l < d - full; ++l)
            lane[g][l / W][l % W] = lane[g][l / W][l % W] + rows[g][full + l] * w[full + l];
    Register row_lanes[G];
    for (std::size_t g = 0; g < G; ++g) {
        for (std::size_t registers = R; registers > 1; registers /= 2)
            for (std::size_t r = 0; r < registers / 2; ++r) lane[g][r] = lane[g][r] + lane[g][r + registers / 2];
        row_lanes[g] = lane[g][0];
    }
    const Register result = halve_rows<W>(row_lanes);
    std::memcpy(dots, &result, kRegisterBytes);
}
#endif

// Always inlined: a per-sample step calls it twice (x.w, and w.w for the L2 value) on ~10
// features, where the call's stack realignment and spills cost as much as the products.
#if defined(__GNUC__) || defined(__clang__)
#define FASTDESCENT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FASTDESCENT_ALWAYS_INLINE inline
#endif

// |x| for a scalar or a vector of lanes: the sign bit cleared, as std::abs does (NaN and -0.0 too).
template <class V>
FASTDESCENT_ALWAYS_INLINE V magnitude(V x) {
    if constexpr (std::is_floating_point<V>::value) {
        return std::abs(x);
    } else {
        using Lane = typename std::remove_cv<typename std::remove_reference<decltype(x[0])>::type>::type;
        using Bits = decltype(x < x);  // integers of the lanes' width
        V sign;
        for (std::size_t l = 0; l < sizeof(V) / sizeof(Lane); ++l) sign[l] = Lane(-0.0);
        return reinterpret_cast<V>(reinterpret_cast<Bits>(x) & ~reinterpret_cast<Bits>(sign));
    }
}

// The one lane order of section 1: sum over j of term(a_j, b_j), where term takes two scalars or two
// vectors of lanes alike.
template <class T, class Term>
FASTDESCENT_ALWAYS_INLINE T lane_sum(const T* a, const T* b, std::size_t d, Term term) {
    constexpr std::size_t L = kLanes<T>;
    const std::size_t full = d - d % L;
#ifdef FASTDESCENT_VECTOR_LANES
    // Lane k is lane k % W of register k / W (W lanes per register).
    using Register = typename Vector<T, kRegisterBytes>::type;
    constexpr std::size_t W = kRegisterBytes / sizeof(T), R = L / W;
    Register lane[R];
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t l = 0; l < W; ++l) lane[r][l] = T(-0.0);
    for (std::size_t j = 0; j < full; j += L) {
        for (std::size_t r = 0; r < R; ++r) {
            Register x, y;
            std::memcpy(&x, a + j + r * W, kRegisterBytes);
            std::memcpy(&y, b + j + r * W, kRegisterBytes);
            lane[r] = lane[r] + term(x, y);
        }
    }
    if (d == full) return halve_lanes<T>(lane);
#ifdef FASTDESCENT_MASKED_LOADS
    // The tail as masked adds into the first lanes, in registers: the lanes past it keep their
    // values, and the masked loads read nothing past the arrays' ends.  As scalars through the
    // stack (below) the tail and the halving sat on a per-sample step's critical path.
    const std::size_t tail = d - full;
    for (std::size_t r = 0; r < R && r * W < tail; ++r) {
        const std::size_t count = std::min(W, tail - r * W);
        const Register x = load_first<T>(a + full + r * W, count), y = load_first<T>(b + full + r * W, count);
        lane[r] = lanes_below<T>(count) ? lane[r] + term(x, y) : lane[r];
    }
    return halve_lanes<T>(lane);
#else
    // The tail and the halving on the lanes as scalars (the same pairs): a vector reloaded after
    // scalar stores into it waits for them (a failed store-to-load forwarding, ~20 cycles a row).
    T lanes[L];
    std::memcpy(lanes, lane, kLaneBytes);
    for (std::size_t l = 0; l < d - full; ++l) lanes[l] = lanes[l] + term(a[full + l], b[full + l]);
#pragma GCC unroll 16
    for (std::size_t k = 0; k < L / 2; ++k) lanes[k] = lanes[k] + lanes[k + L / 2];
#pragma GCC unroll 8
    for (std::size_t k = 0; k < L / 4; ++k) lanes[k] = lanes[k] + lanes[k + L / 4];
#pragma GCC unroll 4
    for (std::size_t k = 0; k < L / 8; ++k) lanes[k] = lanes[k] + lanes[k + L / 8];
    if constexpr (L == 16) lanes[0] = lanes[0] + lanes[1];
    return lanes[0];
#endif
#else
    T lane[L];
    for (std::size_t l = 0; l < L; ++l) lane[l] = T(-0.0);
    for (std::size_t j = 0; j < full; j += L)
        for (std::size_t l = 0; l < L; ++l) lane[l] = lane[l] + term(a[j + l], b[j + l]);
    for (std::size_t l = 0; l < d - full; ++l) lane[l] = lane[l] + term(a[full + l], b[full + l]);
    for (std::size_t half = L / 2; half >= 1; half /= 2)
        for (std::size_t l = 0; l < half; ++l) lane[l] = lane[l] + lane[l + half];
    return lane[0];
#endif
}

template <class T>
FASTDESCENT_ALWAYS_INLINE T lane_dot(const T* a, const T* b, std::size_t d) {
    return lane_sum(a, b, d, [](auto x, auto y) { return x * y; });
}

// sum(|a_j|) in the lane order: lane_dot(|a|, ones), as x * 1 is x (the L1 norm of elastic net).
// Inlined with the lanes in registers like lane_dot: out of line, with its lanes in an array, it
// was a sixth of elastic net's per-sample step at d = 10.
template <class T>
FASTDESCENT_ALWAYS_INLINE T lane_abs_sum(const T* a, std::size_t d) {
    return lane_sum(a, a, d, [](auto x, auto) { return magnitude(x); });
}

// Combines a stream of block partials (vectors of `width` values) by the adjacent-pair tree:
// pairs (2k, 2k+1) at each level, an odd last one passing up.  Streaming it as a binary counter
// (merge the top two while they cover equal numbers of blocks, fold from the right at the end) gives
// the same tree with O(log(blocks) * width) memory, and lets a contiguous, power-of-two aligned run
// of blocks be reduced anywhere (another thread) and pushed as one subtree.
template <class T>
class PairTree {
public:
    explicit PairTree(std::size_t width) : width_(width) {}

    void clear() { depth_ = 0; }

    // Storage for the next block partial; commit it with push().
    T* next_slot() {
        if (stack_.size() < (depth_ + 1) * width_) {
            stack_.resize((depth_ + 1) * width_);
            blocks_.resize(depth_ + 1);
        }
        return &stack_[depth_ * width_];
    }

    void push() { push_subtree(1); }

    // Commit a partial that is already the sum of `blocks` blocks by the pair tree, where `blocks`
    // is a power of two and the blocks pushed so far are a multiple of it (an aligned subtree):
    // the counter then builds exactly the tree it would have built block by block.
    void push_subtree(std::uint64_t blocks) {
        blocks_[depth_++] = blocks;
        while (depth_ >= 2 && blocks_[depth_ - 1] == blocks_[depth_ - 2]) {
            merge_top();
        }
    }

    void finish(T* out) {
        while (depth_ >= 2) merge_top();
        std::copy(stack_.begin(), stack_.begin() + width_, out);
    }

private:
    void merge_top() {
        T* left = &stack_[(depth_ - 2) * width_];
        const T* right = &stack_[(depth_ - 1) * width_];
        for (std::size_t k = 0; k < width_; ++k) left[k] = left[k] + right[k];
        blocks_[depth_ - 2] += blocks_[depth_ - 1];
        --depth_;
    }

    std::size_t width_;
    std::size_t depth_ = 0;
    std::vector<T> stack_;
    std::vector<std::uint64_t> blocks_;
};

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
