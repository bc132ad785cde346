// fastdescent._core: the C++ backend.  Its two functions mirror python/fastdescent/_reference.py.
//
// Arrays are taken with noconvert(): a silent dtype or layout conversion would copy the fit's
// state, and the in-place updates would never reach the caller (pybind11#2455).  The Python layer
// has already validated and converted every input once per call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "dispatch.hpp"
#include "parallel.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fastdescent {
namespace {

template <class T>
using In = py::array_t<T, py::array::c_style>;

// Takes a C string so that a passing check costs no allocation.
void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("fastdescent._core: ") + what);
}

void require(bool ok, const std::string& what) { require(ok, what.c_str()); }

template <class T>
void require_size(const In<T>& array, std::size_t size, const char* name) {
    require(array.ndim() == 1 && static_cast<std::size_t>(array.size()) == size,
            std::string(name) + " must be 1-D of length " + std::to_string(size));
}

using Flags = py::array_t<bool, py::array::c_style>;
using Indices = py::array_t<std::int64_t, py::array::c_style>;
using Doubles = py::array_t<double, py::array::c_style>;

// An empty array means "none": unweighted data, no validation rows.
template <class T>
const T* optional_data(const In<T>& array) {
    return array.size() ? array.data() : nullptr;
}

// (n, d) of X after checking it and the arrays that go with its rows.
template <class T>
std::pair<std::size_t, std::size_t> rows_and_features(const In<T>& X, const In<T>& y, const In<T>& sample_weight) {
    require(X.ndim() == 2 && X.shape(0) > 0 && X.shape(1) > 0, "X must be 2-D and non-empty");
    const std::size_t n = X.shape(0), d = X.shape(1);
    require_size(y, n, "y");
    require(sample_weight.size() == 0 || static_cast<std::size_t>(sample_weight.size()) == n,
            "sample_weight must be empty or hold n values");
    return {n, d};
}

template <class T>
py::tuple loss_grad(const In<T>& X, const In<T>& y, const In<T>& w, T b, T l2, const In<T>& sample_weight,
                    std::size_t n_threads) {
    const auto [n, d] = rows_and_features(X, y, sample_weight);
    require_size(w, d, "w");
    py::array_t<T> grad_w(d);
    const Kernels<T>& kernels = current_simd().kernels<T>();
    T loss, grad_b;
    {
        py::gil_scoped_release release;
        std::vector<T> grad(d + 1);
        loss = kernels.loss_grad(X.data(), y.data(), optional_data(sample_weight), n, d, w.data(), b, l2, grad.data(),
                                 n_threads);
        std::copy(grad.begin(), grad.begin() + d, grad_w.mutable_data());
        grad_b = grad[d];
    }
    return py::make_tuple(loss, grad_w, grad_b);
}

// The canonical sums (sum q x_j, sum q, sum s r r) of all rows in order, unscaled: a part of a
// larger sum (one aligned chunk of a Dask array or a memory map) that the caller combines.
template <class T>
py::array_t<T> row_sums(const In<T>& X, const In<T>& y, const In<T>& w, T b, const In<T>& sample_weight,
                        T residual_clip, std::size_t n_threads) {
    const auto [n, d] = rows_and_features(X, y, sample_weight);
    require_size(w, d, "w");
    py::array_t<T> sums(d + 2);
    const Kernels<T>& kernels = current_simd().kernels<T>();
    T* out = sums.mutable_data();
    py::gil_scoped_release release;
    kernels.row_sums(X.data(), y.data(), optional_data(sample_weight), n, d, w.data(), b, residual_clip, out,
                     n_threads);
    return sums;
}

