// A batch's canonical sums (section 2 of docs/reduction-order.md) for any loss: each row's residual,
// its loss terms (losses/<loss>.hpp), and the sums over the batch's rows by blocks and the pair tree.
#pragma once

#include "arch.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "canonical_sum.hpp"
#include "parallel.hpp"
#include "records.hpp"
#include "units.hpp"

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// A batch is rows(0), ..., rows(m - 1): a contiguous range, or positions of a shuffled order.
struct ContiguousRows {
    static constexpr bool kShuffled = false;  // the hardware prefetcher follows these
    std::size_t first;
    std::size_t operator()(std::size_t p) const { return first + p; }
};

struct OrderedRows {
    static constexpr bool kShuffled = true;
    const std::int64_t* order;
    std::size_t known;  // positions of `order` that may be read, past the batch too: what to prefetch
    std::size_t operator()(std::size_t p) const { return static_cast<std::size_t>(order[p]); }
};

// Adds rows start..stop-1 of the batch to acc one after another (see batch_sums).
// How many rows ahead a shuffled batch asks for its rows: a shuffled row is a cache miss, and
// waiting for each in turn would make minibatch SGD memory-latency bound.
constexpr std::size_t kPrefetchRows = 32;

// Asks for row i of X and its target (the next batch's first rows too: a prefetch is only a hint,
// so it changes no value).  Every cache line the row touches: numpy's large arrays start 16 bytes
// past a page, so a row of 256 bytes spans five lines, and the fifth, unasked, was a full miss.
// Into L2 (prefetcht1), not L1: a core tracks few L1 misses at once (Zen 4: 24 lines, under five
// rows), and prefetches into L1 filled them and stalled the kernel; L2 tracks more, and a load
// that hits L2 waits ~15 cycles, which the out-of-order core hides (minibatch SGD 1.4x faster on
// Zen 4).  Always inlined: where GCC kept a copy out of line, it found the copy free of side effects
// (a prefetch is only a hint) and deleted the calls, so the per-sample step of every loss but the
// squared error ran without prefetch (huber, n = 100 000, d = 32, shuffled: 163 -> 70 ns a row).
template <class T>
FASTDESCENT_ALWAYS_INLINE void prefetch_row(const T* X, const T* y, std::size_t i, std::size_t d) {
#if defined(__GNUC__) || defined(__clang__)
    constexpr std::uintptr_t kLine = 64;
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(X + i * d);
    const std::uintptr_t end = start + d * sizeof(T);
    for (std::uintptr_t line = start & ~(kLine - 1); line < end; line += kLine)
        __builtin_prefetch(reinterpret_cast<const void*>(line), 0, 2);
    __builtin_prefetch(y + i, 0, 2);
#else
    (void)X;
    (void)y;
    (void)i;
    (void)d;
#endif
}

template <class Batch>
inline std::size_t prefetchable(const Batch& rows, std::size_t stop) {
    if constexpr (Batch::kShuffled) {
        return rows.known;
    } else {
        return stop;
    }
}

// Row i's q and loss term for its residual r: the loss's own (LossCode<Loss>::row_terms).  The row
// loops take the loss's record by value: with a reference, the sums of 64 float64 features in AVX2
// registers took 6.7-7.4 ms for 200 000 rows instead of 4.0 (a C++ harness of batch_sums on Zen 4).
template <class Loss, class T>
FASTDESCENT_ALWAYS_INLINE void row_terms(T r, const T* weights, std::size_t i,
                                         const typename Loss::template Hyper<T>& loss, T& q, T& term) {
    const bool weighted = weights != nullptr;
    LossCode<Loss>::row_terms(r, weighted ? weights[i] : T(1), weighted, loss, q, term);
}

