// Reading the Python records of python/fastdescent/_records.py into the C++ records of records.hpp,
// field by field, by name, with every check a native call needs: dtypes, C order, alignment,
// writeable state, sizes.  A failed check is a ValueError naming the record and the field: the
// Python layer has validated the user's input already, so one means a bug there, never UB here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include "fields.hpp"
#include "records.hpp"

namespace fastdescent {
namespace bindings {

namespace py = pybind11;

// A field's name, for messages only: a passing check builds no string (these run on every call).
struct Name {
    Name(const char* record, const char* field = nullptr) : record(record), field(field) {}
    const char* record;
    const char* field;
    std::string text() const { return field == nullptr ? record : std::string(record) + "." + field; }
};

[[noreturn]] inline void fail(const std::string& what) { throw std::invalid_argument("fastdescent._core: " + what); }

inline void require(bool ok, const char* what) {
    if (!ok) fail(what);
}

// The dtype a call computes in: X's (or theta's).
enum class Precision { f32, f64 };

inline Precision precision_of(py::handle array, const char* name) {
    if (!py::isinstance<py::array>(array)) fail(std::string(name) + " must be a numpy array");
    const py::dtype dtype = py::reinterpret_borrow<py::array>(array).dtype();
    if (dtype.equal(py::dtype::of<float>())) return Precision::f32;
    if (!dtype.equal(py::dtype::of<double>())) fail(std::string(name) + " must be float32 or float64");
    return Precision::f64;
}

template <class F>
auto with_precision(Precision precision, F&& f) {
    return precision == Precision::f32 ? f(float{}) : f(double{});
}

// A C-contiguous, aligned numpy array of Element, 1-D unless `ndim` says otherwise (-1: any).
template <class Element>
py::array_t<Element, py::array::c_style> array_of(py::handle object, const Name& name, int ndim = 1) {
    using Array = py::array_t<Element, py::array::c_style>;
    if (!Array::check_(object))
        fail(name.text() + " must be a C-contiguous numpy array of " + std::string(py::str(py::dtype::of<Element>())));
    Array array = py::reinterpret_borrow<Array>(object);
    if (ndim >= 0 && array.ndim() != ndim) fail(name.text() + " must have " + std::to_string(ndim) + " dimension(s)");
    if ((array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) == 0) fail(name.text() + " must be aligned");
    return array;
}

// An array of `size` values (of any shape: a state shaped like its parameter).
template <class Element>
Element* writable(py::handle object, const Name& name, std::size_t size) {
    auto array = array_of<Element>(object, name, -1);
    if (!array.writeable()) fail(name.text() + " must be writeable");
    if (static_cast<std::size_t>(array.size()) != size)
        fail(name.text() + " must hold " + std::to_string(size) + " values");
    return array.mutable_data();
}

inline double* writable_at_least(py::handle object, const Name& name, std::size_t size) {
    auto array = array_of<double>(object, name);
    if (!array.writeable() || static_cast<std::size_t>(array.size()) < size)
        fail(name.text() + " must be writeable and hold at least " + std::to_string(size) + " values");
    return array.mutable_data();
}

template <class Element>
const Element* readable(py::handle object, const Name& name, std::size_t at_least) {
    auto array = array_of<Element>(object, name);
    if (static_cast<std::size_t>(array.size()) < at_least)
        fail(name.text() + " must hold at least " + std::to_string(at_least) + " values");
    return array.data();
}

// A scalar already rounded to T by the caller (a numpy scalar of T): the conversion must be exact.
template <class T>
T scalar(py::handle value, const Name& name) {
    const double number = PyFloat_AsDouble(value.ptr());
    if (number == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    const T rounded = static_cast<T>(number);
    if (static_cast<double>(rounded) != number && number == number) fail(name.text() + " is not a value of the dtype");
    return rounded;
}

// What the array fields of a unit's record must hold: `size` values each (a state), or at least
// `rows` (a table of per-step values).
struct ArraySizes {
    std::size_t size;
    std::size_t rows;
};

template <class T, class Member>
void read_member(py::handle value, const Name& name, const ArraySizes& sizes, Member& member) {
    if constexpr (std::is_same_v<Member, T*>) {
        member = writable<T>(value, name, sizes.size);
    } else if constexpr (std::is_same_v<Member, ::fastdescent::Optional<T>>) {
        const bool present = array_of<T>(value, name, -1).size() != 0;
        member.values = present ? writable<T>(value, name, sizes.size) : nullptr;
    } else if constexpr (std::is_same_v<Member, ::fastdescent::Cell<T>>) {
        member.value = writable<T>(value, name, 1);
    } else if constexpr (std::is_same_v<Member, const T*>) {
        member = readable<T>(value, name, sizes.rows);
    } else if constexpr (std::is_same_v<Member, bool>) {
        member = value.cast<bool>();
    } else if constexpr (std::is_integral_v<Member>) {
        member = value.cast<Member>();
    } else {
        static_assert(std::is_same_v<Member, T>, "a unit record holds T, bool, integers or arrays of T");
        member = scalar<T>(value, name);
    }
}

// A unit's record (a rule's Hyper, State or Table; a loss's or a penalty's Hyper) from the Python
// record of the same fields.
template <class Record, class T>
Record unit_record(py::handle object, const char* what, const ArraySizes& sizes = {0, 0}) {
    Record record{};
    std::apply(
        [&](auto... fields) {
            (read_member<T>(object.attr(fields.name), Name{what, fields.name}, sizes, record.*(fields.member)), ...);
        },
        Record::fields());
    return record;
}

// The name of the unit a Python record belongs to (its class's NAME).
inline std::string unit_name(py::handle record) { return py::str(record.attr("NAME")); }

template <class T>
Rows<T> read_rows(py::handle rows) {
    auto X = array_of<T>(rows.attr("X"), "rows.X", 2);
    const std::size_t n = static_cast<std::size_t>(X.shape(0)), d = static_cast<std::size_t>(X.shape(1));
    require(n > 0 && d > 0, "rows.X must not be empty");
    const T* y = readable<T>(rows.attr("y"), "rows.y", n);
    require(static_cast<std::size_t>(array_of<T>(rows.attr("y"), "rows.y").size()) == n, "rows.y must hold n values");
    auto weights = array_of<T>(rows.attr("sample_weight"), "rows.sample_weight");
    require(weights.size() == 0 || static_cast<std::size_t>(weights.size()) == n,
            "rows.sample_weight must be empty or hold n values");
    return {X.data(), y, weights.size() ? weights.data() : nullptr, n, d};
}

// Row indices, all in [0, n): one pass of plain comparisons (a message only on failure).
inline void require_rows_in_range(const py::array_t<std::int64_t, py::array::c_style>& rows, std::size_t n,
                                  const char* name) {
    const std::int64_t* data = rows.data();
    bool in_range = true;
    for (py::ssize_t k = 0; k < rows.size(); ++k) in_range &= data[k] >= 0 && static_cast<std::size_t>(data[k]) < n;
    if (!in_range) fail(std::string(name) + ": row index out of range");
}

template <class T>
FitData<T> read_data(py::handle data) {
    const Rows<T> rows = read_rows<T>(data.attr("rows"));
    auto orders = array_of<std::int64_t>(data.attr("orders"), "data.orders", 2);
    auto validation = array_of<std::int64_t>(data.attr("validation_rows"), "data.validation_rows");
    const std::size_t n_orders = static_cast<std::size_t>(orders.shape(0)),
                      epoch_rows = static_cast<std::size_t>(orders.shape(1));
    require(epoch_rows > 0, "data.orders must have one or more rows per epoch");
    require(n_orders > 0 || epoch_rows == rows.n, "data.orders: the natural order (no orders) covers all n rows");
    require_rows_in_range(orders, rows.n, "data.orders");
    require_rows_in_range(validation, rows.n, "data.validation_rows");
    return {rows,
            orders.data(),
            n_orders,
            epoch_rows,
            validation.data(),
            static_cast<std::size_t>(validation.size()),
            data.attr("validation_scale").cast<double>()};
}

inline Progress* read_progress(py::handle object) {
    using Record = py::array_t<Progress, py::array::c_style>;
    require(Record::check_(object), "state.progress must be one _records.PROGRESS record");
    Record progress = py::reinterpret_borrow<Record>(object);
    require(progress.size() == 1 && progress.writeable(), "state.progress must be one writeable record");
    return progress.mutable_data();
}

// n: the rows SAG stores a residual for (0: no SAG).
template <class T, class Penalty, class Rule>
FitState<T, Penalty, Rule> read_state(py::handle state, std::size_t d, std::size_t sag_rows) {
    py::handle sag = state.attr("sag");
    return {writable<T>(state.attr("theta"), "state.theta", d + 1),
            unit_record<typename Rule::template State<T>, T>(state.attr("rule"), "state.rule", {d + 1, 0}),
            unit_record<typename Penalty::template State<T>, T>(state.attr("penalty"), "state.penalty", {d, 0}),
            writable<T>(state.attr("average"), "state.average", d + 1),
            {writable<T>(sag.attr("residuals"), "state.sag.residuals", sag_rows),
             writable<bool>(sag.attr("seen"), "state.sag.seen", sag_rows),
             writable<T>(sag.attr("sums"), "state.sag.sums", sag_rows ? d + 1 : 0)},
            read_progress(state.attr("progress")),
            writable<T>(state.attr("epoch_sums"), "state.epoch_sums", d + 2)};
}

inline Stopping read_stopping(py::handle stopping) {
    return {stopping.attr("tol").cast<double>(), stopping.attr("n_iter_no_change").cast<std::int64_t>(),
            stopping.attr("gtol").cast<double>(), stopping.attr("growth_limit").cast<double>()};
}

template <class T>
RatePolicy<T> read_rate_policy(py::handle policy) {
    auto divisors = array_of<T>(policy.attr("divisors"), "plan.rate_policy.divisors");
    require(divisors.size() > 0, "plan.rate_policy.divisors must not be empty");
    return {policy.attr("adaptive").cast<bool>(), policy.attr("floor").cast<double>(), divisors.data(),
            static_cast<std::size_t>(divisors.size())};
}

template <class T, class Loss, class Penalty, class Rule>
FitPlan<T, Loss, Penalty, Rule> read_plan(py::handle plan) {
    const auto batch_size = plan.attr("batch_size").cast<std::size_t>();
    require(batch_size >= 1, "plan.batch_size must be >= 1");
    return {batch_size,
            plan.attr("fit_intercept").cast<bool>(),
            unit_record<typename Loss::template Hyper<T>, T>(plan.attr("loss"), "plan.loss"),
            unit_record<typename losses::SquaredError::Hyper<T>, T>(plan.attr("validation_loss"),
                                                                    "plan.validation_loss"),
            unit_record<typename Penalty::template Hyper<T>, T>(plan.attr("penalty"), "plan.penalty"),
            unit_record<typename Rule::template Hyper<T>, T>(plan.attr("rule"), "plan.rule"),
            plan.attr("average_start").cast<std::int64_t>(),
            plan.attr("sag").cast<bool>(),
            scalar<T>(plan.attr("clip_norm"), "plan.clip_norm"),
            read_stopping(plan.attr("stopping")),
            read_rate_policy<T>(plan.attr("rate_policy")),
            std::max<std::size_t>(1, plan.attr("n_threads").cast<std::size_t>())};
}

// The schedule of a call of `steps` steps (its lr and the rule's table hold a row for each, or
// one row with stride 0).
template <class T, class Rule>
Schedule<T, Rule> read_schedule(py::handle schedule, std::size_t steps) {
    const auto stride = schedule.attr("stride").cast<std::size_t>();
    require(stride <= 1, "schedule.stride must be 0 or 1");
    const std::size_t rows = stride ? steps : 1;
    return {readable<T>(schedule.attr("lr"), "schedule.lr", rows), stride,
            unit_record<typename Rule::template Table<T>, T>(schedule.attr("table"), "schedule.table", {0, rows}),
            schedule.attr("first_step").cast<std::int64_t>()};
}

inline History read_history(py::handle history, std::size_t epochs) {
    return {writable_at_least(history.attr("losses"), "history.losses", epochs),
            writable_at_least(history.attr("grad_norms"), "history.grad_norms", epochs),
            writable_at_least(history.attr("scores"), "history.scores", epochs)};
}

}  // namespace bindings
}  // namespace fastdescent