template <class T>
py::tuple run_epochs_py(const In<T>& X, const In<T>& y, const In<T>& sample_weight, In<T>& theta, In<T>& velocity,
                        In<T>& average, In<T>& sag_memory, Flags& sag_seen, In<T>& sag_sum, Indices& counters,
                        Doubles& loss_state, const Indices& orders, const Indices& validation_rows, const In<T>& lr,
                        std::size_t lr_stride, Doubles& losses, Doubles& grad_norms, Doubles& scores,
                        In<T>& epoch_sums, std::size_t n_epochs, std::size_t batch_size, T momentum, bool nesterov, T l2,
                        bool fit_intercept, std::int64_t average_start, bool sag, double tol,
                        std::int64_t n_iter_no_change, T clip_norm, bool adaptive, double gtol, double growth_limit,
                        double validation_scale, T residual_clip, std::size_t n_threads, std::size_t epoch_size) {
    const auto [n, d] = rows_and_features(X, y, sample_weight);
    require_size(theta, d + 1, "theta");
    require_size(velocity, d + 1, "velocity");
    require_size(average, d + 1, "average");
    require_size(sag_memory, sag ? n : 0, "sag_memory");
    require(sag_seen.ndim() == 1 && static_cast<std::size_t>(sag_seen.size()) == (sag ? n : 0),
            "sag_seen must match sag_memory");
    require_size(sag_sum, sag ? d + 1 : 0, "sag_sum");
    require(counters.size() == 4 && loss_state.size() == 2, "counters has 4 values, loss_state 2");
    require(orders.ndim() == 2 && orders.shape(1) > 0, "orders must be (k, rows per epoch)");
    const std::size_t epoch_rows = orders.shape(1);
    require(orders.shape(0) > 0 || epoch_rows == n, "natural order (no orders) covers all n rows");
    require(static_cast<std::size_t>(losses.size()) >= n_epochs &&
                static_cast<std::size_t>(grad_norms.size()) >= n_epochs &&
                static_cast<std::size_t>(scores.size()) >= n_epochs,
            "losses, grad_norms and scores must hold n_epochs values");
    require(batch_size >= 1 && lr_stride <= 1 && lr.size() >= 1, "batch_size >= 1, lr_stride 0 or 1");
    const std::size_t steps = n_epochs * ((epoch_rows + batch_size - 1) / batch_size);
    require(lr_stride == 0 || static_cast<std::size_t>(lr.size()) >= steps, "lr must hold a rate for every step");
    require(batch_size <= epoch_rows || epoch_size != 0, "batch_size must not exceed the rows of an epoch");
    require_size(epoch_sums, d + 2, "epoch_sums");
    require(epoch_size == 0 || (n_epochs == 1 && orders.shape(0) <= 1 && epoch_rows <= epoch_size),
            "a segment (epoch_size > 0) is one epoch's part: n_epochs 1, one order no longer than the epoch");
    for (const Indices* rows : {&orders, &validation_rows}) {
        // One pass of plain comparisons (a message is built only on failure): shuffles are long.
        const std::int64_t* data = rows->data();
        bool in_range = true;
        for (py::ssize_t k = 0; k < rows->size(); ++k)
            in_range &= data[k] >= 0 && static_cast<std::size_t>(data[k]) < n;
        require(in_range, "row index out of range");
    }

    FitArrays<T> arrays{X.data(), y.data(), optional_data(sample_weight), n, d,
                        theta.mutable_data(), velocity.mutable_data(), average.mutable_data(),
                        sag_memory.mutable_data(), sag_seen.mutable_data(), sag_sum.mutable_data(),
                        counters.mutable_data(), loss_state.mutable_data(),
                        orders.data(), static_cast<std::size_t>(orders.shape(0)), epoch_rows,
                        validation_rows.data(), static_cast<std::size_t>(validation_rows.size()),
                        lr.data(), lr_stride, losses.mutable_data(), grad_norms.mutable_data(),
                        scores.mutable_data(), epoch_sums.mutable_data(), epoch_size};
    FitOptions<T> options{n_epochs, batch_size, momentum, nesterov, l2, fit_intercept, average_start, sag, tol,
                          n_iter_no_change, clip_norm, adaptive, gtol, growth_limit, validation_scale,
                          residual_clip, n_threads};
    // Ctrl-C sets a flag that only Python code reads: take the GIL back briefly to look at it.
    auto interrupted = [] {
        py::gil_scoped_acquire hold;
        return PyErr_CheckSignals() != 0;
    };
    const Kernels<T>& kernels = current_simd().kernels<T>();
    std::pair<std::size_t, Status> outcome;
    {
        py::gil_scoped_release release;
        outcome = kernels.run_epochs(arrays, options, interrupted);
    }
    if (outcome.second == kInterrupted) throw py::error_already_set();
    return py::make_tuple(outcome.first, static_cast<int>(outcome.second));
}