#ifdef FASTDESCENT_VECTOR_LANES
// Rows one after another with w and the block's sums held in registers for the whole run of rows,
// for d = Groups * L features (Groups lane groups of 64 bytes, known when compiled, so that the
// compiler can keep both arrays in registers).  Each row's lanes and halving, then each feature's
// sum taking the rows in position order: section 2's order, as in add_rows' other paths.
template <std::size_t Groups, class Loss, class T, class Batch>
void add_rows_in_registers(const T* X, const T* y, const T* weights, Batch rows, std::size_t start,
                           std::size_t stop, const T* w, T b, const typename Loss::template Hyper<T> loss, T* acc,
                           T* q_out) {
    using Register = typename Vector<T, kRegisterBytes>::type;
    constexpr std::size_t L = kLanes<T>, W = kRegisterBytes / sizeof(T), R = L / W, N = Groups * R, d = Groups * L;
    const std::size_t known = prefetchable(rows, stop);
    Register w_part[N], sums[N];
    for (std::size_t k = 0; k < N; ++k) {
        std::memcpy(&w_part[k], w + k * W, kRegisterBytes);
        std::memcpy(&sums[k], acc + k * W, kRegisterBytes);
    }
    T sum_q = acc[d], sum_loss = acc[d + 1];
    for (std::size_t p = start; p < stop; ++p) {
        if (Batch::kShuffled && p + kPrefetchRows < known) prefetch_row(X, y, rows(p + kPrefetchRows), d);
        const std::size_t i = rows(p);
        const T* x = X + i * d;
        Register lane[R];
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t l = 0; l < W; ++l) lane[r][l] = T(-0.0);
        for (std::size_t k = 0; k < N; ++k) {  // features k W .. k W + W - 1 are lanes of register k mod R
            Register row;
            std::memcpy(&row, x + k * W, kRegisterBytes);
            lane[k % R] = lane[k % R] + row * w_part[k];
        }
        const T r = (halve_lanes<T>(lane) + b) - y[i];
        T q, term;
        row_terms<Loss>(r, weights, i, loss, q, term);
        for (std::size_t k = 0; k < N; ++k) {
            Register row;
            std::memcpy(&row, x + k * W, kRegisterBytes);
            sums[k] = sums[k] + q * row;
        }
        sum_q = sum_q + q;
        sum_loss = sum_loss + term;
        if (q_out != nullptr) q_out[p] = q;
    }
    for (std::size_t k = 0; k < N; ++k) std::memcpy(acc + k * W, &sums[k], kRegisterBytes);
    acc[d] = sum_q;
    acc[d + 1] = sum_loss;
}

// The lane groups add_rows_in_registers takes: at most 16 registers each for w and the sums (AVX-512
// has 32 registers; AVX2 and SSE2 have 16 and spill some, still faster up to 16, slower past it than
// the grouped path, measured on Zen 4), and at most 8 groups: d <= 64 float64 / 128 float32 in the
// AVX2 and AVX-512 builds, d <= 32 / 64 in SSE2's (four registers per group).
template <class T>
constexpr std::size_t kRegisterGroups = std::min<std::size_t>(8, 16 / (kLanes<T> / (kRegisterBytes / sizeof(T))));

// add_rows_in_registers for d = Groups * L with Groups one of the candidates; false if d is another.
template <class Loss, class T, class Batch, std::size_t... Groups>
bool add_rows_by_groups(std::index_sequence<Groups...>, const T* X, const T* y, const T* weights, std::size_t d,
                        Batch rows, std::size_t start, std::size_t stop, const T* w, T b,
                        const typename Loss::template Hyper<T> loss, T* acc, T* q_out) {
    return ((d == (Groups + 1) * kLanes<T> &&
             (add_rows_in_registers<Groups + 1, Loss>(X, y, weights, rows, start, stop, w, b, loss, acc, q_out),
              true)) ||
            ...);
}
#endif

