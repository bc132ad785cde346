// The canonical order of every floating-point reduction (docs/reduction-order.md).
//
// The numpy reference (python/fastdescent/_reference.py) executes the same order; any change here
// must change both, or the backends stop agreeing bit for bit.  Two invariants carry the design:
//  - every accumulator starts at -0.0, because x + (-0.0) == x bit for bit for every x;
//  - the shape of each sum is fixed by the data size alone (lanes of 64 bytes, blocks of 256 rows),
//    never by the SIMD width or the thread count.
#pragma once

#include "arch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
// In the AVX-512 build, 64 bytes of lanes are one register: kept as one vector value, the halving
// is two register shuffles instead of a trip through the stack (measured: W1 float32 18% faster).
// Narrower builds keep the array: GCC splits a 64-byte vector value badly over two AVX2 or four
// SSE2 registers (measured 2-3x slower).
#if defined(__AVX512F__) && (defined(__GNUC__) && __GNUC__ >= 12 || defined(__clang__))
#define FASTDESCENT_VECTOR_LANES 1
// GCC ignores vector_size on a type that depends on a template parameter: one typedef per size.
template <class T, std::size_t Bytes>
struct Vector;
#define FASTDESCENT_VECTOR(T, Bytes) \
    template <>                      \
    struct Vector<T, Bytes> {        \
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
#endif

template <class T>
inline T lane_dot(const T* a, const T* b, std::size_t d) {
    constexpr std::size_t L = kLanes<T>;
    const std::size_t full = d - d % L;
#ifdef FASTDESCENT_VECTOR_LANES
    using Lanes = typename Vector<T, kLaneBytes>::type;
    Lanes lane;
    for (std::size_t l = 0; l < L; ++l) lane[l] = T(-0.0);
    for (std::size_t j = 0; j < full; j += L) {
        Lanes x, y;
        std::memcpy(&x, a + j, kLaneBytes);
        std::memcpy(&y, b + j, kLaneBytes);
        lane = lane + x * y;
    }
    for (std::size_t l = 0; l < d - full; ++l) lane[l] = lane[l] + a[full + l] * b[full + l];
    using Half = typename Vector<T, kLaneBytes / 2>::type;
    using Quarter = typename Vector<T, kLaneBytes / 4>::type;
    if constexpr (L == 16) {
        using Eighth = typename Vector<T, kLaneBytes / 8>::type;
        const Half h = __builtin_shufflevector(lane, lane, 0, 1, 2, 3, 4, 5, 6, 7) +
                       __builtin_shufflevector(lane, lane, 8, 9, 10, 11, 12, 13, 14, 15);
        const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
        const Eighth e = __builtin_shufflevector(q, q, 0, 1) + __builtin_shufflevector(q, q, 2, 3);
        return e[0] + e[1];
    } else {
        const Half h = __builtin_shufflevector(lane, lane, 0, 1, 2, 3) + __builtin_shufflevector(lane, lane, 4, 5, 6, 7);
        const Quarter q = __builtin_shufflevector(h, h, 0, 1) + __builtin_shufflevector(h, h, 2, 3);
        return q[0] + q[1];
    }
#else
    T lane[L];
    for (std::size_t l = 0; l < L; ++l) lane[l] = T(-0.0);
    for (std::size_t j = 0; j < full; j += L)
        for (std::size_t l = 0; l < L; ++l) lane[l] = lane[l] + a[j + l] * b[j + l];
    for (std::size_t l = 0; l < d - full; ++l) lane[l] = lane[l] + a[full + l] * b[full + l];
    for (std::size_t half = L / 2; half >= 1; half /= 2)
        for (std::size_t l = 0; l < half; ++l) lane[l] = lane[l] + lane[l + half];
    return lane[0];
#endif
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