// The step kernels update `param` (and the optimizer's state) in place: every array must already
// be C-contiguous, of the same dtype and size; anything else would be a silent copy.
std::size_t same_size(const std::initializer_list<const py::array*> arrays) {
    const std::size_t size = static_cast<std::size_t>((*arrays.begin())->size());
    for (const py::array* array : arrays) require(static_cast<std::size_t>(array->size()) == size, "sizes differ");
    return size;
}

// The step kernels are element-wise: cut into contiguous pieces, they run on several threads with
// the same bits.  Arrays under this size stay on one thread.
constexpr std::size_t kParallelElements = std::size_t(1) << 16;

template <class Body>
void element_wise(std::size_t size, const Body& body) {
    const std::size_t threads = size >= kParallelElements ? usable_cores() : 1;
    const std::size_t piece = (size + threads - 1) / threads;
    parallel_for(threads, threads, [&](std::size_t k) {
        const std::size_t begin = k * piece, end = std::min(size, begin + piece);
        if (begin < end) body(begin, end - begin);
    });
}

// Scalars arrive as Python objects (a numpy float32 scalar does not bind to a C++ float or double
// argument here) holding values already rounded to T by the caller: the conversion is exact.
template <class T>
T scalar(const py::handle& value, const char* name) {
    const double number = PyFloat_AsDouble(value.ptr());
    if (number == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    const T rounded = static_cast<T>(number);
    require(!(static_cast<double>(rounded) != number && number == number), std::string(name) + " is not a T value");
    return rounded;
}

template <class T>
void sgd_step_py(In<T>& param, const In<T>& grad, In<T>& buffer, const py::object& lr, const py::object& momentum,
                 const py::object& dampening, const py::object& weight_decay, bool nesterov, bool first_step) {
    const T rate = scalar<T>(lr, "lr"), mu = scalar<T>(momentum, "momentum"), tau = scalar<T>(dampening, "dampening"),
            decay = scalar<T>(weight_decay, "weight_decay");
    const std::size_t size = same_size({&param, &grad, &buffer});
    T* p = param.mutable_data();
    T* b = buffer.mutable_data();
    const T* g = grad.data();
    const auto step = current_simd().kernels<T>().sgd_step;
    py::gil_scoped_release release;
    element_wise(size, [&](std::size_t at, std::size_t count) {
        step(p + at, g + at, b + at, count, rate, mu, tau, decay, nesterov, first_step);
    });
}

template <class T>
void asgd_step_py(In<T>& param, const In<T>& grad, In<T>& average, const py::object& eta, const py::object& decay,
                  const py::object& mu, const py::object& weight_decay) {
    const T rate = scalar<T>(eta, "eta"), shrink = scalar<T>(decay, "decay"), weight = scalar<T>(mu, "mu"),
            wd = scalar<T>(weight_decay, "weight_decay");
    const std::size_t size = same_size({&param, &grad, &average});
    T* p = param.mutable_data();
    T* a = average.mutable_data();
    const T* g = grad.data();
    const auto step = current_simd().kernels<T>().asgd_step;
    py::gil_scoped_release release;
    element_wise(size, [&](std::size_t at, std::size_t count) {
        step(p + at, g + at, a + at, count, rate, shrink, weight, wd);
    });
}

template <class T>
void sag_step_py(In<T>& param, const In<T>& grad, In<T>& memory, In<T>& total, const py::object& lr,
                 const py::object& seen, const py::object& weight_decay) {
    const T rate = scalar<T>(lr, "lr"), count = scalar<T>(seen, "seen"), wd = scalar<T>(weight_decay, "weight_decay");
    const std::size_t size = same_size({&param, &grad, &memory, &total});
    T* p = param.mutable_data();
    T* m = memory.mutable_data();
    T* t = total.mutable_data();
    const T* g = grad.data();
    const auto step = current_simd().kernels<T>().sag_step;
    py::gil_scoped_release release;
    element_wise(size, [&](std::size_t at, std::size_t n) { step(p + at, g + at, m + at, t + at, n, rate, count, wd); });
}

// Whether every value is finite, on the cores for large arrays.  The SIMD build in use, or the
// baseline one when FASTDESCENT_SIMD names none: input checks run for every backend, and a wrong
// setting is reported by the C++ kernels themselves.
template <class T>
bool all_finite_py(const In<T>& values) {
    const Kernels<T>* kernels = &simd_builds().front().build->template kernels<T>();
    try {
        kernels = &current_simd().kernels<T>();
    } catch (const std::invalid_argument&) {
    }
    const auto check = kernels->all_finite;
    const T* data = values.data();
    std::atomic<bool> finite{true};
    py::gil_scoped_release release;
    element_wise(static_cast<std::size_t>(values.size()), [&](std::size_t at, std::size_t count) {
        if (!check(data + at, count)) finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
}

template <class T>
void bind(py::module_& m) {
    m.def("loss_grad", &loss_grad<T>, "X"_a.noconvert(), "y"_a.noconvert(), "w"_a.noconvert(), "b"_a, "l2"_a,
          "sample_weight"_a.noconvert(), "n_threads"_a = 1);
    m.def("run_epochs", &run_epochs_py<T>, "X"_a.noconvert(), "y"_a.noconvert(), "sample_weight"_a.noconvert(),
          "theta"_a.noconvert(), "velocity"_a.noconvert(), "average"_a.noconvert(), "sag_memory"_a.noconvert(),
          "sag_seen"_a.noconvert(), "sag_sum"_a.noconvert(), "counters"_a.noconvert(), "loss_state"_a.noconvert(),
          "orders"_a.noconvert(), "validation_rows"_a.noconvert(), "lr"_a.noconvert(), "lr_stride"_a,
          "losses"_a.noconvert(), "grad_norms"_a.noconvert(), "scores"_a.noconvert(), "epoch_sums"_a.noconvert(),
          py::kw_only(),
          "n_epochs"_a, "batch_size"_a, "momentum"_a, "nesterov"_a, "l2"_a, "fit_intercept"_a, "average_start"_a,
          "sag"_a, "tol"_a, "n_iter_no_change"_a, "clip_norm"_a, "adaptive"_a, "gtol"_a, "growth_limit"_a,
          "validation_scale"_a, "residual_clip"_a, "n_threads"_a = 1, "epoch_size"_a = 0);
    m.def("row_sums", &row_sums<T>, "X"_a.noconvert(), "y"_a.noconvert(), "w"_a.noconvert(), "b"_a,
          "sample_weight"_a.noconvert(), "residual_clip"_a, "n_threads"_a = 1);
    m.def("sgd_step", &sgd_step_py<T>, "param"_a.noconvert(), "grad"_a.noconvert(), "buffer"_a.noconvert(),
          py::kw_only(), "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a, "first_step"_a);
    m.def("asgd_step", &asgd_step_py<T>, "param"_a.noconvert(), "grad"_a.noconvert(), "average"_a.noconvert(),
          py::kw_only(), "eta"_a, "decay"_a, "mu"_a, "weight_decay"_a);
    m.def("sag_step", &sag_step_py<T>, "param"_a.noconvert(), "grad"_a.noconvert(), "memory"_a.noconvert(),
          "total"_a.noconvert(), py::kw_only(), "lr"_a, "seen"_a, "weight_decay"_a);
    m.def("all_finite", &all_finite_py<T>, "values"_a.noconvert());
}

}  // namespace
}  // namespace fastdescent

namespace fastdescent {
namespace {

py::dict build_info() {
    py::dict info;
#if defined(__clang__)
    info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
    info["compiler"] = "msvc " + std::to_string(_MSC_VER);
#else
    info["compiler"] = "unknown";
#endif
    // The path a call takes now, and every build compiled in with whether this CPU runs it.
    try {
        info["simd"] = current_simd().name;
    } catch (const std::invalid_argument& error) {
        info["simd"] = std::string("none: ") + error.what();
    }
    py::list builds;
    for (const SimdOption& option : simd_builds()) builds.append(py::make_tuple(option.build->name, option.supported));
    info["simd_builds"] = builds;
    info["cores"] = usable_cores();
    return info;
}

}  // namespace
}  // namespace fastdescent

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastdescent's C++ backend (private: use the fastdescent package)";
    m.def("build_info", &fastdescent::build_info, "How this extension was compiled");
    fastdescent::bind<double>(m);
    fastdescent::bind<float>(m);
}