#ifdef FASTDESCENT_VECTOR_LANES
// Rows of fewer features than the 64 bytes of lanes, in one register of Bytes bytes, the narrowest
// of 16, 32 and the build's width that holds d lanes: a row is one load (the register reads on into
// the next row; the last rows of X are copied first), its lanes past d set to -0.0, times w (lanes
// past d +0.0: -0.0 * +0.0 = -0.0).  Lanes d..L-1 of section 1 hold -0.0 and adding -0.0 is exact, so
// the first levels of the canonical halving of the L lanes (lane k + lane k + L/2, ...) leave lanes
// 0..W-1 as they are, and what remains is the halving of this register; the feature sums add q * row
// in one register (lanes past d add -0.0 * q: zeros, never stored).  Full-batch GD at d = 1..4 paid
// ~25 cycles a row in the general path's tail and stores, and the halving of a 64-byte register
// (three shuffles and adds) where one of 16 bytes (one) gives the same bits.
template <std::size_t Bytes, class Loss, class T, class Batch>
void add_rows_in_one_register(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, Batch rows,
                              std::size_t start, std::size_t stop, const T* w, T b,
                              const typename Loss::template Hyper<T> loss, T* acc, T* q_out) {
    using Register = typename Vector<T, Bytes>::type;
    constexpr std::size_t W = Bytes / sizeof(T);
    const std::size_t known = prefetchable(rows, stop);
    T w_lanes[W], sum_lanes[W], lane_index[W];
    for (std::size_t l = 0; l < W; ++l) {
        w_lanes[l] = l < d ? w[l] : T(0);
        sum_lanes[l] = l < d ? acc[l] : T(-0.0);
        lane_index[l] = static_cast<T>(l);
    }
    Register w_part, sums, index, negative_zero;
    std::memcpy(&w_part, w_lanes, Bytes);
    std::memcpy(&sums, sum_lanes, Bytes);
    std::memcpy(&index, lane_index, Bytes);
    for (std::size_t l = 0; l < W; ++l) negative_zero[l] = T(-0.0);
    const auto in_row = index < static_cast<T>(d);
    const std::size_t loadable = n * d >= W ? (n * d - W) / d + 1 : 0;  // rows whose register stays inside X
    T sum_q = acc[d], sum_loss = acc[d + 1];
    for (std::size_t p = start; p < stop; ++p) {
        if (Batch::kShuffled && p + kPrefetchRows < known) prefetch_row(X, y, rows(p + kPrefetchRows), d);
        const std::size_t i = rows(p);
        Register row;
        if (i < loadable) {
            std::memcpy(&row, X + i * d, Bytes);
        } else {
            T padded[W] = {};
            std::memcpy(padded, X + i * d, d * sizeof(T));
            std::memcpy(&row, padded, Bytes);
        }
        row = in_row ? row : negative_zero;
        const T r = (halve_register<T, Bytes>(row * w_part) + b) - y[i];
        T q, term;
        row_terms<Loss>(r, weights, i, loss, q, term);
        sums = sums + q * row;
        sum_q = sum_q + q;
        sum_loss = sum_loss + term;
        if (q_out != nullptr) q_out[p] = q;
    }
    std::memcpy(sum_lanes, &sums, Bytes);
    for (std::size_t l = 0; l < d; ++l) acc[l] = sum_lanes[l];
    acc[d] = sum_q;
    acc[d + 1] = sum_loss;
}
#endif

