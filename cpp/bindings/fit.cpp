// The fused fits: run_epochs, run_segment, step_from_sums, end_epoch (fit/fit.hpp).
#include <pybind11/pybind11.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include "bindings/register.hpp"
#include "dispatch.hpp"

namespace fastdescent {
namespace bindings {
namespace {

using namespace pybind11::literals;

// f(T{}, Loss{}, Penalty{}, Rule{}) for the plan's dtype (theta's), loss, penalty and rule: one of
// the compiled combinations (kernels.hpp: Fits).
template <class F>
void visit_fit(py::handle state, py::handle plan, F&& f) {
    with_precision(precision_of(state.attr("theta"), "state.theta"), [&](auto t) {
        const std::string loss = unit_name(plan.attr("loss")), penalty = unit_name(plan.attr("penalty")),
                          rule = unit_name(plan.attr("rule"));
        const bool found = visit_combination(Fits{}, loss, penalty, rule, [&](auto combination) {
            using C = decltype(combination);
            f(t, typename C::LossType{}, typename C::PenaltyType{}, typename C::RuleType{});
        });
        if (!found)
            fail("no fused fit of loss '" + loss + "', penalty '" + penalty + "' and update rule '" + rule +
                 "' is compiled into fastdescent._core");
        return 0;
    });
}

template <class T, class Loss, class Penalty, class Rule>
const auto& fit_kernels() {
    return current_simd().kernels<T>().template fit<Loss, Penalty, Rule>();
}

template <class T, class Penalty, class Rule>
void require_schedule_starts_now(const Schedule<T, Rule>& schedule, const FitState<T, Penalty, Rule>& state) {
    require(schedule.first_step == state.progress->steps, "schedule.first_step must be the steps taken so far");
}

py::tuple run_epochs(py::handle data, py::handle state, py::handle plan, py::handle schedule, py::handle history,
                     std::size_t n_epochs) {
    std::pair<std::size_t, Status> outcome{0, kRanAll};
    visit_fit(state, plan, [&](auto t, auto loss, auto penalty, auto rule) {
        using T = decltype(t);
        using Loss = decltype(loss);
        using Penalty = decltype(penalty);
        using Rule = decltype(rule);
        const FitData<T> fit_data = read_data<T>(data);
        const auto fit_plan = read_plan<T, Loss, Penalty, Rule>(plan);
        const auto fit_state =
            read_state<T, decltype(penalty), Rule>(state, fit_data.rows.d, fit_plan.sag ? fit_data.rows.n : 0);
        require(fit_plan.batch_size <= fit_data.epoch_rows, "plan.batch_size must not exceed the rows of an epoch");
        const std::size_t steps = n_epochs * ((fit_data.epoch_rows + fit_plan.batch_size - 1) / fit_plan.batch_size);
        const auto fit_schedule = read_schedule<T, Rule>(schedule, steps);
        require_schedule_starts_now(fit_schedule, fit_state);
        const History fit_history = read_history(history, n_epochs);
        const auto& kernels = fit_kernels<T, Loss, Penalty, Rule>();
        const std::function<bool()> interrupted = python_interrupted;
        py::gil_scoped_release release;
        outcome = kernels.run_epochs(fit_data, fit_state, fit_plan, fit_schedule, fit_history, n_epochs, interrupted);
    });
    if (outcome.second == kInterrupted) throw py::error_already_set();
    return py::make_tuple(outcome.first, static_cast<int>(outcome.second));
}

int run_segment(py::handle data, py::handle state, py::handle plan, py::handle schedule, std::size_t epoch_rows) {
    Status status = kRanAll;
    visit_fit(state, plan, [&](auto t, auto loss, auto penalty, auto rule) {
        using T = decltype(t);
        using Rule = decltype(rule);
        const FitData<T> fit_data = read_data<T>(data);
        const auto fit_plan = read_plan<T, decltype(loss), decltype(penalty), Rule>(plan);
        const auto fit_state =
            read_state<T, decltype(penalty), Rule>(state, fit_data.rows.d, fit_plan.sag ? fit_data.rows.n : 0);
        require(fit_data.n_orders <= 1 && fit_data.epoch_rows <= epoch_rows,
                "a segment is one order no longer than its epoch");
        const std::size_t steps = (fit_data.epoch_rows + fit_plan.batch_size - 1) / fit_plan.batch_size;
        const auto fit_schedule = read_schedule<T, Rule>(schedule, steps);
        require_schedule_starts_now(fit_schedule, fit_state);
        const auto& kernels = fit_kernels<T, decltype(loss), decltype(penalty), Rule>();
        const std::function<bool()> interrupted = python_interrupted;
        py::gil_scoped_release release;
        status = kernels.run_segment(fit_data, fit_state, fit_plan, fit_schedule, epoch_rows, interrupted);
    });
    if (status == kInterrupted) throw py::error_already_set();
    return static_cast<int>(status);
}

int step_from_sums(py::handle sums, std::size_t count, py::handle state, py::handle plan, py::handle schedule,
                   std::size_t epoch_rows) {
    Status status = kRanAll;
    visit_fit(state, plan, [&](auto t, auto loss, auto penalty, auto rule) {
        using T = decltype(t);
        using Rule = decltype(rule);
        const std::size_t d = static_cast<std::size_t>(array_of<T>(state.attr("theta"), "state.theta").size()) - 1;
        const T* batch_sums = readable<T>(sums, "sums", d + 2);
        const auto fit_plan = read_plan<T, decltype(loss), decltype(penalty), Rule>(plan);
        const auto fit_state = read_state<T, decltype(penalty), Rule>(state, d, 0);
        const auto fit_schedule = read_schedule<T, Rule>(schedule, 1);
        require_schedule_starts_now(fit_schedule, fit_state);
        require(count >= 1 && count <= epoch_rows, "count must be in [1, epoch_rows]");
        status = fit_kernels<T, decltype(loss), decltype(penalty), Rule>().step_from_sums(
            batch_sums, count, fit_state, fit_plan, fit_schedule, epoch_rows, d);
    });
    return static_cast<int>(status);
}

int end_epoch(py::handle state, py::handle plan, py::handle history, std::size_t epoch, std::size_t steps,
              py::handle last_rate) {
    Status status = kRanAll;
    visit_fit(state, plan, [&](auto t, auto loss, auto penalty, auto rule) {
        using T = decltype(t);
        using Rule = decltype(rule);
        const std::size_t d = static_cast<std::size_t>(array_of<T>(state.attr("theta"), "state.theta").size()) - 1;
        const auto fit_plan = read_plan<T, decltype(loss), decltype(penalty), Rule>(plan);
        const auto fit_state = read_state<T, decltype(penalty), Rule>(state, d, 0);
        const History fit_history = read_history(history, epoch + 1);
        require(steps >= 1, "an epoch has one step or more");
        status = fit_kernels<T, decltype(loss), decltype(penalty), Rule>().end_epoch(
            fit_state, fit_plan, fit_history, epoch, steps, scalar<T>(last_rate, "last_rate"), d);
    });
    return static_cast<int>(status);
}

}  // namespace

void register_fit(py::module_& m) {
    // state.progress is one record of this structured dtype: its fields are checked by name and offset.
    PYBIND11_NUMPY_DTYPE(Progress, steps, samples_seen, stale_epochs, rate_divisions, best_criterion, first_loss);
    m.def("run_epochs", &run_epochs, "data"_a, "state"_a, "plan"_a, "schedule"_a, "history"_a, "n_epochs"_a,
          "Up to n_epochs whole epochs of a fit: (epochs run, status)");
    m.def("run_segment", &run_segment, "data"_a, "state"_a, "plan"_a, "schedule"_a, "epoch_rows"_a,
          "The batches of one part of an epoch; the caller ends the epoch");
    m.def("step_from_sums", &step_from_sums, "sums"_a, "count"_a, "state"_a, "plan"_a, "schedule"_a, "epoch_rows"_a,
          "One step from a batch's canonical sums");
    m.def("end_epoch", &end_epoch, "state"_a, "plan"_a, "history"_a, "epoch"_a, "steps"_a, "last_rate"_a,
          "The end of an epoch run in segments or steps");
}

}  // namespace bindings
}  // namespace fastdescent
