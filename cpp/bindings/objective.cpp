// The objective: row_sums, objective and objective_from_sums (fastdescent.mse_loss_grad, and the
// sums of data read in chunks).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <vector>

#include "bindings/register.hpp"
#include "dispatch.hpp"

namespace fastdescent {
namespace bindings {
namespace {

using namespace pybind11::literals;

py::array row_sums(py::handle rows, py::handle theta, py::handle loss, std::size_t n_threads) {
    py::array result;
    with_precision(precision_of(rows.attr("X"), "rows.X"), [&](auto t) {
        using T = decltype(t);
        visit_unit(Losses{}, loss, "loss", [&](auto unit) {
            using Loss = decltype(unit);
            const Rows<T> data = read_rows<T>(rows);
            const T* w = readable<T>(theta, "theta", data.d + 1);
            require(static_cast<std::size_t>(py::len(theta)) == data.d + 1, "theta must hold d + 1 values");
            const auto hyper = unit_record<typename Loss::template Hyper<T>, T>(loss, "loss");
            py::array_t<T> sums(data.d + 2);
            T* out = sums.mutable_data();
            const auto kernel = current_simd().kernels<T>().template of_loss<Loss>().row_sums;
            {
                py::gil_scoped_release release;
                kernel(data, w, hyper, out, n_threads);
            }
            result = sums;
        });
        return 0;
    });
    return result;
}

template <class T, class Loss, class Penalty>
const auto& objective_kernels() {
    return current_simd().kernels<T>().template objective<Loss, Penalty>();
}

py::tuple objective(py::handle rows, py::handle theta, py::handle loss, py::handle penalty, std::size_t n_threads) {
    py::tuple result;
    with_precision(precision_of(rows.attr("X"), "rows.X"), [&](auto t) {
        using T = decltype(t);
        visit_unit(Losses{}, loss, "loss", [&](auto loss_unit) {
            visit_unit(Penalties{}, penalty, "penalty", [&](auto penalty_unit) {
                using Loss = decltype(loss_unit);
                using Penalty = decltype(penalty_unit);
                const Rows<T> data = read_rows<T>(rows);
                const T* w = readable<T>(theta, "theta", data.d + 1);
                const auto loss_hyper = unit_record<typename Loss::template Hyper<T>, T>(loss, "loss");
                const auto penalty_hyper = unit_record<typename Penalty::template Hyper<T>, T>(penalty, "penalty");
                py::array_t<T> grad(data.d + 1);
                T* out = grad.mutable_data();
                const auto kernel = objective_kernels<T, Loss, Penalty>().objective;
                T value;
                {
                    py::gil_scoped_release release;
                    value = kernel(data, w, loss_hyper, penalty_hyper, out, n_threads);
                }
                result = py::make_tuple(value, grad);
            });
        });
        return 0;
    });
    return result;
}

py::tuple objective_from_sums(py::handle sums, py::handle theta, std::size_t count, py::handle loss,
                              py::handle penalty) {
    py::tuple result;
    with_precision(precision_of(theta, "theta"), [&](auto t) {
        using T = decltype(t);
        visit_unit(Losses{}, loss, "loss", [&](auto loss_unit) {
            visit_unit(Penalties{}, penalty, "penalty", [&](auto penalty_unit) {
                using Loss = decltype(loss_unit);
                using Penalty = decltype(penalty_unit);
                auto w = array_of<T>(theta, "theta");
                require(w.size() >= 1, "theta must hold d + 1 values");
                const std::size_t d = static_cast<std::size_t>(w.size()) - 1;
                const T* batch_sums = readable<T>(sums, "sums", d + 2);
                py::array_t<T> grad(d + 1);
                const T value = objective_kernels<T, Loss, Penalty>().from_sums(
                    batch_sums, w.data(), d, static_cast<T>(count),
                    unit_record<typename Loss::template Hyper<T>, T>(loss, "loss"),
                    unit_record<typename Penalty::template Hyper<T>, T>(penalty, "penalty"), grad.mutable_data());
                result = py::make_tuple(value, grad);
            });
        });
        return 0;
    });
    return result;
}

}  // namespace

void register_objective(py::module_& m) {
    m.def("row_sums", &row_sums, "rows"_a, "theta"_a, "loss"_a, "n_threads"_a = 1,
          "The unscaled canonical sums (d + 2 values) of all rows in order at theta");
    m.def("objective", &objective, "rows"_a, "theta"_a, "loss"_a, "penalty"_a, "n_threads"_a = 1,
          "The loss and its gradient (d + 1 values) on all rows");
    m.def("objective_from_sums", &objective_from_sums, "sums"_a, "theta"_a, "count"_a, "loss"_a, "penalty"_a,
          "The loss and its gradient from the canonical sums of count rows");
}

}  // namespace bindings
}  // namespace fastdescent