template <class Loss, class T, class Batch>
void add_rows(const T* X, const T* y, const T* weights, std::size_t n, std::size_t d, Batch rows, std::size_t start,
              std::size_t stop, const T* w, T b, const typename Loss::template Hyper<T> loss, T* acc, T* q_out) {
#ifdef FASTDESCENT_VECTOR_LANES
    // A multiple of 64 bytes of features, up to kRegisterGroups: w and the sums stay in registers, rows
    // one at a time (each row's add chain in flight beside the next row's: they are independent).
    // Minibatch SGD on 32 float64 features: 13 -> 9-11 ns per row with rows in cache.
    if (add_rows_by_groups<Loss>(std::make_index_sequence<kRegisterGroups<T>>(), X, y, weights, d, rows, start, stop,
                                 w, b, loss, acc, q_out))
        return;
    if (d < kLanes<T> && d <= kRegisterBytes / sizeof(T)) {
        if (d * sizeof(T) <= 16)
            return add_rows_in_one_register<16, Loss>(X, y, weights, n, d, rows, start, stop, w, b, loss, acc, q_out);
        if (d * sizeof(T) <= 32)
            return add_rows_in_one_register<std::min<std::size_t>(32, kRegisterBytes), Loss>(
                X, y, weights, n, d, rows, start, stop, w, b, loss, acc, q_out);
        return add_rows_in_one_register<kRegisterBytes, Loss>(X, y, weights, n, d, rows, start, stop, w, b, loss, acc,
                                                              q_out);
    }
#endif
    const std::size_t known = prefetchable(rows, stop);
    std::size_t p = start;
#ifdef FASTDESCENT_VECTOR_LANES
    // A register's worth of rows at a time: their dot products overlap (lane_dots), and each feature's
    // sum takes the rows one after another while it sits in a register -- the order of section 2 --
    // instead of passing through memory once per row.
    constexpr std::size_t G = kRowsTogether<T>;
    using Register = typename Vector<T, kRegisterBytes>::type;
    constexpr std::size_t W = kRegisterBytes / sizeof(T);
    const std::size_t full_registers = d - d % W;
    for (; p + G <= stop; p += G) {
        const T* x[G];
        std::size_t index[G];
        for (std::size_t g = 0; g < G; ++g) {
            if (Batch::kShuffled && p + g + kPrefetchRows < known) prefetch_row(X, y, rows(p + g + kPrefetchRows), d);
            index[g] = rows(p + g);
            x[g] = X + index[g] * d;
        }
        T dot[G], term[G], q[G];
        lane_dots(x, w, d, dot);
        for (std::size_t g = 0; g < G; ++g) {
            const T r = (dot[g] + b) - y[index[g]];
            row_terms<Loss>(r, weights, index[g], loss, q[g], term[g]);
        }
        for (std::size_t j = 0; j < full_registers; j += W) {
            Register sum;
            std::memcpy(&sum, acc + j, kRegisterBytes);
            for (std::size_t g = 0; g < G; ++g) {
                Register row;
                std::memcpy(&row, x[g] + j, kRegisterBytes);
                sum = sum + q[g] * row;
            }
            std::memcpy(acc + j, &sum, kRegisterBytes);
        }
        for (std::size_t j = full_registers; j < d; ++j)
            for (std::size_t g = 0; g < G; ++g) acc[j] = acc[j] + q[g] * x[g][j];
        // Locals, not acc[d] and acc[d + 1]: through memory, each add would wait for the last store.
        T sum_q = acc[d], sum_loss = acc[d + 1];
        for (std::size_t g = 0; g < G; ++g) {
            sum_q = sum_q + q[g];
            sum_loss = sum_loss + term[g];
        }
        acc[d] = sum_q;
        acc[d + 1] = sum_loss;
        if (q_out != nullptr)
            for (std::size_t g = 0; g < G; ++g) q_out[p + g] = q[g];
    }
#endif
    for (; p < stop; ++p) {
        if (Batch::kShuffled && p + kPrefetchRows < known) prefetch_row(X, y, rows(p + kPrefetchRows), d);
        const std::size_t i = rows(p);
        const T* x = X + i * d;
        const T r = (lane_dot(x, w, d) + b) - y[i];
        T q, term;
        row_terms<Loss>(r, weights, i, loss, q, term);
        for (std::size_t j = 0; j < d; ++j) acc[j] = acc[j] + q * x[j];
        acc[d] = acc[d] + q;
        acc[d + 1] = acc[d + 1] + term;
        if (q_out != nullptr) q_out[p] = q;
    }
}

// A batch of one row: its block starts from -0.0 and adds the row once, and -0.0 + v is v for every v
// (section 2's invariant), so the sums are (q x_j, q, term) themselves, and the tree of one partial is
// that partial: the block and tree bookkeeping cost more than the row itself at ten features.
// one_row_terms is the row's part: its features (returned), q and loss term; Fit::one_row_step,
// per-sample SGD's step, takes it without the sums.
template <class Loss, class T, class Batch>
FASTDESCENT_ALWAYS_INLINE const T* one_row_terms(const Rows<T>& data, Batch rows, const T* w, T b,
                                                 const typename Loss::template Hyper<T> loss, T& q, T& term) {
    const std::size_t d = data.d;
    if (Batch::kShuffled && kPrefetchRows < prefetchable(rows, 1)) prefetch_row(data.X, data.y, rows(kPrefetchRows), d);
    const std::size_t i = rows(0);
    const T* x = data.X + i * d;
    const T r = (lane_dot(x, w, d) + b) - data.y[i];
    row_terms<Loss>(r, data.sample_weight, i, loss, q, term);
    return x;
}

