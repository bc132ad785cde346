// fastdescent._core is registered area by area, each from its own file (as boost-histogram does).
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <string>

#include "bindings/read_records.hpp"
#include "losses/registry.hpp"
#include "penalties/registry.hpp"
#include "rules/registry.hpp"
#include "type_list.hpp"

namespace fastdescent {
namespace bindings {

void register_objective(py::module_& m);  // row_sums, objective, objective_from_sums
void register_fit(py::module_& m);        // run_epochs, run_segment, step_from_sums, end_epoch
void register_rules(py::module_& m);      // rule_step
void register_checks(py::module_& m);     // all_finite
void register_build(py::module_& m);      // build_info, select_simd

// Calls f(Unit{}) for the unit of `list` named by the Python record's NAME; an error naming the
// record otherwise (a unit registered in Python but not here).
template <class List, class F>
void visit_unit(List list, py::handle record, const char* what, F&& f) {
    const std::string name = unit_name(record);
    if (!visit_by_name(list, name, f)) fail(std::string(what) + " '" + name + "' is not compiled into fastdescent._core");
}

// Ctrl-C sets a flag that only Python code reads: the kernels call this between batches, which
// takes the GIL back briefly to look at it.
inline bool python_interrupted() {
    py::gil_scoped_acquire hold;
    return PyErr_CheckSignals() != 0;
}

}  // namespace bindings
}  // namespace fastdescent
