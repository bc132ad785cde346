// The input check every backend uses on large arrays: all_finite.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>

#include "bindings/register.hpp"
#include "dispatch.hpp"
#include "parallel.hpp"

namespace fastdescent {
namespace bindings {
namespace {

using namespace pybind11::literals;

constexpr std::size_t kParallelValues = std::size_t(1) << 16;

// Whether every value is finite, on the cores for large arrays.  The SIMD build in use, or the
// baseline one when FASTDESCENT_SIMD names none: input checks run for every backend, and a wrong
// setting is reported by the C++ kernels themselves.
template <class T>
bool all_finite_of(const py::array_t<T, py::array::c_style>& values) {
    const Kernels<T>* kernels = &simd_builds().front().build->template kernels<T>();
    try {
        kernels = &current_simd().kernels<T>();
    } catch (const std::invalid_argument&) {
    }
    const auto check = kernels->all_finite;
    const T* data = values.data();
    const std::size_t size = static_cast<std::size_t>(values.size());
    std::atomic<bool> finite{true};
    py::gil_scoped_release release;
    const std::size_t threads = size >= kParallelValues ? usable_cores() : 1;
    const std::size_t piece = (size + threads - 1) / threads;
    parallel_for(threads, threads, [&](std::size_t k) {
        const std::size_t begin = k * piece, end = std::min(size, begin + piece);
        if (begin < end && !check(data + begin, end - begin)) finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
}

bool all_finite(py::handle values) {
    return with_precision(precision_of(values, "values"),
                          [&](auto t) { return all_finite_of(array_of<decltype(t)>(values, "values", -1)); });
}

}  // namespace

void register_checks(py::module_& m) {
    m.def("all_finite", &all_finite, "values"_a, "Whether every value of a float32/float64 array is finite");
}

}  // namespace bindings
}  // namespace fastdescent