template <class Loss, class T, class Batch>
FASTDESCENT_ALWAYS_INLINE void one_row_sums(const Rows<T>& data, Batch rows, const T* w, T b,
                                            const typename Loss::template Hyper<T> loss, T* sums, T* q_out) {
    const std::size_t d = data.d;
    T q, term;
    const T* x = one_row_terms<Loss>(data, rows, w, b, loss, q, term);
    for (std::size_t j = 0; j < d; ++j) sums[j] = q * x[j];
    sums[d] = q;
    sums[d + 1] = term;
    if (q_out != nullptr) q_out[0] = q;
}

// Below this many multiply-adds a batch is summed on one thread: waking others costs more.
constexpr std::size_t kParallelWork = std::size_t(1) << 16;

// sums (d + 2 values) = (sum q_i x_i, sum q_i, sum of the loss terms) over the batch, with the
// residual r_i = (x_i.w + b) - y_i and q_i, term_i the loss's (squared error: q_i = s_i r_i, term
// (s_i r_i) r_i).  Rows add one after another inside blocks of 256 batch positions; blocks combine by
// the pair tree.  q_out (if not null) receives q for each batch position.
//
// With threads > 1 the blocks are cut into power-of-two aligned runs, each summed into a whole
// subtree by one thread; the subtrees join in order.  The tree is the same for any thread count.
template <class Loss, class T, class Batch>
void batch_sums(const Rows<T>& data, Batch rows, std::size_t m, const T* w, T b,
                const typename Loss::template Hyper<T>& loss, PairTree<T>& tree, T* sums, T* q_out,
                std::size_t threads = 1) {
    if (m == 1) return one_row_sums<Loss>(data, rows, w, b, loss, sums, q_out);
    const T *X = data.X, *y = data.y, *weights = data.sample_weight;
    const std::size_t d = data.d;
    const std::size_t width = d + 2;
    const std::size_t n_blocks = (m + kBlockRows - 1) / kBlockRows;
    auto sum_blocks = [&](PairTree<T>& into, std::size_t first_block, std::size_t count) {
        for (std::size_t block = first_block; block < first_block + count; ++block) {
            T* acc = into.next_slot();
            std::fill(acc, acc + width, T(-0.0));
            add_rows<Loss>(X, y, weights, data.n, d, rows, block * kBlockRows, std::min(m, (block + 1) * kBlockRows), w, b,
                           loss, acc, q_out);
            into.push();
        }
    };
    tree.clear();
    if (threads <= 1 || n_blocks < 2 * threads || m * d < kParallelWork) {
        sum_blocks(tree, 0, n_blocks);
        tree.finish(sums);
        return;
    }
    std::size_t run = 1;  // blocks per task: a power of two, about four tasks per thread
    while (n_blocks / (2 * run) >= 4 * threads) run *= 2;
    std::vector<std::pair<std::size_t, std::size_t>> tasks;  // (first block, blocks)
    std::size_t first = 0;
    for (; first + run <= n_blocks; first += run) tasks.emplace_back(first, run);
    for (std::size_t part = run / 2; part >= 1 && first < n_blocks; part /= 2)
        if (first + part <= n_blocks) {
            tasks.emplace_back(first, part);
            first += part;
        }
    std::vector<T> partials(tasks.size() * width);
    parallel_for(tasks.size(), threads, [&](std::size_t task) {
        PairTree<T> local(width);
        sum_blocks(local, tasks[task].first, tasks[task].second);
        local.finish(partials.data() + task * width);
    });
    for (std::size_t task = 0; task < tasks.size(); ++task) {
        std::copy(partials.begin() + task * width, partials.begin() + (task + 1) * width, tree.next_slot());
        tree.push_subtree(tasks[task].second);
    }
    tree.finish(sums);
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
