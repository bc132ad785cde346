// An update rule on a user's parameter (fastdescent.optim): rule_step.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "bindings/register.hpp"
#include "dispatch.hpp"
#include "parallel.hpp"

namespace fastdescent {
namespace bindings {
namespace {

using namespace pybind11::literals;

// The rules are element-wise: cut into contiguous pieces, they run on several threads with the
// same bits.  Arrays under this size stay on one thread.
constexpr std::size_t kParallelElements = std::size_t(1) << 16;

template <class Body>
void element_wise(std::size_t size, const Body& body) {
    const std::size_t threads = size >= kParallelElements ? usable_cores() : 1;
    const std::size_t piece = (size + threads - 1) / threads;
    parallel_for(threads, threads, [&](std::size_t k) {
        const std::size_t begin = k * piece, end = std::min(size, begin + piece);
        if (begin < end) body(begin, end);
    });
}

void rule_step(py::handle param, py::handle grad, py::handle state, py::handle hyper, py::handle step) {
    with_precision(precision_of(param, "param"), [&](auto t) {
        using T = decltype(t);
        visit_unit(Rules{}, hyper, "update rule", [&](auto unit) {
            using Rule = decltype(unit);
            auto p = array_of<T>(param, "param", -1);
            require(p.writeable(), "param must be writeable");
            const std::size_t size = static_cast<std::size_t>(p.size());
            auto g = array_of<T>(grad, "grad", -1);
            require(static_cast<std::size_t>(g.size()) == size, "grad must hold as many values as param");
            const auto rule_state = unit_record<typename Rule::template State<T>, T>(state, "state", {size, 0});
            const auto rule_hyper = unit_record<typename Rule::template Hyper<T>, T>(hyper, "hyper");
            const auto table = unit_record<typename Rule::template Table<T>, T>(step.attr("table"), "step.table", {0, 1});
            const T lr = scalar<T>(step.attr("lr"), "step.lr");
            const auto t = step.attr("t").cast<std::int64_t>();
            T* values = p.mutable_data();
            const T* gradient = g.data();
            const auto kernel = current_simd().kernels<T>().template rule<Rule>().step;
            py::gil_scoped_release release;
            element_wise(size, [&](std::size_t begin, std::size_t end) {
                kernel(values, gradient, rule_state, rule_hyper, lr, t, table, begin, end);
            });
        });
        return 0;
    });
}

}  // namespace

void register_rules(py::module_& m) {
    m.def("rule_step", &rule_step, "param"_a, "grad"_a, "state"_a, "hyper"_a, "step"_a,
          "An update rule on a parameter and its state, in place");
}

}  // namespace bindings
}  // namespace fastdescent
