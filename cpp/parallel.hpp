// A small pool of worker threads for the sums over rows.  Which thread adds which block never
// changes a bit: the work is cut into power-of-two aligned runs of blocks, each a whole subtree of
// the canonical pair tree, and the subtrees join in order (canonical_sum.hpp).
#pragma once

#include <cstddef>
#include <functional>

namespace fastdescent {

// Calls body(0), ..., body(tasks - 1) on up to `threads` threads (the caller's among them) and
// returns when all are done.  If another call holds the pool, this one runs on the caller alone.
void parallel_for(std::size_t tasks, std::size_t threads, const std::function<void(std::size_t)>& body);

// The cores this process may run on.
std::size_t usable_cores();

}  // namespace fastdescent
